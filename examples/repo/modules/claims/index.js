/**
 * Custom claims live under one namespace, so that they never collide with
 * the claims OpenID Connect reserves.
 */
const NAMESPACE = 'https://example.com/';

/** claim('plan') is 'https://example.com/plan'. */
exports.claim = (name) => NAMESPACE + name;

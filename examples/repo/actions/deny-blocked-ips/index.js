const BLOCKED = new Set(['203.0.113.7', '198.51.100.23']);

/**
 * Denies logins from a small list of known-bad addresses.
 */
exports.onExecutePostLogin = async (event, api) => {
  if (BLOCKED.has(event.request.ip)) {
    api.access.deny('Logins from this address are blocked.');
  }
};

const _ = require('lodash');
const { claim } = require('actions:claims');

/**
 * Adds the user's plan and region, kept in app_metadata, to the ID token.
 * @param {Event} event
 * @param {PostLoginAPI} api
 */
exports.onExecutePostLogin = async (event, api) => {
  const meta = event.user.app_metadata || {};
  const claims = _.pick(meta, ['plan', 'region']);
  for (const [key, value] of Object.entries(claims)) {
    api.idToken.setCustomClaim(claim(key), value);
  }
  if (!event.secrets.API_KEY) {
    console.log('enrich-profile: API_KEY is not set');
  }
};

const { claim } = require('actions:claims');

/**
 * Tags machine-to-machine tokens with the client's tier.
 */
exports.onExecuteCredentialsExchange = async (event, api) => {
  const tier = (event.client.metadata && event.client.metadata.tier) || 'standard';
  api.accessToken.setCustomClaim(claim('tier'), tier);
};

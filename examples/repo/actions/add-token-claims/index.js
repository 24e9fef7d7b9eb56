/**
 * Tags machine-to-machine tokens with the client's tier.
 */
exports.onExecuteCredentialsExchange = async (event, api) => {
  const tier = (event.client.metadata && event.client.metadata.tier) || 'standard';
  api.accessToken.setCustomClaim('https://example.com/tier', tier);
};

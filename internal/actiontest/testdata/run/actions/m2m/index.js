// Stamps machine tokens with the audience; refuses broken clients.
exports.onExecuteCredentialsExchange = async (event, api) => {
  if (event.client.metadata.broken) {
    throw new Error(`client ${event.client.client_id} is broken`);
  }
  if (event.client.metadata.deny) {
    api.access.deny('invalid_request', 'denied by policy');
    return;
  }
  api.accessToken.setCustomClaim('https://example.com/aud', event.resource_server.identifier);
};

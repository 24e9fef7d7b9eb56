// Denies blocked users; marks everyone else as seen in app_metadata.
exports.onExecutePostLogin = async (event, api) => {
  if (event.user.app_metadata.blocked) {
    api.access.deny('blocked');
    return;
  }
  api.user.setAppMetadata('seen', true);
  api.idToken.setCustomClaim('https://example.com/gate', 'passed');
};

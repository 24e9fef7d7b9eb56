// Copies what earlier actions left in app_metadata into the ID token.
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/seen', event.user.app_metadata.seen === true);
};

/**
 * Asks administrators for a second factor on every login.
 */
exports.onExecutePostLogin = async (event, api) => {
  const roles = (event.authorization && event.authorization.roles) || [];
  if (roles.includes('admin')) {
    api.multifactor.enable('any', { allowRememberBrowser: false });
  }
};

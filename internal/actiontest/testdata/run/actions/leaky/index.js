// Does everything it should not with its secrets.
exports.onExecutePostLogin = async (event, api) => {
  const key = event.secrets.API_KEY;
  console.log('the key is', key, 'and the other', event.secrets.OTHER);
  console.error({ nested: { key } });
  api.user.setAppMetadata('key', key);
  api.idToken.setCustomClaim('https://example.com/k', { deep: [key, 'x' + key + 'y'] });
  if (event.request.query.fail) {
    throw new Error('bad key ' + key);
  }
};

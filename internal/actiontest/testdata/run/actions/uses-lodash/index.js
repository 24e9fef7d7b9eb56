const _ = require('lodash');

exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/lodash', _.VERSION);
  api.idToken.setCustomClaim('https://example.com/city', _.get(event, 'request.geoip.cityName', 'unknown'));
};

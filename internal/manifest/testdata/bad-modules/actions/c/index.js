// a module the action does not list:
const helper = require("actions:unlisted");
exports.onExecutePostLogin = async () => {};

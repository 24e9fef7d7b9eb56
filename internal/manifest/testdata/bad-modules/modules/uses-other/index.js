const other = require ( 'actions:twin' );
module.exports = {};

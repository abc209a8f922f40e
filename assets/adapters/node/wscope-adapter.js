'use strict';
// Kept for code that required the adapter by its old file name; the package is index.js.
module.exports = require('./index');

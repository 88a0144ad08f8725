// What `require('sip')` returns under the drop-in test: @sipts/core itself, except that
// start() and makeTransport() bind to 127.0.0.1 on free ports (see listen.cjs) and tells the test where.
'use strict';
const core = require(process.env.SIPTS_CORE_DIST);
const { listenOverrides, report } = require('./listen.cjs');

module.exports = Object.assign({}, core, {
  start(options, onRequest) {
    const stack = core.start(listenOverrides(options || {}), onRequest);
    report(stack, 'sip');
    return stack;
  },
  makeTransport(options, callback) {
    const transport = core.makeTransport(listenOverrides(options || {}), callback);
    report(transport, 'sip.makeTransport');
    return transport;
  },
});

// What `require('sip/proxy')` returns under the drop-in test: @sipts/proxy, whose stack binds to
// 127.0.0.1 on free ports (see listen.cjs) and tells the test where.
'use strict';
const core = require(process.env.SIPTS_CORE_DIST);
const proxy = require(process.env.SIPTS_PROXY_DIST);
const { listenOverrides, report } = require('./listen.cjs');

module.exports = Object.assign({}, proxy, {
  start(options, onRequest) {
    const stack = (stackOptions, handler) => {
      // core.start, as @sipts/proxy's own start does: the program's sip.encodeFlowUri, sip.send...
      // reach the stack the proxy runs on.
      const s = core.start(listenOverrides(stackOptions), handler);
      report(s, 'sip/proxy');
      return s;
    };
    return proxy.start(Object.assign({}, options, { stack }), onRequest);
  },
});

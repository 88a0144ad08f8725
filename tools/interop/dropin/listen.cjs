// Shared by the sip and sip/proxy shims: where the program's stack must listen in a test
// (127.0.0.1 and free ports instead of sip's fixed 5060/5061), and reporting the bound
// addresses to the parent process over IPC once it listens.
'use strict';

function listenOverrides(options) {
  const o = Object.assign({}, options, { address: '127.0.0.1', port: 0 });
  if (o.tls !== undefined) o.tls_port = 0;
  if (o.ws_port !== undefined) o.ws_port = 0;
  return o;
}

function report(stack, who) {
  stack.ready().then(
    (addresses) => process.send && process.send({ who, addresses }),
    (e) => process.send && process.send({ who, error: String(e) }),
  );
}

module.exports = { listenOverrides, report };

// The routing of examples/proxy-registrar.ts written on sip@0.0.6's proxy (`require('sip/proxy')`),
// the baseline of `pnpm bench:proxy`. Plain CommonJS so it runs as sip users run it.
//   SIP_PORT=5060 SIP_ADDRESS=127.0.0.1 node tools/bench/proxy-sip-registrar.cjs
'use strict';
const sip = require('sip');
const proxy = require('sip/proxy');

const address = process.env.SIP_ADDRESS || '127.0.0.1';
const port = Number(process.env.SIP_PORT || 5060);
const bindings = Object.create(null);
const recordRoute = { uri: { schema: 'sip', host: address, port, params: { lr: null }, headers: {} }, params: {} };

proxy.start({ address, port, logger: { error: (e) => console.error('sip error', e && e.stack) } }, (rq) => {
  if (rq.method === 'REGISTER') {
    const user = sip.parseUri(rq.headers.to.uri).user;
    bindings[user] = rq.headers.contact;
    proxy.send(sip.makeResponse(rq, 200, 'OK', { headers: { contact: rq.headers.contact } }));
    return;
  }
  const user = sip.parseUri(rq.uri).user;
  const contacts = bindings[user];
  if (rq.method === 'ACK') {
    if (contacts) rq.uri = contacts[0].uri;
    proxy.send(rq);
    return;
  }
  if (!contacts) {
    proxy.send(sip.makeResponse(rq, 404, 'Not Found'));
    return;
  }
  rq.uri = contacts[0].uri;
  if (rq.method === 'INVITE') proxy.send(sip.makeResponse(rq, 100, 'Trying'));
  rq.headers['record-route'] = [recordRoute].concat(rq.headers['record-route'] || []);
  proxy.send(rq);
});
console.log(`sip@0.0.6 proxy-registrar listening on ${address}:${port}`);
// sip/proxy's `stop` is bound at require time, before start(): just leave.
process.once('SIGTERM', () => process.exit(0));

// sip@0.0.6's own proxy example (node_modules/sip/examples/registrar-proxy.js), loaded unchanged
// from the npm package, with `require('sip')` served by @sipts/core and `require('sip/proxy')` by
// @sipts/proxy. Only the listening address is pinned (the example listens on 5060 by default;
// tests use a free port on 127.0.0.1). A REGISTER and an INVITE go through it over real UDP.
import { dirname, join } from 'node:path';
import { stringify, type SipRequest, type SipResponse } from '@sipts/message';
import type { SipProxy } from '@sipts/proxy';
import { freePort } from '../lib/harness.js';
// The raw UDP peer of @sipts/proxy's own tests.
import { udpPeer, type UdpPeer } from '../../../../packages/proxy/test/udp-peer.js';

const HOST = '127.0.0.1';

let proxyInstance: SipProxy | undefined;
const peers: UdpPeer[] = [];

afterAll(async () => {
  for (const p of peers) p.close();
  await proxyInstance?.stop();
});

test("sip@0.0.6's registrar-proxy example runs on @sipts/proxy with only the require names changed", async () => {
  const port = await freePort(HOST);
  const actualProxy = jest.requireActual<typeof import('@sipts/proxy')>('@sipts/proxy');
  jest.doMock('sip', () => jest.requireActual('@sipts/core'));
  jest.doMock('sip/proxy', () => ({
    ...actualProxy,
    start: (options: Record<string, unknown>, onRequest: Parameters<typeof actualProxy.start>[1]) => {
      proxyInstance = actualProxy.start({ ...options, address: HOST, port }, onRequest);
      return proxyInstance;
    },
  }));
  const example = join(dirname(require.resolve('sip/package.json')), 'examples', 'registrar-proxy.js');
  jest.isolateModules(() => {
    require(example);
  });
  expect(proxyInstance).toBeDefined();
  await proxyInstance?.ready();

  const bob = await udpPeer(HOST);
  const alice = await udpPeer(HOST);
  peers.push(bob, alice);

  bob.send(
    `REGISTER sip:${HOST}:${port} SIP/2.0
Via: SIP/2.0/UDP ${HOST}:${bob.port};branch=z9hG4bKreg1
From: <sip:bob@${HOST}>;tag=b1
To: <sip:bob@${HOST}>
Call-ID: reg-1@${HOST}
CSeq: 1 REGISTER
Contact: <sip:bob@${HOST}:${bob.port}>
Max-Forwards: 70
Content-Length: 0

`,
    port,
  );
  const registered = (await bob.next()) as SipResponse;
  expect(registered.status).toBe(200);

  alice.send(
    `INVITE sip:bob@${HOST}:${port} SIP/2.0
Via: SIP/2.0/UDP ${HOST}:${alice.port};branch=z9hG4bKinv1;rport
From: <sip:alice@${HOST}>;tag=a1
To: <sip:bob@${HOST}>
Call-ID: call-1@${HOST}
CSeq: 1 INVITE
Contact: <sip:alice@${HOST}:${alice.port}>
Max-Forwards: 70
Content-Length: 0

`,
    port,
  );
  const trying = (await alice.next()) as SipResponse;
  expect(trying.status).toBe(100);
  const forwarded = (await bob.next()) as SipRequest;
  expect(forwarded.method).toBe('INVITE');
  expect(String(forwarded.uri)).toBe(`sip:bob@${HOST}:${bob.port}`);
  expect(forwarded.headers.via).toHaveLength(2);
  expect(Number(forwarded.headers['max-forwards'])).toBe(69);

  const ok: SipResponse = {
    status: 200,
    reason: 'OK',
    version: '2.0',
    headers: {
      via: forwarded.headers.via,
      from: forwarded.headers.from,
      to: { ...forwarded.headers.to!, params: { tag: 'b2' } },
      'call-id': forwarded.headers['call-id'],
      cseq: forwarded.headers.cseq,
      contact: [{ uri: `sip:bob@${HOST}:${bob.port}`, params: {} }],
    },
    content: '',
  };
  bob.socket.send(stringify(ok), port, HOST);
  const answer = (await alice.next()) as SipResponse;
  // The example sends its own 100 Trying too: the proxy lets only one through, so the next is 200.
  expect(answer.status).toBe(200);
  expect(answer.headers.via).toHaveLength(1);
  expect(answer.headers.via?.[0]?.params['branch']).toBe('z9hG4bKinv1');
  expect(proxyInstance?.contextCount).toBe(0);
});

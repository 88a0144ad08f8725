// @sipts/proxy on the real @sipts/core stack, port 0, raw UDP peers on 127.0.0.1.
import type { SipRequest, SipResponse } from '@sipts/message';
import type { SipStack } from '@sipts/core';
import { createProxy, type SipProxy } from '@sipts/proxy';
import { inviteText, udpPeer, type UdpPeer } from './udp-peer.js';

const open: { proxies: SipProxy[]; peers: UdpPeer[] } = { proxies: [], peers: [] };

afterEach(async () => {
  for (const p of open.peers.splice(0)) p.close();
  for (const p of open.proxies.splice(0)) await p.stop();
});

async function start(onRequest: (proxy: SipProxy, rq: SipRequest) => void, options: { recordRoute?: boolean } = {}): Promise<{ proxy: SipProxy; port: number }> {
  const proxy: SipProxy = createProxy({ address: '127.0.0.1', port: 0, tcp: false, ...options }, (rq) => onRequest(proxy, rq));
  open.proxies.push(proxy);
  await proxy.ready();
  const port = proxy.stack.addresses?.()[0]?.port ?? 0;
  return { proxy, port };
}

async function peers(n: number): Promise<UdpPeer[]> {
  const list: UdpPeer[] = [];
  for (let i = 0; i < n; i++) list.push(await udpPeer());
  open.peers.push(...list);
  return list;
}

/** The callee's 200 OK to a forwarded INVITE, every Via copied back (RFC 3261 §8.2.6.2). */
function okText(fwd: SipRequest, toTag: string): string {
  return [
    'SIP/2.0 200 OK',
    ...(fwd.headers.via ?? []).map((v) => `Via: SIP/2.0/UDP ${v.host}:${v.port};${Object.entries(v.params).map(([k, x]) => (x === null ? k : `${k}=${x}`)).join(';')}`),
    `From: <sip:alice@127.0.0.1>;tag=${String(fwd.headers.from?.params['tag'])}`,
    `To: <sip:bob@example.com>;tag=${toTag}`,
    `Call-ID: ${String(fwd.headers['call-id'])}`,
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

/** The next message that is not a 100 Trying. */
async function nextNot100(p: UdpPeer): Promise<SipRequest | SipResponse> {
  for (;;) {
    const m = await p.next();
    if (!('status' in m) || m.status !== 100) return m as SipRequest | SipResponse;
  }
}

test('Record-Route names the port the stack bound (port 0), Max-Forwards is decremented, the 200 comes back', async () => {
  const [caller, callee] = await peers(2);
  const { proxy, port } = await start(
    (p, rq) => {
      rq.uri = `sip:bob@127.0.0.1:${callee!.port}`;
      p.send(rq);
    },
    { recordRoute: true },
  );
  expect(port).toBeGreaterThan(0);
  caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port, ['Max-Forwards: 10']), port);
  expect(((await caller!.next()) as SipResponse).status).toBe(100);
  const fwd = (await callee!.next()) as SipRequest;
  expect(fwd.headers['record-route']?.[0]?.uri).toMatchObject({ host: '127.0.0.1', port, params: { lr: null } });
  expect(Number(fwd.headers['max-forwards'])).toBe(9);
  const via = fwd.headers.via ?? [];
  expect(via[0]?.port).toBe(port);
  // The caller's Via carries what the stack stamped on arrival (RFC 3581), used on the way back.
  expect(via[1]?.params).toMatchObject({ received: '127.0.0.1', rport: String(caller!.port) });
  callee!.send(okText(fwd, 'b'), port);
  const ok = (await caller!.next()) as SipResponse;
  expect(ok.status).toBe(200);
  expect(ok.headers.via).toHaveLength(1);
  expect(proxy.contextCount).toBe(0);
});

test('strict routing (§16.6 step 6): a next hop without lr gets the Request-URI, the old one goes last in Route', async () => {
  const [caller, strict] = await peers(2);
  const { port } = await start((p, rq) => {
    rq.headers.route = [{ uri: { schema: 'sip', host: '127.0.0.1', port: strict!.port, params: {}, headers: {} }, params: {} }];
    rq.uri = 'sip:bob@example.com';
    p.send(rq);
  });
  caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port), port);
  const fwd = (await nextNot100(strict!)) as SipRequest;
  expect(fwd.method).toBe('INVITE');
  expect(String(typeof fwd.uri === 'string' ? fwd.uri : `sip:${fwd.uri.host}:${fwd.uri.port}`)).toBe(`sip:127.0.0.1:${strict!.port}`);
  expect(fwd.headers.route?.at(-1)?.uri).toMatchObject({ user: 'bob', host: 'example.com' });
});

test('a Route naming this proxy is removed before the handler; a loose next hop keeps its Route', async () => {
  const [caller, next] = await peers(2);
  let seenRoute: unknown;
  const { port } = await start((p, rq) => {
    seenRoute = rq.headers.route;
    p.send(rq);
  });
  caller!.send(
    inviteText(`sip:bob@example.com`, caller!.port, [`Route: <sip:127.0.0.1:${port};lr>, <sip:127.0.0.1:${next!.port};lr>`]),
    port,
  );
  const fwd = (await next!.next()) as SipRequest;
  expect(fwd.method).toBe('INVITE');
  expect(seenRoute).toEqual([expect.objectContaining({ uri: expect.objectContaining({ port: next!.port }) })]);
  expect(fwd.headers.route?.[0]?.uri).toMatchObject({ port: next!.port });
});

test('a request that loops back to this proxy unchanged gets 482; contexts are all released', async () => {
  const [caller] = await peers(1);
  let port = 0;
  const started = await start((p, rq) => {
    // Misconfigured routing: everything goes to ourselves under another user (a spiral), then loops.
    rq.uri = `sip:loop@127.0.0.1:${port}`;
    p.send(rq);
  });
  port = started.port;
  caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port), port);
  const final = (await nextNot100(caller!)) as SipResponse;
  expect(final.status).toBe(482);
  for (let i = 0; i < 50 && started.proxy.contextCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(started.proxy.contextCount).toBe(0);
});

test('Max-Forwards 0 gets 483 and nothing is forwarded', async () => {
  const [caller, callee] = await peers(2);
  const { port } = await start((p, rq) => {
    rq.uri = `sip:bob@127.0.0.1:${callee!.port}`;
    p.send(rq);
  });
  caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port, ['Max-Forwards: 0']), port);
  const final = (await nextNot100(caller!)) as SipResponse;
  expect(final.status).toBe(483);
  await expect(callee!.next(300)).rejects.toThrow('no message');
});

test('an ACK for a 2xx is forwarded statelessly: our Via on top of the caller\'s, Max-Forwards - 1, no context', async () => {
  const [caller, callee] = await peers(2);
  const { proxy, port } = await start((p, rq) => p.send(rq));
  caller!.send(
    [
      `ACK sip:bob@127.0.0.1:${callee!.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${caller!.port};branch=z9hG4bKack1`,
      'From: <sip:alice@127.0.0.1>;tag=a',
      'To: <sip:bob@example.com>;tag=b',
      `Call-ID: ack-test-${process.pid}@127.0.0.1`,
      'CSeq: 1 ACK',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
    port,
  );
  const ack = (await callee!.next()) as SipRequest;
  expect(ack.method).toBe('ACK');
  expect(ack.headers.via).toHaveLength(2);
  expect(ack.headers.via?.[0]?.port).toBe(port);
  expect(ack.headers.via?.[1]?.params['branch']).toBe('z9hG4bKack1');
  expect(ack.headers.via?.[1]?.port).toBe(caller!.port);
  expect(Number(ack.headers['max-forwards'])).toBe(69);
  expect(proxy.contextCount).toBe(0);
});

test('forwardStateless on the real stack: no client transaction, no context, the 200 relayed upstream by its Via (RFC 3261 §16.11)', async () => {
  const [caller, callee] = await peers(2);
  const { proxy, port } = await start((p, rq) => {
    rq.uri = `sip:bob@127.0.0.1:${callee!.port}`;
    p.forwardStateless(rq);
  });
  const before = (proxy.stack as unknown as SipStack).stats().clientCreated;
  caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port, ['Max-Forwards: 10']), port);
  const fwd = (await callee!.next()) as SipRequest;
  expect(Number(fwd.headers['max-forwards'])).toBe(9);
  const via = fwd.headers.via ?? [];
  expect(via).toHaveLength(2);
  callee!.send(okText(fwd, 's'), port);
  const ok = await nextNot100(caller!);
  expect((ok as SipResponse).status).toBe(200);
  expect(ok.headers.via).toHaveLength(1);
  expect((proxy.stack as unknown as SipStack).stats().clientCreated).toBe(before);
  expect(proxy.contextCount).toBe(0);
});

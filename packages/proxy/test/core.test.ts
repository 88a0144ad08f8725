// @sipts/proxy on the real @sipts/core stack, port 0, raw UDP peers on 127.0.0.1.
import { makeResponse, type SipRequest, type SipResponse } from '@sipts/message';
import type { SipStack } from '@sipts/core';
import { createProxy, type ProxyReply, type SipProxy } from '@sipts/proxy';
import { inviteText, udpPeer, type UdpPeer } from './udp-peer.js';

const open: { proxies: SipProxy[]; peers: UdpPeer[] } = { proxies: [], peers: [] };

afterEach(async () => {
  for (const p of open.peers.splice(0)) p.close();
  for (const p of open.proxies.splice(0)) await p.stop();
});

async function start(
  onRequest: (proxy: SipProxy, rq: SipRequest, reply: ProxyReply) => void,
  options: { recordRoute?: boolean } = {},
): Promise<{ proxy: SipProxy; port: number }> {
  const proxy: SipProxy = createProxy({ address: '127.0.0.1', port: 0, tcp: false, ...options }, (rq, _remote, reply) =>
    onRequest(proxy, rq, reply),
  );
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

/** The callee's response to a forwarded request, every Via copied back (RFC 3261 §8.2.6.2). */
function responseText(fwd: SipRequest, status: number, reason: string, toTag: string): string {
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...(fwd.headers.via ?? []).map((v) => `Via: SIP/2.0/UDP ${v.host}:${v.port};${Object.entries(v.params).map(([k, x]) => (x === null ? k : `${k}=${x}`)).join(';')}`),
    `From: <sip:alice@127.0.0.1>;tag=${String(fwd.headers.from?.params['tag'])}`,
    `To: <sip:bob@example.com>;tag=${toTag}`,
    `Call-ID: ${String(fwd.headers['call-id'])}`,
    `CSeq: ${fwd.headers.cseq?.seq ?? 1} ${fwd.headers.cseq?.method ?? fwd.method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

function okText(fwd: SipRequest, toTag: string): string {
  return responseText(fwd, 200, 'OK', toTag);
}

/** The next message `p` receives that `accept` takes (others, e.g. retransmissions, are skipped). */
async function nextWhere(p: UdpPeer, accept: (m: SipRequest | SipResponse) => boolean, ms = 3000): Promise<SipRequest | SipResponse> {
  for (;;) {
    const m = (await p.next(ms)) as SipRequest | SipResponse;
    if (accept(m)) return m;
  }
}

const isStatus = (status: number) => (m: SipRequest | SipResponse): boolean => 'status' in m && m.status === status;
const isMethod = (method: string) => (m: SipRequest | SipResponse): boolean => 'method' in m && m.method === method;

/** Polls `condition` every 10 ms, for at most 2 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
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

/** A request from `fromPort` inside the dialog of `fwd` (To tag set), e.g. a BYE or the ACK for a 2xx. */
function inDialogText(method: string, uri: string, fromPort: number, callId: string, seq: number, branch: string): string {
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${fromPort};branch=${branch};rport`,
    'From: <sip:alice@127.0.0.1>;tag=a',
    'To: <sip:bob@example.com>;tag=b',
    `Call-ID: ${callId}`,
    `CSeq: ${seq} ${method}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

describe('on the real stack: reply handles, CANCEL, self-loops', () => {
  test('a proxied call (INVITE, 180, 200, ACK, BYE, 200) never looks a server transaction up again', async () => {
    const [caller, callee] = await peers(2);
    const { proxy, port } = await start((p, rq) => {
      rq.uri = `sip:bob@127.0.0.1:${callee!.port}`;
      p.send(rq);
    });
    const stack = proxy.stack as unknown as SipStack;
    caller!.send(inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port), port);
    const invite = (await callee!.next()) as SipRequest;
    callee!.send(responseText(invite, 180, 'Ringing', 'b'), port);
    expect(((await nextWhere(caller!, isStatus(180))) as SipResponse).headers.via).toHaveLength(1);
    callee!.send(okText(invite, 'b'), port);
    await nextWhere(caller!, isStatus(200));
    const callId = String(invite.headers['call-id']);
    caller!.send(inDialogText('ACK', `sip:bob@127.0.0.1:${callee!.port}`, caller!.port, callId, 1, 'z9hG4bKack2'), port);
    await nextWhere(callee!, isMethod('ACK'));
    caller!.send(inDialogText('BYE', `sip:bob@127.0.0.1:${callee!.port}`, caller!.port, callId, 2, 'z9hG4bKbye2'), port);
    const bye = (await nextWhere(callee!, isMethod('BYE'))) as SipRequest;
    callee!.send(okText(bye, 'b'), port);
    expect(((await nextWhere(caller!, isStatus(200))) as SipResponse).headers.cseq?.method).toBe('BYE');
    expect(stack.stats().serverLookups).toBe(0);
    expect(proxy.contextCount).toBe(0);
  });

  test("the handler's reply handle and proxy.send(response) in a context both answer without a lookup", async () => {
    const [phone] = await peers(1);
    const { proxy, port } = await start((p, rq, reply) => {
      if (rq.method === 'OPTIONS') p.send(makeResponse(rq, 200, 'OK'));
      else reply.reply(makeResponse(rq, 404, 'Not Found'));
    });
    const stack = proxy.stack as unknown as SipStack;
    phone!.send(inviteText(`sip:nobody@127.0.0.1:${port}`, phone!.port).replace(/INVITE/g, 'OPTIONS'), port);
    expect(((await phone!.next()) as SipResponse).status).toBe(200);
    phone!.send(inviteText(`sip:nobody@127.0.0.1:${port}`, phone!.port).replace(/INVITE/g, 'MESSAGE'), port);
    expect(((await phone!.next()) as SipResponse).status).toBe(404);
    expect(stack.stats().serverLookups).toBe(0);
    expect(proxy.contextCount).toBe(0);
  });

  test("CANCEL goes through the INVITE's client transaction: its branch and Request-URI, only after a provisional (RFC 3261 §9.1)", async () => {
    const [caller, callee] = await peers(2);
    const { proxy, port } = await start((p, rq) => {
      rq.uri = `sip:bob@127.0.0.1:${callee!.port}`;
      p.send(rq);
    });
    const text = inviteText(`sip:bob@127.0.0.1:${port}`, caller!.port);
    caller!.send(text, port);
    const invite = (await callee!.next()) as SipRequest;
    // The caller's CANCEL: same Via, Call-ID, From, To and CSeq number as its INVITE (§9.1).
    const cancel = text
      .replace(/^INVITE (\S+)/, 'CANCEL $1')
      .replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL')
      .replace(/Contact: [^\n]*\n/, '');
    caller!.send(cancel, port);
    const cancelled = (await nextWhere(caller!, isStatus(200))) as SipResponse;
    expect(cancelled.headers.cseq?.method).toBe('CANCEL');
    expect(proxy.stats().branchesCancelled).toBe(1);
    // No provisional response yet: the transaction holds the CANCEL back.
    await expect(nextWhere(callee!, isMethod('CANCEL'), 300)).rejects.toThrow('no message');
    callee!.send(responseText(invite, 180, 'Ringing', 'b'), port);
    const down = (await nextWhere(callee!, isMethod('CANCEL'))) as SipRequest;
    expect(down.headers.via).toHaveLength(1);
    expect(down.headers.via?.[0]?.params['branch']).toBe(invite.headers.via?.[0]?.params['branch']);
    expect(down.uri).toEqual(invite.uri);
    expect(down.headers.cseq).toEqual({ seq: 1, method: 'CANCEL' });
    callee!.send(okText(down, 'b'), port);
    callee!.send(responseText(invite, 487, 'Request Terminated', 'b'), port);
    expect(((await nextWhere(caller!, isStatus(487))) as SipResponse).headers.cseq?.method).toBe('INVITE');
    await until(() => proxy.contextCount === 0);
    expect(proxy.contextCount).toBe(0);
    expect((proxy.stack as unknown as SipStack).stats().serverLookups).toBe(0);
  });

  test("an INVITE and an ACK for an unknown user at the proxy's own address are not looped through itself", async () => {
    const [caller] = await peers(1);
    // The default forwarding handler: everything goes to its Request-URI, here the proxy itself.
    const { proxy, port } = await start((p, rq) => p.send(rq));
    const stack = proxy.stack as unknown as SipStack;
    const uri = `sip:nobody@127.0.0.1:${port}`;
    caller!.send(inviteText(uri, caller!.port), port);
    const final = (await nextNot100(caller!)) as SipResponse;
    expect(final.status).toBe(482);
    expect(stack.stats().selfLoopsRefused).toBe(1);
    expect(stack.stats().clientCreated).toBe(0);
    // An ACK as for a 2xx (its own request, forwarded without a context).
    caller!.send(inDialogText('ACK', uri, caller!.port, `self-${process.pid}@127.0.0.1`, 1, 'z9hG4bKselfack'), port);
    await until(() => stack.stats().selfLoopsRefused === 2);
    expect(stack.stats().selfLoopsRefused).toBe(2);
    // Nothing keeps going round: no more sends, no context, no request reaching the handler again.
    const before = stack.stats();
    await new Promise((r) => setTimeout(r, 200));
    expect(stack.stats().selfLoopsRefused).toBe(2);
    expect(stack.stats().statelessSent).toBe(before.statelessSent);
    expect(proxy.stats()).toMatchObject({ contexts: 0, contextsCreated: 1, branches: 1, statelessForwarded: 1, loopsDetected: 0 });
  });
});

// The typed API (request(), cancel(), events, sendStateless) and the module-level sip API
// (start/stop/send/... on a default stack, parse, makeStreamParser, digest, generateBranch).
import {
  create,
  decodeFlowUri,
  defaultStack,
  digest,
  encodeFlowUri,
  generateBranch,
  hostname,
  isFlowUri,
  makeResponse,
  makeStreamParser,
  makeTransport,
  parse,
  send,
  start,
  stop,
  stringify,
} from '@sipts/core';
import type { SipMessage, SipRequest, SipResponse, SipStack } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, nextRequest, portOf, request, sendAndWait } from './helpers.js';

// Real sockets: generous bounds so a loaded CI machine does not time out a healthy test.
jest.setTimeout(20_000);
afterEach(closeAll);

/** A UAS that rings, then answers CANCEL with 200 and the INVITE with 487. */
async function ringingUas(): Promise<{ stack: SipStack; cancels: SipRequest[] }> {
  const cancels: SipRequest[] = [];
  const invites = new Map<string, SipRequest>();
  const stack = await listeningStack({}, (rq) => {
    if (rq.method === 'INVITE') {
      invites.set(rq.headers['call-id']!, rq);
      stack.send(makeResponse(rq, 180, 'Ringing'));
    } else if (rq.method === 'CANCEL') {
      cancels.push(rq);
      stack.send(makeResponse(rq, 200));
      const invite = invites.get(rq.headers['call-id']!);
      if (invite) stack.send(makeResponse(invite, 487, 'Request Terminated'));
    }
  });
  return { stack, cancels };
}

describe('request(): the promise API', () => {
  test('resolves with the final response and reports provisionals', async () => {
    const uas = await listeningStack({}, (rq) => {
      uas.send(makeResponse(rq, 180, 'Ringing'));
      uas.send(makeResponse(rq, 486, 'Busy Here'));
    });
    const uac = await listeningStack();
    const provisional: number[] = [];
    const rs = await uac.request(request('INVITE', `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`), {
      onProvisional: (r) => provisional.push(r.status),
    });
    expect(rs.status).toBe(486);
    expect(provisional).toEqual([180]);
  });

  test('aborting a ringing INVITE sends a CANCEL with the INVITE branch; the promise gets the 487', async () => {
    const { stack: uas, cancels } = await ringingUas();
    const uac = await listeningStack();
    const controller = new AbortController();
    const invite = request('INVITE', `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`);
    const result = uac.request(invite, { signal: controller.signal, onProvisional: () => controller.abort() });
    const rs = await result;
    expect(rs.status).toBe(487);
    expect(cancels).toHaveLength(1);
    expect(cancels[0]?.headers.via?.[0]?.params.branch).toBe(invite.headers.via?.[0]?.params.branch);
    expect(cancels[0]?.headers.cseq).toEqual({ seq: invite.headers.cseq!.seq, method: 'CANCEL' });
  });

  test('an abort before any provisional waits for one before cancelling (RFC 3261 §9.1)', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const uac = await listeningStack();
    const controller = new AbortController();
    const invite = request('INVITE', `sip:b@127.0.0.1:${port}`);
    const result = uac.request(invite, { signal: controller.signal });
    const { text } = await peer.next((m) => 'method' in m && m.method === 'INVITE');
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(peer.all.some((e) => 'method' in e.message && e.message.method === 'CANCEL')).toBe(false);
    // Now the callee rings: the CANCEL follows.
    const inviteMsg = parse(text) as SipRequest;
    const ringing = makeResponse(inviteMsg, 180, 'Ringing');
    await peer.send(stringify(ringing), portOf(uac, 'UDP'));
    const { message: cancel } = await peer.next((m) => 'method' in m && m.method === 'CANCEL');
    expect(cancel.headers.via?.[0]?.params.branch).toBe(inviteMsg.headers.via?.[0]?.params.branch);
    await peer.send(stringify(makeResponse(inviteMsg, 487)), portOf(uac, 'UDP'));
    expect((await result).status).toBe(487);
    await peer.close();
  });

  test('aborting a non-INVITE rejects with ERR_ABORTED; an already aborted signal sends nothing', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const uac = await listeningStack();
    const controller = new AbortController();
    const pending = uac.request(request('MESSAGE', `sip:b@127.0.0.1:${port}`), { signal: controller.signal });
    await peer.next();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect(uac.request(request('MESSAGE', `sip:b@127.0.0.1:${port}`), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(peer.all.filter((e) => 'method' in e.message && e.message.method === 'MESSAGE')).toHaveLength(1);
    await peer.close();
  });

  test('cancel() returns false for an unknown or answered INVITE', async () => {
    const uas = await listeningStack({}, (rq) => uas.send(makeResponse(rq, 603)));
    const uac = await listeningStack();
    const invite = request('INVITE', `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`);
    expect(uac.cancel(invite)).toBe(false);
    await uac.request(invite);
    expect(uac.cancel(invite)).toBe(false);
  });

  test("on('request') handlers registered later work like onRequest", async () => {
    const uas = await listeningStack();
    uas.on('request', (rq) => uas.send(makeResponse(rq, 202)));
    const uac = await listeningStack();
    expect((await uac.request(request('MESSAGE', `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`))).status).toBe(202);
  });

  test("'listening' and 'close' events", async () => {
    const stack = create({ address: '127.0.0.1', port: 0 });
    const listening = new Promise((resolve) => stack.once('listening', resolve));
    expect(await listening).toEqual(stack.addresses());
    const closed = new Promise((resolve) => stack.once('close', () => resolve(true)));
    stack.destroy();
    expect(await closed).toBe(true);
  });
});

describe('localUri: Contact and Record-Route values that name this stack', () => {
  test('sent-by address, the transport port, transport and lr parameters', async () => {
    const stack = await listeningStack({ publicAddress: '203.0.113.9' });
    expect(stack.localUri({ user: 'alice' })).toEqual({ schema: 'sip', user: 'alice', host: '203.0.113.9', port: portOf(stack, 'UDP'), params: {}, headers: {} });
    expect(stack.localUri({ protocol: 'TCP', lr: true })).toMatchObject({ host: '203.0.113.9', port: portOf(stack, 'TCP'), params: { transport: 'tcp', lr: null } });
  });
});

describe('sendStateless and stray responses (a stateless proxy, RFC 3261 §16.11)', () => {
  test('a request keeps its Vias; the response comes back through the stack by Via alone', async () => {
    const uas = await listeningStack({}, (rq) => uas.send(makeResponse(rq, 200)));
    const proxy = await listeningStack();
    const uac = await listeningStack();
    proxy.on('request', (rq) => {
      // No branch: the stack computes a signed one (RFC 3261 §16.11), the only kind it relays back.
      rq.headers.via!.unshift({ version: '2.0', protocol: 'UDP', host: proxy.sentBy(), port: portOf(proxy, 'UDP'), params: {} });
      rq.uri = `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`;
      proxy.sendStateless(rq);
    });
    const arrives = nextRequest(uas);
    const { response } = await sendAndWait(uac, request('MESSAGE', `sip:b@127.0.0.1:${portOf(proxy, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(response.headers.via).toHaveLength(1);
    expect((await arrives).request.headers.via).toHaveLength(2);
    expect(proxy.stats().client).toBe(0);
  });
});

describe('the module-level sip API', () => {
  afterEach(() => stop());

  test('start/send/stop work on one default stack like sip.start', async () => {
    const uas = await listeningStack({}, (rq) => uas.send(makeResponse(rq, 200)));
    const seen: string[] = [];
    const stack = start({ address: '127.0.0.1', port: 0 }, (rq) => seen.push(rq.method));
    expect(defaultStack()).toBe(stack);
    await stack.ready();
    const rs = await new Promise<SipResponse>((resolve) => send(request('OPTIONS', `sip:127.0.0.1:${portOf(uas, 'UDP')}`), resolve));
    expect(rs.status).toBe(200);
    expect(hostname()).toBe('127.0.0.1');
    const flow = { protocol: 'TCP', address: '127.0.0.1', port: 4000, local: { address: '127.0.0.1', port: portOf(stack, 'TCP') } };
    const uri = encodeFlowUri(flow);
    expect(isFlowUri(uri)).toBe(true);
    expect(decodeFlowUri(uri)).toEqual(flow);
    await stop();
    expect(defaultStack()).toBeUndefined();
    expect(() => send(request('OPTIONS', 'sip:127.0.0.1'))).toThrow(/before start/);
  });

  test('send() right after start(), before the sockets listen, is queued (sip examples do this)', async () => {
    const uas = await listeningStack({}, (rq) => uas.send(makeResponse(rq, 200)));
    start({ address: '127.0.0.1', port: 0 }, () => {});
    const rs = await new Promise<SipResponse>((resolve) => send(request('OPTIONS', `sip:127.0.0.1:${portOf(uas, 'UDP')}`), resolve));
    expect(rs.status).toBe(200);
  });

  test('parse returns undefined for garbage, as sip does', () => {
    expect(parse('garbage\r\n\r\n')).toBeUndefined();
    const m = parse(stringify(request('OPTIONS', 'sip:a@example.com')));
    expect(m && 'method' in m && m.method).toBe('OPTIONS');
  });

  test('generateBranch gives unique RFC 3261 branches from crypto', () => {
    const set = new Set(Array.from({ length: 1000 }, () => generateBranch()));
    expect(set.size).toBe(1000);
    // 1000 branches draw the random pool (256 branches per refill) four times over.
    for (const b of set) expect(b).toMatch(/^z9hG4bK[0-9a-f]{32}$/);
  });

  test('digest is the @sipts/digest API (sip.digest / sip/digest)', () => {
    expect(typeof digest.challenge).toBe('function');
    expect(typeof digest.authenticateRequest).toBe('function');
    expect(typeof digest.signRequest).toBe('function');
    expect(typeof digest.calculateUserRealmPasswordHash).toBe('function');
  });
});

describe('makeTransport (sip internal, no transactions)', () => {
  test('every message reaches the callback; send(remote, response) answers statelessly', async () => {
    const seen: string[] = [];
    const transport = makeTransport({ address: '127.0.0.1', port: 0 }, (m, remote) => {
      if (!('method' in m)) return;
      seen.push(m.method);
      transport.send(remote, makeResponse(m, 202));
    });
    try {
      const [udp] = await transport.ready();
      const client = await listeningStack();
      const rs = await client.request(request('MESSAGE', `sip:a@127.0.0.1:${udp!.port}`));
      expect(rs.status).toBe(202);
      expect(seen).toEqual(['MESSAGE']);
    } finally {
      await transport.destroy();
    }
  });

  test('a request sent through it gets its top Via filled in for the transport (as sip did)', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const transport = makeTransport({ address: '127.0.0.1', port: 0 }, () => {});
    try {
      const [udp] = await transport.ready();
      const rq = request('OPTIONS', `sip:127.0.0.1:${port}`, {
        via: [{ version: '2.0', protocol: 'TCP', host: 'placeholder', params: { branch: generateBranch() } }],
      });
      transport.send({ protocol: 'UDP', address: '127.0.0.1', port }, rq);
      const { message } = await peer.next();
      expect(message.headers.via?.[0]).toMatchObject({ protocol: 'UDP', host: '127.0.0.1', port: udp!.port, params: { rport: null } });
    } finally {
      await transport.destroy();
      await peer.close();
    }
  });
});

describe('makeStreamParser (sip signature)', () => {
  const text = (n: number): string => stringify({ ...request('MESSAGE', 'sip:a@example.com'), content: `body ${n} é` });

  test('reassembles messages split anywhere, from binary strings and from buffers', () => {
    const got: SipMessage[] = [];
    const feed = makeStreamParser((m) => got.push(m));
    const bytes = Buffer.from(text(1) + text(2), 'utf8');
    for (let i = 0; i < bytes.length; i += 7) {
      const chunk = bytes.subarray(i, i + 7);
      if ((i / 7) % 2 === 0) feed(chunk.toString('latin1'));
      else feed(chunk);
    }
    expect(got.map((m) => m.content)).toEqual(['body 1 é', 'body 2 é']);
  });

  test('onFlood is called when the header limit is exceeded, and parsing starts afresh', () => {
    let floods = 0;
    const got: SipMessage[] = [];
    const feed = makeStreamParser((m) => got.push(m), () => floods++, 1000, 100);
    feed('X'.repeat(2000));
    expect(floods).toBe(1);
    feed(Buffer.from(text(3), 'utf8').toString('latin1')); // a `binary` string, as sip's streams give
    expect(got).toHaveLength(1);
  });

  test('onFlood is called for a Content-Length over maxContentLength', () => {
    let floods = 0;
    const feed = makeStreamParser(() => {}, () => floods++, 60480, 10);
    feed(stringify({ ...request('MESSAGE', 'sip:a@example.com'), content: 'x'.repeat(50) }));
    expect(floods).toBe(1);
  });
});


test('makeStreamParser calls back with the message only, as sip did', () => {
  const calls: unknown[][] = [];
  const feed = makeStreamParser((...args: unknown[]) => calls.push(args));
  feed(stringify(request('OPTIONS', 'sip:a@127.0.0.1')).replace('Content-Length: 0', 'Content-Length: 0'));
  expect(calls).toHaveLength(1);
  expect(calls[0]).toHaveLength(1);
});

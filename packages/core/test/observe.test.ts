// The observation hooks: per-method counters in stats(), raw-bytes capture on every transport,
// observers of messages and transactions, and that a broken observer never breaks the stack.
import { makeResponse, parse } from '@sipts/core';
import type { Remote, SipMessage, StackObserver } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

interface Captured {
  direction: 'in' | 'out';
  text: string;
  remote: Remote;
}

function capturing(): { list: Captured[]; observer: StackObserver } {
  const list: Captured[] = [];
  return {
    list,
    observer: { capture: (direction, data, remote) => list.push({ direction, text: Buffer.from(data).toString('utf8'), remote }) },
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('stats(): messages by method and status class', () => {
  test('an OPTIONS and its 200 are counted on both sides; live transactions by kind', async () => {
    const server = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const client = await listeningStack();
    const { response } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(200);
    const s = server.stats();
    expect(s.requestsReceived.OPTIONS).toBe(1);
    expect(s.requestsReceived.INVITE).toBe(0);
    expect(s.responsesSent.OPTIONS['2xx']).toBe(1);
    expect(s.transactionsLive['non-invite-server']).toBe(1); // in Completed for Timer J
    const c = client.stats();
    expect(c.requestsSent.OPTIONS).toBe(1);
    expect(c.responsesReceived.OPTIONS['2xx']).toBe(1);
    expect(c.transactionsLive['non-invite-client']).toBe(1); // Timer K
    // The transports' own counters, bytes included, under stats().transports.
    expect(s.transports.UDP?.received).toBe(1);
    expect(s.transports.UDP?.bytesReceived).toBeGreaterThan(100);
    expect(c.transports.UDP?.bytesSent).toBe(s.transports.UDP?.bytesReceived);
    expect(s.transports.TCP?.connections).toBe(0);
  });

  test('an unknown method is counted as other; a stateless 503 of the overload guard as 5xx', async () => {
    const server = await listeningStack({ maxServerTransactions: 1 }, () => {
      // never answers: the first transaction stays, the second request is refused with 503
    });
    const client = await listeningStack();
    const uri = `sip:127.0.0.1:${portOf(server, 'UDP')}`;
    client.send(request('FOO', uri));
    await until(() => server.stats().requestsReceived.other === 1);
    const { response } = await sendAndWait(client, request('MESSAGE', uri));
    expect(response.status).toBe(503);
    const s = server.stats();
    expect(s.requestsReceived.other).toBe(1);
    expect(s.requestsReceived.MESSAGE).toBe(1);
    expect(s.responsesSent.MESSAGE['5xx']).toBe(1);
    expect(client.stats().responsesReceived.MESSAGE['5xx']).toBe(1);
  });

  test('a datagram the parser refuses is counted by its code', async () => {
    const server = await listeningStack({ logger: { error: () => {} } });
    const peer = new RawUdpPeer();
    await peer.bind();
    await peer.send('INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: garbage\r\nContent-Length: 0\r\n\r\n', portOf(server, 'UDP'));
    await peer.send('this is not SIP\r\n\r\n', portOf(server, 'UDP'));
    await until(() => Object.values(server.stats().parseErrors).reduce((a, b) => a + b, 0) >= 2);
    const codes = server.stats().parseErrors;
    expect(Object.values(codes).reduce((a, b) => a + b, 0)).toBe(2);
    for (const code of Object.keys(codes)) expect(code).toMatch(/^ERR_[A-Z_]+$/);
    await peer.close();
  });
});

describe('observe(): capture, messages, transactions', () => {
  test.each(['UDP', 'TCP'] as const)('capture over %s: the raw bytes in and out with both ends', async (protocol) => {
    const server = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const client = await listeningStack();
    const s = capturing();
    const c = capturing();
    server.observe(s.observer);
    client.observe(c.observer);
    const port = portOf(server, protocol);
    await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${port};transport=${protocol.toLowerCase()}`));
    await until(() => c.list.length >= 2 && s.list.length >= 2);
    expect(s.list.map((e) => e.direction)).toEqual(['in', 'out']);
    expect(c.list.map((e) => e.direction)).toEqual(['out', 'in']);
    // The bytes are the message as on the wire: the server received what the client sent.
    expect(s.list[0]?.text).toBe(c.list[0]?.text);
    expect(c.list[1]?.text).toBe(s.list[1]?.text);
    expect(parse(s.list[0]!.text)).toMatchObject({ method: 'OPTIONS' });
    const inbound = s.list[0]!.remote;
    expect(inbound).toMatchObject({ protocol, address: '127.0.0.1', port: expect.any(Number) });
    expect(inbound.local).toEqual({ address: '127.0.0.1', port });
    expect(s.list[1]!.remote.local).toEqual({ address: '127.0.0.1', port });
  });

  test('capture over WS', async () => {
    const server = await listeningStack({ ws_port: 0, udp: false, tcp: false }, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const client = await listeningStack({ ws_port: 0, udp: false, tcp: false });
    const s = capturing();
    server.observe(s.observer);
    const port = portOf(server, 'WS');
    await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${port};transport=ws`));
    await until(() => s.list.length >= 2);
    expect(s.list.map((e) => e.direction)).toEqual(['in', 'out']);
    expect(s.list[0]!.text.startsWith('OPTIONS ')).toBe(true);
    expect(s.list[1]!.text.startsWith('SIP/2.0 200')).toBe(true);
    expect(s.list[0]!.remote).toMatchObject({ protocol: 'WS', local: { address: '127.0.0.1', port } });
  });

  test('detaching stops the capture; two observers each get every message', async () => {
    const server = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const client = await listeningStack();
    const a = capturing();
    const b = capturing();
    const detachA = server.observe(a.observer);
    server.observe(b.observer);
    const uri = `sip:127.0.0.1:${portOf(server, 'UDP')}`;
    await sendAndWait(client, request('OPTIONS', uri));
    await until(() => a.list.length >= 2 && b.list.length >= 2);
    detachA();
    detachA(); // idempotent
    await sendAndWait(client, request('OPTIONS', uri));
    await until(() => b.list.length >= 4);
    expect(a.list).toHaveLength(2);
    expect(b.list).toHaveLength(4);
  });

  test('received/sent and transaction events; an observer that throws is reported, never thrown', async () => {
    const errors: unknown[] = [];
    const server = await listeningStack({ logger: { error: (e) => errors.push(e) } }, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const client = await listeningStack();
    const seen: string[] = [];
    const label = (m: SipMessage): string => ('method' in m ? m.method : String(m.status));
    server.observe({
      received: (m) => seen.push(`in ${label(m)}`),
      sent: (m) => seen.push(`out ${label(m)}`),
      transactionCreated: (tx) => seen.push(`created ${tx.kind} ${tx.method}`),
      transactionState: (tx, _from, to) => seen.push(`${tx.kind} ${to}`),
    });
    server.observe({
      received: () => {
        throw new Error('observer bug');
      },
      capture: () => {
        throw new Error('capture bug');
      },
    });
    const { response } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(seen).toEqual(['in OPTIONS', 'created non-invite-server OPTIONS', 'out 200', 'non-invite-server completed']);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['capture bug', 'capture bug', 'observer bug']);
  });

  test('observe() refuses a non-object', async () => {
    const stack = await listeningStack();
    expect(() => stack.observe(undefined as unknown as StackObserver)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});

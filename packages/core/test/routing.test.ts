// Target selection: RFC 3263 failover, the §18.1.1 switch to TCP, timeouts, transport errors,
// flow tokens (RFC 5626 basics) and routing to this stack's own address.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { ManualClock } from '@sipts/transaction';
import { create, makeResponse, stringify } from '@sipts/core';
import type { Remote, ResolvedTarget, Resolver, SipRequest } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, nextRequest, portOf, request, sendAndWait } from './helpers.js';

// Real sockets: generous bounds so a loaded CI machine does not time out a healthy test.
jest.setTimeout(20_000);
afterEach(closeAll);

/** A resolver that returns a fixed target list whatever the URI. */
function fixedResolver(targets: ResolvedTarget[]): Resolver & { calls: number } {
  const r = {
    calls: 0,
    resolve: async (): Promise<ResolvedTarget[]> => {
      r.calls++;
      return targets;
    },
  };
  return r;
}

/** A TCP port with nothing listening on it. */
async function closedTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('RFC 3263 failover', () => {
  test('a 503 from the first target moves on to the next; the caller sees only the final answer', async () => {
    const busy = await listeningStack({}, (rq) => busy.send(makeResponse(rq, 503, 'Service Unavailable')));
    const good = await listeningStack({}, (rq) => good.send(makeResponse(rq, 200)));
    const resolver = fixedResolver([
      { protocol: 'UDP', address: '127.0.0.1', port: portOf(busy, 'UDP') },
      { protocol: 'UDP', address: '127.0.0.1', port: portOf(good, 'UDP') },
    ]);
    const client = await listeningStack({ resolver });
    const rq = request('OPTIONS', 'sip:service.example.com');
    const { response, all } = await sendAndWait(client, rq);
    expect(response.status).toBe(200);
    expect(all.map((r) => r.status)).toEqual([200]);
  });

  test('a transport failure (connection refused) is a 503 that moves on to the next target', async () => {
    const good = await listeningStack({}, (rq) => good.send(makeResponse(rq, 200)));
    const resolver = fixedResolver([
      { protocol: 'TCP', address: '127.0.0.1', port: await closedTcpPort() },
      { protocol: 'TCP', address: '127.0.0.1', port: portOf(good, 'TCP') },
    ]);
    const client = await listeningStack({ resolver });
    const { response } = await sendAndWait(client, request('OPTIONS', 'sip:service.example.com'));
    expect(response.status).toBe(200);
  });

  test('every target failing ends with 503; no target at all ends with 404 (as sip)', async () => {
    const client = await listeningStack({ resolver: fixedResolver([{ protocol: 'TCP', address: '127.0.0.1', port: await closedTcpPort() }]) });
    expect((await sendAndWait(client, request('OPTIONS', 'sip:a.example.com'))).response.status).toBe(503);
    const empty = await listeningStack({ resolver: fixedResolver([]) });
    expect((await sendAndWait(empty, request('OPTIONS', 'sip:b.example.com'))).response.status).toBe(404);
  });

  test('a tel: Request-URI with no Route cannot be resolved: 416 (RFC 3261 §8.1.2)', async () => {
    const client = await listeningStack();
    expect((await sendAndWait(client, request('INVITE', 'tel:+1-201-555-0123'))).response.status).toBe(416);
  });

  test('a tel: Request-URI goes to its Route (a gateway)', async () => {
    const gateway = await listeningStack({}, (rq) => gateway.send(makeResponse(rq, 200)));
    const client = await listeningStack();
    const rq = request('MESSAGE', 'tel:+1-201-555-0123', {
      route: [{ uri: { schema: 'sip', host: '127.0.0.1', port: portOf(gateway, 'UDP'), params: { lr: null }, headers: {} }, params: {} }],
    });
    expect((await sendAndWait(client, rq)).response.status).toBe(200);
  });

  test('the resolver is asked with the stack\'s protocols and families', async () => {
    let asked: unknown;
    const resolver: Resolver = {
      resolve: async (_uri, options) => {
        asked = options;
        return [];
      },
    };
    const client = await listeningStack({ resolver, tcp: false });
    await sendAndWait(client, request('OPTIONS', 'sip:x.example.com'));
    expect(asked).toEqual({ protocols: ['UDP'], families: [4] });
  });
});

describe('transaction outcomes', () => {
  test('no answer: 408 after 64*T1 (injected clock), retransmitting on UDP meanwhile', async () => {
    const clock = new ManualClock();
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const client = await listeningStack({ clock });
    const outcome = new Promise<number>((resolve) => client.send(request('OPTIONS', `sip:127.0.0.1:${port}`), (rs) => resolve(rs.status)));
    await peer.next();
    clock.advance(500); // Timer E: first retransmission
    await peer.next();
    clock.advance(32_000);
    expect(await outcome).toBe(408);
    await peer.close();
  });
});

describe('maxServerTransactions', () => {
  test('beyond the cap a new request is answered 503 with Retry-After', async () => {
    const held: SipRequest[] = [];
    const server = await listeningStack({ maxServerTransactions: 1 }, (rq) => {
      held.push(rq); // never answered: the transaction stays
    });
    const client = await listeningStack();
    client.send(request('INVITE', `sip:a@127.0.0.1:${portOf(server, 'UDP')}`));
    const { response } = await sendAndWait(client, request('MESSAGE', `sip:a@127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(held.map((r) => r.method)).toEqual(['INVITE']);
  });
});

describe('ringTimeLimit (sip option)', () => {
  test('an INVITE that only rings ends with 408 after ringTimeLimit, and the callee gets a CANCEL', async () => {
    const clock = new ManualClock();
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const client = await listeningStack({ clock, ringTimeLimit: 10_000 });
    const statuses: number[] = [];
    const done = new Promise<void>((resolve) =>
      client.send(request('INVITE', `sip:callee@127.0.0.1:${port}`), (rs) => {
        statuses.push(rs.status);
        if (rs.status >= 200) resolve();
      }),
    );
    const { message: invite } = await peer.next((m) => 'method' in m && m.method === 'INVITE');
    await peer.send(stringify(makeResponse(invite as SipRequest, 180, 'Ringing')), portOf(client, 'UDP'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(10_000);
    await done;
    expect(statuses).toEqual([180, 408]);
    const { message: cancel } = await peer.next((m) => 'method' in m && m.method === 'CANCEL');
    expect(cancel.headers.via?.[0]?.params.branch).toBe(invite.headers.via?.[0]?.params.branch);
    await peer.close();
  });
});

describe('RFC 3261 §18.1.1: large requests', () => {
  test('a request over 1300 bytes switches from UDP to TCP when TCP is enabled', async () => {
    let seen: Remote | undefined;
    const server = await listeningStack({}, (rq, remote) => {
      seen = remote;
      server.send(makeResponse(rq, 200));
    });
    const client = await listeningStack();
    const rq = { ...request('MESSAGE', `sip:127.0.0.1:${portOf(server, 'UDP')}`), content: 'x'.repeat(1400) };
    rq.headers['content-type'] = 'text/plain';
    const { response } = await sendAndWait(client, rq);
    expect(response.status).toBe(200);
    expect(seen?.protocol).toBe('TCP');
    expect(rq.headers.via?.[0]?.protocol).toBe('TCP');
  });

  test('a small request stays on UDP; without TCP a large one goes over UDP anyway', async () => {
    const protocols: string[] = [];
    const server = await listeningStack({}, (rq, remote) => {
      protocols.push(remote.protocol);
      server.send(makeResponse(rq, 200));
    });
    const client = await listeningStack({ tcp: false });
    await sendAndWait(client, request('MESSAGE', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    const big = { ...request('MESSAGE', `sip:127.0.0.1:${portOf(server, 'UDP')}`), content: 'y'.repeat(1400) };
    await sendAndWait(client, big);
    expect(protocols).toEqual(['UDP', 'UDP']);
  });
});

describe('flows and our own address', () => {
  test('a flow URI routes a request back over the connection the REGISTER came in on', async () => {
    let flow: Remote | undefined;
    const registrar = await listeningStack({}, (rq, remote) => {
      flow = remote;
      registrar.send(makeResponse(rq, 200));
    });
    const client = await listeningStack();
    await sendAndWait(client, request('REGISTER', `sip:127.0.0.1:${portOf(registrar, 'TCP')};transport=tcp`));
    expect(flow?.protocol).toBe('TCP');
    const flowUri = registrar.encodeFlowUri(flow!);
    expect(registrar.isFlowUri(flowUri)).toBe(true);
    expect(registrar.decodeFlowUri(flowUri)).toEqual({ protocol: 'TCP', address: flow!.address, port: flow!.port, local: flow!.local });

    const arrives = nextRequest(client, (rq) => rq.method === 'OPTIONS');
    client.on('request', (rq) => client.send(makeResponse(rq, 200)));
    const { response } = await sendAndWait(registrar, request('OPTIONS', flowUri as unknown as string));
    const { remote } = await arrives;
    expect(response.status).toBe(200);
    // The registrar used the accepted connection: the client sees the registrar's listening port.
    expect(remote).toMatchObject({ protocol: 'TCP', port: portOf(registrar, 'TCP') });
  });

  test('a flow URI in the top Route is consumed and the request goes over the flow', async () => {
    let flow: Remote | undefined;
    const registrar = await listeningStack({}, (rq, remote) => {
      flow = remote;
      registrar.send(makeResponse(rq, 200));
    });
    const client = await listeningStack();
    client.on('request', (rq) => client.send(makeResponse(rq, 200)));
    await sendAndWait(client, request('REGISTER', `sip:127.0.0.1:${portOf(registrar, 'TCP')};transport=tcp`));
    const route = registrar.encodeFlowUri(flow!);
    route.params.lr = null;
    const arrives = nextRequest(client, (rq) => rq.method === 'MESSAGE');
    registrar.send(request('MESSAGE', 'sip:user@unresolvable.invalid', { route: [{ uri: route, params: {} }] }));
    const { request: got } = await arrives;
    expect(got.headers.route).toBeUndefined();
  });

  test('a flow that is gone answers 430 Flow Failed (RFC 5626)', async () => {
    let flow: Remote | undefined;
    const registrar = await listeningStack({}, (rq, remote) => {
      flow = remote;
      registrar.send(makeResponse(rq, 200));
    });
    const client = await listeningStack();
    await sendAndWait(client, request('REGISTER', `sip:127.0.0.1:${portOf(registrar, 'TCP')};transport=tcp`));
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { response } = await sendAndWait(registrar, request('OPTIONS', registrar.encodeFlowUri(flow!) as unknown as string));
    expect(response.status).toBe(430);
  });

  test('a request to our own address but another port is sent there, not taken for a flow token', async () => {
    const other = await listeningStack({}, (rq) => other.send(makeResponse(rq, 200)));
    const stack = await listeningStack();
    const { response } = await sendAndWait(stack, request('OPTIONS', `sip:user@127.0.0.1:${portOf(other, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(stack.isFlowUri(`sip:user@127.0.0.1:${portOf(other, 'UDP')}`)).toBe(false);
  });

  test('a forged or foreign flow token is not a flow', async () => {
    const a = await listeningStack();
    const b = await listeningStack();
    const flow = { protocol: 'TCP', address: '127.0.0.1', port: 1, local: { address: '127.0.0.1', port: 2 } };
    const foreign = b.encodeFlowUri(flow);
    foreign.port = portOf(a, 'UDP');
    expect(a.decodeFlowUri(foreign)).toBeUndefined();
    expect(a.isFlowUri(`sip:garbage@127.0.0.1:${portOf(a, 'UDP')}`)).toBe(false);
    expect(a.isFlowUri(a.encodeFlowUri(flow))).toBe(true);
  });

  test('a shared flowSecret lets another instance decode a flow URI', async () => {
    const a = await listeningStack({ flowSecret: 'cluster' });
    const b = await listeningStack({ flowSecret: 'cluster' });
    const flow = { protocol: 'TCP', address: '127.0.0.1', port: 1, local: { address: '127.0.0.1', port: 2 } };
    const uri = a.encodeFlowUri(flow);
    expect(b.decodeFlowUri(uri)).toEqual(flow);
  });

  test('a Route naming this stack (loose) is removed and the next hop used', async () => {
    const target = await listeningStack({}, (rq) => target.send(makeResponse(rq, 200)));
    const stack = await listeningStack();
    const rq = request('OPTIONS', `sip:127.0.0.1:${portOf(target, 'UDP')}`, {
      route: [{ uri: { schema: 'sip', host: '127.0.0.1', port: 0, params: { lr: null }, headers: {} }, params: {} }],
    });
    (rq.headers.route as Array<{ uri: { port?: number } }>)[0]!.uri.port = portOf(stack, 'UDP');
    const arrives = nextRequest(target);
    const { response } = await sendAndWait(stack, rq);
    expect(response.status).toBe(200);
    expect((await arrives).request.headers.route).toBeUndefined();
  });

  test('a strict router (no lr) gets the Request-URI and the old one goes last in Route (RFC 3261 §16.6)', async () => {
    const strict = await listeningStack({}, (rq) => strict.send(makeResponse(rq, 200)));
    const stack = await listeningStack();
    const arrives = nextRequest(strict);
    const rq = request('OPTIONS', 'sip:final@192.0.2.1', {
      route: [{ uri: { schema: 'sip', host: '127.0.0.1', port: portOf(strict, 'UDP'), params: {}, headers: {} }, params: {} }],
    });
    await sendAndWait(stack, rq);
    const { request: got } = await arrives;
    expect(String(got.uri)).toBe(`sip:127.0.0.1:${portOf(strict, 'UDP')}`);
    expect(got.headers.route?.map((r) => r.uri.host)).toEqual(['192.0.2.1']);
  });
});

describe('IPv6', () => {
  test('a stack on ::1 talks to sip:[::1]:port with a bracketed Via', async () => {
    let remote: Remote | undefined;
    const server = create({ address: '::1', port: 0 }, (rq, r) => {
      remote = r;
      server.send(makeResponse(rq, 200));
    });
    const client = create({ address: '::1', port: 0 });
    try {
      await Promise.all([server.ready(), client.ready()]);
      const rq = request('OPTIONS', `sip:[::1]:${portOf(server, 'UDP')}`);
      const { response } = await sendAndWait(client, rq);
      expect(response.status).toBe(200);
      expect(rq.headers.via?.[0]?.host).toBe('[::1]');
      expect(remote?.address).toBe('::1');
    } finally {
      await Promise.all([server.close(), client.close()]);
    }
  });
});

describe('lifecycle', () => {
  test('close() releases the ports: the UDP and TCP ports it held can be bound again at once', async () => {
    // With port 0 the TCP port may differ from the UDP one (another process may hold the UDP
    // number for TCP), so each port is re-bound on its own rather than through a second stack.
    const first = create({ address: '127.0.0.1', port: 0 });
    await first.ready();
    const udpPort = portOf(first, 'UDP');
    const tcpPort = portOf(first, 'TCP');
    await first.close();
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(udpPort, '127.0.0.1', () => resolve());
    });
    expect(udp.address().port).toBe(udpPort);
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(tcpPort, '127.0.0.1', () => resolve());
    });
    expect(tcp.address()).toMatchObject({ port: tcpPort });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });

  test('a port in use rejects ready() with ERR_LISTEN and reports through logger.error', async () => {
    const first = await listeningStack();
    const errors: unknown[] = [];
    const second = create({ address: '127.0.0.1', port: portOf(first, 'UDP'), logger: { error: (e) => errors.push(e) } });
    await expect(second.ready()).rejects.toMatchObject({ code: 'ERR_LISTEN' });
    expect(errors).toHaveLength(1);
  });

  test('requests pending at close() are rejected with ERR_STOPPED', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const stack = await listeningStack();
    const pending = stack.request(request('OPTIONS', `sip:127.0.0.1:${port}`));
    await peer.next();
    await stack.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_STOPPED' });
    expect(() => stack.send(request('OPTIONS', `sip:127.0.0.1:${port}`))).toThrow(/destroyed/);
    await peer.close();
  });
});


describe('strict routing details (RFC 3261 §12.2.1.1, §19.1.1)', () => {
  test('the strict router URI loses its method parameter and headers in the Request-URI', async () => {
    const strict = await listeningStack({}, (rq) => strict.send(makeResponse(rq, 200)));
    const stack = await listeningStack();
    const arrives = nextRequest(strict);
    const rq = request('OPTIONS', 'sip:final@192.0.2.1', {
      route: [{ uri: { schema: 'sip', host: '127.0.0.1', port: portOf(strict, 'UDP'), params: { method: 'INVITE', foo: 'bar' }, headers: { subject: 'x' } }, params: {} }],
    });
    await sendAndWait(stack, rq);
    const { request: got } = await arrives;
    expect(String(got.uri)).toBe(`sip:127.0.0.1:${portOf(strict, 'UDP')};foo=bar`);
  });

  test('stack.timers names the clock and timer values the transactions use', async () => {
    const stack = await listeningStack({ t1: 100, t2: 800 });
    expect(stack.timers).toMatchObject({ t1: 100, t2: 800, t4: 5000 });
    expect(typeof stack.timers.clock.now()).toBe('number');
  });
});

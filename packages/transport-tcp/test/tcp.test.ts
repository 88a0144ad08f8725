import type { Socket } from 'node:net';
import type { Transport } from '@sipts/transaction';
import type { Remote, SipRequest } from '@sipts/message';
import { DEFAULT_MESSAGE_LIMITS } from '@sipts/message';
import {
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_EVICT_AFTER,
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
  DEFAULT_MAX_PENDING_BYTES,
  StreamTransportError,
  TcpTransport,
  createTcpTransport,
  isStreamTransportError,
} from '@sipts/transport-tcp';
import type { TcpTransportOptions, TransportLogger } from '@sipts/transport-tcp';
import {
  callIdOf,
  closed,
  collect,
  freePort,
  hasIpv6Loopback,
  nextEvent,
  nextMessage,
  rawConnect,
  readToEnd,
  readUntil,
  requestText,
  responseText,
} from './helpers.js';

const transports: TcpTransport[] = [];
const sockets: Socket[] = [];

function tcp(options: TcpTransportOptions = {}): TcpTransport {
  const t = new TcpTransport({ port: 0, address: '127.0.0.1', ...options });
  transports.push(t);
  return t;
}

async function raw(port: number, host?: string): Promise<Socket> {
  const s = await rawConnect(port, host);
  sockets.push(s);
  return s;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

describe('TcpTransport shape and options', () => {
  test('satisfies the Transport interface of @sipts/transaction', () => {
    const t = createTcpTransport({ port: 0 }) satisfies Transport;
    expect(t.protocol).toBe('TCP');
    expect(t.reliable).toBe(true);
    expect(t.address()).toBeUndefined();
  });

  test('defaults as in sip, and maxBytesHeaders is read as maxHeaderBytes', () => {
    const t = new TcpTransport();
    // The limits are message's one definition.
    expect(t.limits).toBe(DEFAULT_MESSAGE_LIMITS);
    expect(t.maxHeaderBytes).toBe(60480);
    expect(t.maxContentLength).toBe(604800);
    expect(t.idleTimeout).toBe(DEFAULT_IDLE_TIMEOUT);
    expect(DEFAULT_IDLE_TIMEOUT).toBe(120_000);
    expect(t.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
    expect([t.headerTimeout, t.bodyTimeout, t.evictAfter]).toEqual([DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT, DEFAULT_EVICT_AFTER]);
    expect([DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT, DEFAULT_EVICT_AFTER]).toEqual([20_000, 20_000, 5_000]);
    expect(t.maxConnectionsPerSource).toBe(DEFAULT_MAX_CONNECTIONS_PER_SOURCE);
    expect(DEFAULT_MAX_CONNECTIONS_PER_SOURCE).toBe(64);
    expect(t.maxPendingBytes).toBe(DEFAULT_MAX_PENDING_BYTES);
    expect(DEFAULT_MAX_PENDING_BYTES).toBe(64 * 1024 * 1024);
    expect(new TcpTransport({ maxBytesHeaders: 1000 }).maxHeaderBytes).toBe(1000);
    expect(new TcpTransport({ maxBytesHeaders: 1000, maxHeaderBytes: 2000 }).maxHeaderBytes).toBe(2000);
  });

  test('every unusable option throws ERR_INVALID_OPTION from the package error family', () => {
    const bad: TcpTransportOptions[] = [
      { idleTimeout: -1 },
      { connectTimeout: 1.5 },
      { headerTimeout: Number.NaN },
      { bodyTimeout: 2 ** 31 },
      { evictAfter: -5 },
      { maxConnections: -1 },
      { maxConnectionsPerSource: 0.5 },
      { maxBufferedBytes: Infinity },
      { maxPendingBytes: -1 },
      { maxHeaderBytes: 0 },
      { maxBytesHeaders: -10 },
      { maxContentLength: -1 },
      { port: 70000 },
      { port: -1 },
      { address: 5 as unknown as string },
      { logger: 'console' as unknown as TransportLogger },
      { logger: { error: 'no' } as unknown as TransportLogger },
    ];
    for (const options of bad) {
      let thrown: unknown;
      try {
        new TcpTransport(options);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(StreamTransportError);
      expect(isStreamTransportError(thrown)).toBe(true);
      expect((thrown as StreamTransportError).code).toBe('ERR_INVALID_OPTION');
      expect((thrown as Error).message).toMatch(/^options\./);
    }
    // 0 is a valid value where it means "off" or "any port".
    expect(() => new TcpTransport({ port: 0, idleTimeout: 0, headerTimeout: 0, bodyTimeout: 0, maxConnections: 0, maxConnectionsPerSource: 0, maxPendingBytes: 0, maxContentLength: 0 })).not.toThrow();
  });

  test('port 0 picks a free port, readable with address() after listen()', async () => {
    const t = tcp();
    const bound = await t.listen();
    expect(bound.port).toBeGreaterThan(0);
    expect(bound).toEqual({ address: '127.0.0.1', port: bound.port, family: 'IPv4' });
    expect(t.address()).toEqual(bound);
    expect(await t.listen()).toBe(bound);
  });

  test('listening on a port in use rejects with ERR_LISTEN / EADDRINUSE', async () => {
    const a = tcp();
    const { port } = await a.listen();
    const b = tcp({ port });
    const error = await b.listen().catch((e: unknown) => e);
    expect(isStreamTransportError(error)).toBe(true);
    expect(error).toBeInstanceOf(StreamTransportError);
    expect(error).toMatchObject({ code: 'ERR_LISTEN', osCode: 'EADDRINUSE' });
  });
});

describe('TcpTransport send and receive', () => {
  test('a request one way and the response back on the same connection, 127.0.0.1', async () => {
    const server = tcp();
    const client = tcp();
    const { port } = await server.listen();
    const opened = nextEvent<[Remote]>(server, 'connectionOpen');
    const received = nextMessage(server);
    await client.send(requestText({ callId: 'c1', body: 'héllo' }), { protocol: 'TCP', address: '127.0.0.1', port });
    const [request, remote] = await received;
    expect((request as SipRequest).method).toBe('OPTIONS');
    expect(request.content).toBe('héllo');
    expect(remote.protocol).toBe('TCP');
    expect(remote.address).toBe('127.0.0.1');
    expect(remote.local).toEqual({ address: '127.0.0.1', port });
    expect(await opened).toEqual([remote]);
    // RFC 3261 §18.2.1: sent-by is a name, so received is added.
    expect(request.headers.via?.[0]?.params['received']).toBe('127.0.0.1');
    expect(request.headers.via?.[0]?.params).not.toHaveProperty('rport');

    const [clientFlow] = client.flows();
    expect(clientFlow).toEqual({ protocol: 'TCP', address: '127.0.0.1', port, local: { address: '127.0.0.1', port: remote.port } });

    const answered = nextMessage(client);
    await server.send(responseText('c1'), remote);
    const [response, from] = await answered;
    expect('status' in response && response.status).toBe(200);
    expect(from).toEqual(clientFlow);
    // Responses reuse the inbound connection: still one connection on each side.
    expect(server.connectionCount).toBe(1);
    expect(client.connectionCount).toBe(1);
  });

  test('IPv6 [::1]: bracketed target, both directions', async () => {
    if (!(await hasIpv6Loopback())) {
      console.warn('skipped: no IPv6 loopback on this machine');
      return;
    }
    const server = tcp({ address: '::1' });
    const client = tcp({ address: '::1' });
    const { port, family, address } = await server.listen();
    expect({ family, address }).toEqual({ family: 'IPv6', address: '::1' });
    const received = nextMessage(server);
    await client.send(requestText({ callId: 'v6', via: 'SIP/2.0/TCP [::1]:5099;branch=z9hG4bK6;rport' }), {
      protocol: 'TCP',
      address: '[::1]',
      port,
    });
    const [request, remote] = await received;
    expect(remote).toMatchObject({ protocol: 'TCP', address: '::1', local: { address: '::1', port } });
    // RFC 3581: rport asked, so rport and received are filled in even for a matching host.
    expect(request.headers.via?.[0]?.params).toMatchObject({ rport: String(remote.port), received: '::1' });
    const answered = nextMessage(client);
    await server.send(responseText('v6'), { ...remote, address: `[${remote.address}]` });
    const [response, from] = await answered;
    expect(callIdOf(response)).toBe('v6');
    expect(from.address).toBe('::1');
  });

  test('dual stack: a server on :: sees an IPv4 peer by its plain IPv4 address', async () => {
    if (!(await hasIpv6Loopback())) {
      console.warn('skipped: no IPv6 loopback on this machine');
      return;
    }
    const server = new TcpTransport({ port: 0 });
    transports.push(server);
    const { port } = await server.listen();
    const client = tcp();
    const received = nextMessage(server);
    await client.send(requestText({ callId: 'dual' }), { protocol: 'TCP', address: '127.0.0.1', port });
    const [, remote] = await received;
    expect(remote.address).toBe('127.0.0.1');
    expect(remote.local?.address).toBe('127.0.0.1');
    const answered = nextMessage(client);
    await server.send(responseText('dual'), remote);
    expect(callIdOf((await answered)[0])).toBe('dual');
  });

  test('rport and received per RFC 3581 and RFC 3261 §18.2.1', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const got = collect(server);
    const s = await raw(port);
    s.write(requestText({ callId: 'r1', via: 'SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1' }));
    s.write(requestText({ callId: 'r2', via: 'SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK2;rport' }));
    s.write(requestText({ callId: 'r3', via: 'SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bK3' }));
    while (got.length < 3) await nextMessage(server);
    const params = got.map(([m]) => m.headers.via?.[0]?.params);
    expect(params[0]).not.toHaveProperty('received');
    expect(params[1]).toMatchObject({ rport: String(s.localPort), received: '127.0.0.1' });
    expect(params[2]).toMatchObject({ received: '127.0.0.1' });
    // Responses are not stamped.
    const client = tcp();
    const resp = nextMessage(client);
    const fromServer = nextMessage(server);
    await client.send(requestText({ callId: 'r4' }), { protocol: 'TCP', address: '127.0.0.1', port });
    const [, remote] = await fromServer;
    await server.send(responseText('r4'), remote);
    expect((await resp)[0].headers.via?.[0]?.params).not.toHaveProperty('received');
  });

  test('responses and new requests towards a peer reuse its inbound connection', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    const received = nextMessage(server);
    s.write(requestText({ callId: 'reuse' }));
    const [, remote] = await received;
    expect(remote.port).toBe(s.localPort);
    const reply = readUntil(s, (t) => t.includes('Call-ID: reuse') && t.includes('Call-ID: back'));
    await server.send(responseText('reuse'), remote);
    // No `local`: the connection to address:port is reused (RFC 5923 style), not a new one.
    await server.send(requestText({ callId: 'back' }), { protocol: 'TCP', address: '127.0.0.1', port: remote.port });
    expect(await reply).toMatch(/^SIP\/2\.0 200 OK/);
    expect(server.connectionCount).toBe(1);
  });

  test('sends made while connecting wait for the connection, in order, on one connection', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const client = tcp();
    const got = collect(server);
    const target = { protocol: 'TCP', address: '127.0.0.1', port };
    await Promise.all([1, 2, 3, 4, 5].map((i) => client.send(requestText({ callId: `q${i}` }), target)));
    while (got.length < 5) await nextMessage(server);
    expect(got.map(([m]) => callIdOf(m))).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
    expect(server.connectionCount).toBe(1);
    expect(client.connectionCount).toBe(1);
  });

  test('a connection being closed is not reused: the next send opens a new one', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const client = tcp();
    const got = collect(server);
    const target = { protocol: 'TCP', address: '127.0.0.1', port };
    await client.send(requestText({ callId: 'first' }), target);
    const [flow] = client.flows();
    expect(client.closeFlow(flow!)).toBe(true);
    // Same tick: the old socket is destroyed but its 'close' has not been emitted yet.
    await client.send(requestText({ callId: 'second' }), target);
    while (got.length < 2) await nextMessage(server);
    expect(got.map(([m]) => callIdOf(m))).toEqual(['first', 'second']);
    expect(got[0]?.[1].port).not.toBe(got[1]?.[1].port);
  });

  test('connectionOpen and connectionClose name the flow on both sides', async () => {
    const server = tcp();
    const client = tcp();
    const { port } = await server.listen();
    const serverOpen = nextEvent<[Remote]>(server, 'connectionOpen');
    const clientOpen = nextEvent<[Remote]>(client, 'connectionOpen');
    await client.send(requestText({ callId: 'ev' }), { protocol: 'TCP', address: '127.0.0.1', port });
    const [[sRemote], [cRemote]] = await Promise.all([serverOpen, clientOpen]);
    expect(cRemote).toEqual({ protocol: 'TCP', address: '127.0.0.1', port, local: { address: '127.0.0.1', port: sRemote.port } });
    expect(sRemote.local).toEqual({ address: '127.0.0.1', port });
    const serverClose = nextEvent<[Remote]>(server, 'connectionClose');
    const clientClose = nextEvent<[Remote]>(client, 'connectionClose');
    expect(client.closeFlow(cRemote)).toBe(true);
    expect(await serverClose).toEqual([sRemote]);
    expect(await clientClose).toEqual([cRemote]);
    expect(server.connectionCount).toBe(0);
  });

  test('logger hook sees send, recv and error', async () => {
    const log: string[] = [];
    const logger: TransportLogger = {
      send: (data, target) => log.push(`send ${target.port} ${String(data).slice(0, 7)}`),
      recv: (m, remote) => log.push(`recv ${remote.protocol} ${callIdOf(m) ?? ''}`),
      error: (e) => log.push(`error ${(e as StreamTransportError).code}`),
    };
    const server = tcp({ logger });
    const { port } = await server.listen();
    const client = tcp();
    const received = nextMessage(server);
    await client.send(requestText({ callId: 'log' }), { protocol: 'TCP', address: '127.0.0.1', port });
    const [, remote] = await received;
    await server.send(responseText('log'), remote);
    await server.send('x', { ...remote, local: { address: '127.0.0.1', port: 1 } }).catch(() => undefined);
    const s = await raw(port);
    s.write('garbage\r\n\r\n');
    await closed(s);
    expect(log).toEqual([`recv TCP log`, `send ${remote.port} SIP/2.0`, 'error ERR_FRAMING']);
  });
});

describe('TcpTransport errors', () => {
  test('ECONNREFUSED rejects the send with ERR_CONNECT_FAILED, and the next send may retry', async () => {
    const port = await freePort();
    const client = tcp();
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const error = await client.send(requestText({ callId: 'x' }), { protocol: 'TCP', address: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamTransportError);
    expect(error).toMatchObject({ code: 'ERR_CONNECT_FAILED', osCode: 'ECONNREFUSED', remote: { address: '127.0.0.1', port } });
    expect(client.connectionCount).toBe(0);
    // The failure went to the caller, not to 'error' as well.
    expect(errors).toEqual([]);
    const again = await client.send('x', { protocol: 'TCP', address: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'ERR_CONNECT_FAILED' });
  });

  test('a send to a flow that no longer exists rejects with ERR_FLOW_GONE', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    const received = nextMessage(server);
    s.write(requestText({ callId: 'gone' }));
    const [, remote] = await received;
    const gone = nextEvent<[Remote]>(server, 'connectionClose');
    s.destroy();
    await gone;
    expect(server.hasFlow(remote)).toBe(false);
    await expect(server.send(responseText('gone'), remote)).rejects.toMatchObject({ code: 'ERR_FLOW_GONE' });
  });

  test('invalid targets and sends after close() reject with codes', async () => {
    const client = tcp();
    await expect(client.send('x', { protocol: 'TCP', address: '', port: 5060 })).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET' });
    await expect(client.send('x', { protocol: 'TCP', address: '127.0.0.1', port: 70000 })).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET' });
    await client.close();
    await expect(client.send('x', { protocol: 'TCP', address: '127.0.0.1', port: 5060 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    await expect(client.listen()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
  });

  test('close() rejects sends still waiting, closes every connection and the server', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const client = tcp();
    const received = nextMessage(server);
    await client.send(requestText({ callId: 'c' }), { protocol: 'TCP', address: '127.0.0.1', port });
    await received;
    const closes: Remote[] = [];
    server.on('connectionClose', (r) => closes.push(r));
    // A second, unreachable target: its send is still connecting when close() runs.
    const pending = client.send('x', { protocol: 'TCP', address: '127.0.0.1', port: await freePort() });
    const clientClosed = client.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    await clientClosed;
    expect(client.connectionCount).toBe(0);
    await server.close();
    expect(server.connectionCount).toBe(0);
    expect(closes).toHaveLength(1);
    expect(server.address()).toBeUndefined();
  });

  test('write after the peer reset the connection rejects, never throws', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    const received = nextMessage(server);
    s.write(requestText({ callId: 'rst' }));
    const [, remote] = await received;
    s.resetAndDestroy();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => server.send(responseText('rst'), remote)),
    );
    // Whatever the timing, each send settles; the ones that failed carry a code.
    for (const r of results) {
      if (r.status === 'rejected') expect(['ERR_CONNECTION_CLOSED', 'ERR_FLOW_GONE']).toContain((r.reason as StreamTransportError).code);
    }
    await server.close();
  });

  test('the peer closing in the middle of a message is reported as ERR_CONNECTION_CLOSED', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const errors: StreamTransportError[] = [];
    server.on('error', (e) => errors.push(e as StreamTransportError));
    const s = await raw(port);
    const text = requestText({ callId: 'half', body: 'x'.repeat(100) });
    const closedOnServer = nextEvent(server, 'connectionClose');
    s.end(text.slice(0, text.length - 50));
    await closedOnServer;
    expect(errors.map((e) => e.code)).toEqual(['ERR_CONNECTION_CLOSED']);
  });

  test('a request missing Call-ID is answered 400 over TCP (RFC 3261 §21.4.1), then the connection closes', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const errors: StreamTransportError[] = [];
    server.on('error', (e) => errors.push(e as StreamTransportError));
    const got = collect(server);
    const s = await raw(port);
    const reply = readToEnd(s);
    const serverClosed = nextEvent(server, 'connectionClose');
    // The next request, pipelined behind it, is not delivered: the connection is done.
    s.write(requestText({ callId: 'bad' }).replace('Call-ID: bad\r\n', '') + requestText({ callId: 'next' }));
    const text = await reply;
    await serverClosed;
    expect(text).toMatch(/^SIP\/2\.0 400 Bad Request \(missing Call-ID\)\r\n/);
    expect(text).toContain('Via: SIP/2.0/TCP client.invalid:5060;branch=z9hG4bK-bad\r\n');
    expect(text).toMatch(/\r\nTo: <sip:bob@example\.com>;tag=[0-9a-f]+\r\n/);
    expect(text.match(/SIP\/2\.0 400/g)).toHaveLength(1);
    expect(got).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['ERR_INVALID_MESSAGE']);
    expect(server.stats()).toMatchObject({ invalidMessages: 1, badRequests: 1, received: 0 });
    expect(server.connectionCount).toBe(0);
  });

  test('a header that does not parse, in a message of known length: 400, then close', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const errors: StreamTransportError[] = [];
    server.on('error', (e) => errors.push(e as StreamTransportError));
    const s = await raw(port);
    const reply = readToEnd(s);
    s.write(requestText({ callId: 'bad2', body: 'abc' }).replace('CSeq: 1 OPTIONS', 'CSeq: one OPTIONS'));
    expect(await reply).toMatch(/^SIP\/2\.0 400 /);
    expect(errors.map((e) => e.code)).toEqual(['ERR_INVALID_MESSAGE']);
  });

  test('a bad response, or an ACK, gets no reply; the connection still closes', async () => {
    const server = tcp();
    const { port } = await server.listen();
    server.on('error', () => undefined);
    for (const text of [responseText('r').replace('CSeq: 1 OPTIONS\r\n', ''), requestText({ callId: 'ack', method: 'ACK' }).replace('Call-ID: ack\r\n', '')]) {
      const s = await raw(port);
      const reply = readToEnd(s);
      s.write(text);
      expect(await reply).toBe('');
    }
    expect(server.stats()).toMatchObject({ invalidMessages: 2, badRequests: 0 });
  });

  test('an error with no "error" listener is not thrown', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    const serverClosed = nextEvent(server, 'connectionClose');
    s.write('NOT SIP AT ALL\r\n\r\n');
    await closed(s);
    await serverClosed;
    expect(server.connectionCount).toBe(0);
  });

  test('ERR_BUFFER_FULL when a peer does not read', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const client = tcp({ maxBufferedBytes: 0 });
    const target = { protocol: 'TCP', address: '127.0.0.1', port };
    // While connecting, the first send waits in the socket buffer; the second finds it full.
    const first = client.send(requestText({ callId: 'b1' }), target);
    await expect(client.send(requestText({ callId: 'b2' }), target)).rejects.toMatchObject({ code: 'ERR_BUFFER_FULL' });
    await first;
  });
});


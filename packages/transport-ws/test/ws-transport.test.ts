import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, get as httpGet, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { Transport } from '@sipts/transaction';
import type { SipRequest, SipResponse } from '@sipts/message';
import { WsTransport, WsTransportError, createWsTransport, isWsTransportError, type WsTarget } from '@sipts/transport-ws';
import { client, closeTracked, nextEvent, nextMessage, rawClient, rejection, request, response, selfSignedCertificate, server, track } from './helpers.js';

afterEach(closeTracked);

/** The HTTP status of a refused handshake. */
async function refusedStatus(url: string, protocols?: string | string[]): Promise<number> {
  try {
    const c = await rawClient(url, protocols);
    await c.close();
  } catch (error) {
    const match = /Unexpected server response: (\d+)/.exec(String((error as Error).message));
    if (match) return Number(match[1]);
    throw error;
  }
  throw new Error('the handshake succeeded');
}

let hasIPv6 = true;
beforeAll(async () => {
  const probe = createNetServer();
  hasIPv6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
});

describe('WsTransport shape and lifecycle', () => {
  it('satisfies the Transport interface of @sipts/transaction by shape', () => {
    const ws = new WsTransport() satisfies Transport;
    expect(ws.protocol).toBe('WS');
    expect(ws.reliable).toBe(true);
    expect(createWsTransport({ tls: {} }).protocol).toBe('WSS');
  });

  it('listens on port 0 and reports the bound address; close() releases the port', async () => {
    const transport = new WsTransport({ ws_port: 0, address: '127.0.0.1' });
    expect(transport.address()).toBeUndefined();
    const bound = await transport.listen();
    expect(bound).toEqual({ address: '127.0.0.1', port: bound.port, family: 'IPv4' });
    expect(bound.port).toBeGreaterThan(0);
    await transport.close();
    await transport.close();
    expect(transport.address()).toBeUndefined();
    // Nothing listens any more.
    await expect(rawClient(`ws://127.0.0.1:${bound.port}/`, 'sip')).rejects.toThrow(/ECONNREFUSED/);
    expect((await rejection(transport.send(request(), { protocol: 'WS', address: '127.0.0.1', port: bound.port }))).code).toBe('ERR_TRANSPORT_CLOSED');
    expect((await rejection(transport.listen())).code).toBe('ERR_TRANSPORT_CLOSED');
  });

  it('a close() during listen() wins and leaves nothing listening', async () => {
    const transport = new WsTransport({ ws_port: 0, address: '127.0.0.1' });
    const listening = transport.listen();
    await transport.close();
    expect((await rejection(listening)).code).toBe('ERR_TRANSPORT_CLOSED');
    expect(transport.address()).toBeUndefined();
  });

  it('rejects a busy port with ERR_LISTEN', async () => {
    const first = await server();
    const second = track(new WsTransport({ ws_port: first.port, address: '127.0.0.1' }));
    const error = await rejection(second.listen());
    expect(error.code).toBe('ERR_LISTEN');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(error.osCode).toBe('EADDRINUSE');
  });

  it('brands its errors', () => {
    const error = new WsTransportError('ERR_FLOW_GONE', 'gone');
    expect(error).toBeInstanceOf(WsTransportError);
    expect({ [Symbol.for('@sipts/transport-ws.WsTransportError')]: true } instanceof WsTransportError).toBe(true);
    expect(isWsTransportError(new Error('x'))).toBe(false);
  });
});

describe('accepting connections (RFC 7118 §4)', () => {
  it('refuses an upgrade without the sip subprotocol', async () => {
    const { transport, url } = await server();
    const onOpen = jest.fn();
    transport.on('connectionOpen', onOpen);
    expect(await refusedStatus(url)).toBe(400);
    expect(await refusedStatus(url, 'chat')).toBe(400);
    expect(await refusedStatus(url, ['chat', 'superchat'])).toBe(400);
    expect(onOpen).not.toHaveBeenCalled();
    expect(transport.stats().refusedUpgrades).toBe(3);
  });

  it('accepts sip among other subprotocols and selects sip', async () => {
    const { url } = await server();
    const c = await client(url, ['chat', 'sip']);
    expect(c.ws.protocol).toBe('sip');
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const { port } = await server();
    const status = await new Promise<number>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(426);
  });

  it('accepts upgrades on the configured path only', async () => {
    const { port } = await server({ path: '/sip' });
    expect(await refusedStatus(`ws://127.0.0.1:${port}/other`, 'sip')).toBe(404);
    const c = await client(`ws://127.0.0.1:${port}/sip?token=1`);
    expect(c.ws.protocol).toBe('sip');
  });

  it('refuses connections over maxConnections with 503', async () => {
    const { transport, url } = await server({ maxConnections: 1 });
    await client(url);
    expect(await refusedStatus(url, 'sip')).toBe(503);
    expect(transport.stats()).toMatchObject({ refusedUpgrades: 1, connectionLimit: 1 });
  });

  it('delivers one message per frame with the flow as remote, stamping received and rport', async () => {
    const { transport, port, url } = await server();
    const opened = nextEvent(transport, 'connectionOpen');
    const c = await client(url);
    const openRemote = await opened;
    const localPort = (c.ws as unknown as { _socket: Socket })._socket.localPort;
    expect(openRemote).toEqual({ protocol: 'WS', address: '127.0.0.1', port: localPort, local: { address: '127.0.0.1', port } });

    const received = nextMessage(transport);
    c.ws.send(request({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;rport;branch=z9hG4bKasudf' }));
    const { message, remote } = await received;
    expect((message as SipRequest).method).toBe('REGISTER');
    expect(remote).toEqual(openRemote);
    const via = message.headers.via?.[0];
    expect(via?.params.received).toBe('127.0.0.1');
    expect(via?.params.rport).toBe(String(localPort));

    // Binary frames carry messages too.
    const again = nextMessage(transport);
    c.ws.send(Buffer.from(request({ callId: 'binary-frame' })), { binary: true });
    expect((await again).message.headers['call-id']).toBe('binary-frame');
  });

  it('answers on the flow: text frames, exactly the bytes given; the logger sees both ways', async () => {
    const logger = { send: jest.fn(), recv: jest.fn() };
    const { transport, url } = await server({ logger });
    const c = await client(url);
    const received = nextMessage(transport);
    c.ws.send(request());
    const { remote } = await received;
    await transport.send(response(), remote);
    const reply = await c.next();
    expect(reply.binary).toBe(false);
    expect(reply.data.toString('utf8')).toBe(response());
    expect(logger.recv).toHaveBeenCalledWith(expect.objectContaining({ method: 'REGISTER' }), remote);
    expect(logger.send).toHaveBeenCalledWith(response(), remote);
    // Bytes that are not UTF-8 cannot go in a text frame.
    const bytes = Buffer.concat([Buffer.from(response().replace('Content-Length: 0', 'Content-Length: 2')), Buffer.from([0xff, 0xfe])]);
    await transport.send(bytes, remote);
    const binary = await c.next();
    expect(binary.binary).toBe(true);
    expect(binary.data.equals(bytes)).toBe(true);
  });

  it('emits connectionClose and rejects sends to the gone flow with ERR_FLOW_GONE', async () => {
    const { transport, url } = await server();
    const opened = nextEvent(transport, 'connectionOpen');
    const c = await client(url);
    const remote = await opened;
    const closed = nextEvent(transport, 'connectionClose');
    await c.close();
    expect(await closed).toEqual(remote);
    expect(transport.connections()).toEqual([]);
    const error = await rejection(transport.send(response(), remote));
    expect(error.code).toBe('ERR_FLOW_GONE');
    expect(error.remote).toEqual(remote);
  });

  it('answers a malformed request with 400 on the flow and drops garbage', async () => {
    const logger = { error: jest.fn() };
    const { transport, url } = await server({ logger });
    const onMessage = jest.fn();
    transport.on('message', onMessage);
    const c = await client(url);
    c.ws.send('this is not SIP');
    c.ws.send(request({ method: 'INVITE', callId: null }));
    const reply = (await c.next()).data.toString('utf8');
    expect(reply).toMatch(/^SIP\/2\.0 400 /);
    expect(reply).toContain('\r\nCSeq: 1 INVITE\r\n');
    expect(reply).toMatch(/\r\nTo: <sip:alice@example\.com>;tag=[0-9a-f]+\r\n/);
    const good = nextMessage(transport);
    c.ws.send(request({ callId: 'good' }));
    expect((await good).message.headers['call-id']).toBe('good');
    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(transport.stats()).toMatchObject({ dropped: 1, badRequests: 1, received: 1 });
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }));
  });

  it('survives random binary frames and keeps the connection', async () => {
    const { transport, url } = await server();
    const c = await client(url);
    for (let i = 0; i < 100; i++) {
      const garbage = randomBytes(1 + ((i * 53) % 3000));
      garbage[0] = 0x7f; // not whitespace, not a request line
      c.ws.send(garbage, { binary: true });
    }
    const good = nextMessage(transport);
    c.ws.send(request({ callId: 'after-garbage' }));
    expect((await good).message.headers['call-id']).toBe('after-garbage');
    expect(transport.stats()).toMatchObject({ dropped: 100, received: 1 });
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('answers a CRLFCRLF keep-alive ping with CRLF (RFC 5626 §4.4.1)', async () => {
    const { transport, url } = await server();
    const c = await client(url);
    c.ws.send('\r\n\r\n');
    expect((await c.next()).data.toString()).toBe('\r\n');
    expect(transport.stats().keepAlives).toBe(1);
  });

  it('closes a connection whose frame exceeds maxBytesHeaders + maxContentLength (1009)', async () => {
    const { transport, url } = await server({ maxBytesHeaders: 1000, maxContentLength: 1000 });
    const c = await client(url);
    c.ws.send(request({ body: 'z'.repeat(1500) })); // about 1,800 bytes: fits
    c.ws.send(request({ body: 'z'.repeat(2500) })); // over 2,000
    expect(await c.closed).toBe(1009);
    expect(transport.stats()).toMatchObject({ oversizeFrames: 1, protocolErrors: 0 });
  });

  it('cuts a connection that stops answering pings and keeps the ones that answer', async () => {
    const { transport, url } = await server({ pingInterval: 100 });
    const live = await client(url);
    const deadOpened = nextEvent(transport, 'connectionOpen');
    const dead = track(await rawClient(url, 'sip', { autoPong: false }));
    const deadRemote = await deadOpened;
    const closed = nextEvent(transport, 'connectionClose');
    expect(await closed).toEqual(deadRemote);
    expect(await dead.closed).toBe(1006);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    expect(transport.connections()).toHaveLength(1);
    expect(transport.stats().pingTimeouts).toBe(1);
  });

  it('sends a close frame to clients and releases everything on close()', async () => {
    const transport = new WsTransport({ ws_port: 0, address: '127.0.0.1' });
    const { port } = await transport.listen();
    const c = await rawClient(`ws://127.0.0.1:${port}/`, 'sip');
    const closedEvent = nextEvent(transport, 'connectionClose');
    await transport.close();
    expect(await c.closed).toBe(1001);
    await closedEvent;
    expect(transport.connections()).toEqual([]);
  });
});

describe('outgoing connections and flow reuse', () => {
  it('connects to ws://address:port with the sip subprotocol, queues sends while connecting and reuses the flow both ways', async () => {
    const a = await server();
    const b = track(new WsTransport()); // no listen(): outgoing connections only
    const opensAtA = jest.fn();
    a.transport.on('connectionOpen', opensAtA);
    const messages: string[] = [];
    const three = new Promise<void>((resolve) => {
      a.transport.on('message', (message) => {
        messages.push(String(message.headers['call-id']));
        if (messages.length === 3) resolve();
      });
    });
    const target = { protocol: 'WS', address: '127.0.0.1', port: a.port };
    const bOpened = nextEvent(b, 'connectionOpen');
    // Three sends before the connection exists: one connection, order kept.
    await Promise.all([1, 2, 3].map((n) => b.send(request({ callId: `q${n}` }), target)));
    await three;
    expect(messages).toEqual(['q1', 'q2', 'q3']);
    expect(opensAtA).toHaveBeenCalledTimes(1);
    const bFlow = await bOpened;
    expect(bFlow).toMatchObject({ protocol: 'WS', address: '127.0.0.1', port: a.port, local: { address: '127.0.0.1' } });

    // A answers on the flow the request came in on; B sees it on its flow.
    const atA = nextMessage(a.transport);
    await b.send(request({ callId: 'q4' }), target);
    const { remote: flowAtA } = await atA;
    expect(flowAtA.port).toBe(bFlow.local?.port);
    const atB = nextMessage(b);
    await a.transport.send(response('q4'), flowAtA);
    const { message, remote } = await atB;
    expect((message as SipResponse).status).toBe(200);
    expect(remote).toEqual(bFlow);
    // A request from A to B's address and port reuses the same connection (RFC 5923 style).
    const back = nextMessage(b);
    await a.transport.send(request({ callId: 'from-a' }), { protocol: 'WS', address: '127.0.0.1', port: flowAtA.port });
    expect((await back).message.headers['call-id']).toBe('from-a');
    expect(opensAtA).toHaveBeenCalledTimes(1);
    expect(b.connections()).toEqual([bFlow]);
  });

  it('opens a new connection when the peer is closing the old one (its close frame arrived, the socket not yet closed)', async () => {
    // A hand-written WebSocket server: it completes the handshake, sends a close frame at once
    // and never closes the TCP connection, so our side stays CLOSING (RFC 6455 §7.1.2).
    const sockets: Socket[] = [];
    let closeReplies = 0;
    const onCloseReply: (() => void)[] = [];
    const peer: Server = createNetServer((socket) => {
      sockets.push(socket);
      let handshaken = false;
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!handshaken) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) return;
          const key = /sec-websocket-key: *(\S+)/i.exec(buffered.subarray(0, end).toString())?.[1] ?? '';
          const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: sip\r\n\r\n`);
          socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8])); // close, 1000
          handshaken = true;
          buffered = buffered.subarray(end + 4);
        }
        // Client frames are masked: 2 header bytes, extended length, 4 mask bytes, payload.
        for (;;) {
          if (buffered.length < 2) return;
          const len7 = (buffered[1] as number) & 0x7f;
          const header = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
          if (buffered.length < header) return;
          const length = len7 === 126 ? buffered.readUInt16BE(2) : len7 === 127 ? Number(buffered.readBigUInt64BE(2)) : len7;
          if (buffered.length < header + length) return;
          if (((buffered[0] as number) & 0x0f) === 0x08) {
            closeReplies++;
            onCloseReply.shift()?.();
          }
          buffered = buffered.subarray(header + length);
        }
      });
    }) as unknown as Server;
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', () => resolve()));
    track({ close: () => new Promise<void>((resolve) => { sockets.forEach((s) => s.destroy()); peer.close(() => resolve()); }) });
    const target = { protocol: 'WS', address: '127.0.0.1', port: (peer.address() as { port: number }).port };

    const b = track(new WsTransport({ closeTimeout: 100 }));
    const replied = new Promise<void>((resolve) => onCloseReply.push(resolve));
    await b.send(request({ callId: 'first' }), target);
    await replied; // our side answered the peer's close frame: it is CLOSING
    expect(b.connections()).toHaveLength(1);
    await b.send(request({ callId: 'second' }), target);
    expect(sockets).toHaveLength(2);
    expect(closeReplies).toBeGreaterThanOrEqual(1);
  });

  it('rejects queued sends with ERR_CONNECT_FAILED (ECONNREFUSED) when nothing listens', async () => {
    const probe = createNetServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const b = track(new WsTransport());
    const target = { protocol: 'WS', address: '127.0.0.1', port };
    const [first, second] = await Promise.all([rejection(b.send(request(), target)), rejection(b.send(request(), target))]);
    expect(first.code).toBe('ERR_CONNECT_FAILED');
    expect(first.osCode).toBe('ECONNREFUSED');
    expect(second.code).toBe('ERR_CONNECT_FAILED');
    expect(b.connections()).toEqual([]);
  });

  it('fails to connect when the server does not select the sip subprotocol', async () => {
    const plain = createHttpServer();
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ server: plain, handleProtocols: () => false });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
    track({ close: () => new Promise<void>((resolve) => { wss.close(); plain.close(() => resolve()); plain.closeAllConnections(); }) });
    const b = track(new WsTransport());
    const error = await rejection(b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: (plain.address() as { port: number }).port }));
    expect(error.code).toBe('ERR_CONNECT_FAILED');
    expect(error.message).toMatch(/subprotocol/);
  });

  it('gives up after connectTimeout and rejects queued sends on close() with ERR_TRANSPORT_CLOSED', async () => {
    // A TCP server that accepts and never answers the handshake.
    const sockets: Socket[] = [];
    const silent: Server = createNetServer((socket) => sockets.push(socket)) as unknown as Server;
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    track({ close: () => new Promise<void>((resolve) => { sockets.forEach((s) => s.destroy()); silent.close(() => resolve()); }) });
    const port = (silent.address() as { port: number }).port;
    const target = { protocol: 'WS', address: '127.0.0.1', port };

    const quick = track(new WsTransport({ connectTimeout: 50 }));
    expect((await rejection(quick.send(request(), target))).code).toBe('ERR_CONNECT_TIMEOUT');
    expect(quick.stats().connectTimeouts).toBe(1);

    const b = new WsTransport();
    const pending = rejection(b.send(request(), target));
    await b.close();
    expect((await pending).code).toBe('ERR_TRANSPORT_CLOSED');
  });

  it('refuses to open more than maxConnections outgoing connections', async () => {
    const a = await server();
    const b = track(new WsTransport({ maxConnections: 1 }));
    await b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: a.port });
    const error = await rejection(b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: a.port, url: `ws://localhost:${a.port}/other` }));
    expect(error.code).toBe('ERR_MAX_CONNECTIONS');
    expect(b.stats().connectionLimit).toBe(1);
  });

  it('rejects targets without a usable address or port', async () => {
    const b = track(new WsTransport());
    expect((await rejection(b.send(request(), { protocol: 'WS', address: 'x', port: 80, url: 'http://example.com/' }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(b.send(request(), { protocol: 'WS', address: '', port: 80 }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: 0 }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: 80, local: { address: '127.0.0.1', port: 1 } }))).code).toBe('ERR_FLOW_GONE');
    // From JavaScript, anything: a rejection, never a throw.
    expect((await rejection(b.send(request(), null as unknown as WsTarget))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(b.send(request(), { protocol: 'WS', port: 80 } as unknown as WsTarget))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(b.send(request(), { protocol: 'WS', address: '127.0.0.1', port: 80, local: {} } as unknown as WsTarget))).code).toBe('ERR_INVALID_TARGET');
  });

  it('attaches to an existing HTTP server and leaves it running on close()', async () => {
    const http = createHttpServer((_req, res) => res.end('web app'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    track({ close: () => new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); }) });
    const transport = new WsTransport({ server: http, path: '/sip' });
    const bound = await transport.listen();
    const received = nextMessage(transport);
    const c = await rawClient(`ws://127.0.0.1:${bound.port}/sip`, 'sip');
    c.ws.send(request());
    await received;
    await transport.close();
    expect(await c.closed).toBe(1001);
    expect(http.listening).toBe(true);
  });
});

describe('IPv6', () => {
  it('serves and connects over ::1 with bracketed targets', async () => {
    if (!hasIPv6) return;
    const a = await server({ address: '::1' });
    expect(a.transport.address()?.family).toBe('IPv6');
    const b = track(new WsTransport());
    const atA = nextMessage(a.transport);
    await b.send(request(), { protocol: 'WS', address: '[::1]', port: a.port });
    const { remote } = await atA;
    expect(remote).toMatchObject({ protocol: 'WS', address: '::1', local: { address: '::1', port: a.port } });
    const atB = nextMessage(b);
    await a.transport.send(response(), remote);
    expect((await atB).remote).toMatchObject({ address: '::1', port: a.port });
  });

  it('reports IPv4 peers of a dual-stack server with plain IPv4 addresses', async () => {
    const transport = track(new WsTransport({ ws_port: 0 }));
    const bound = await transport.listen();
    const received = nextMessage(transport);
    await client(`ws://127.0.0.1:${bound.port}/`).then((c) => c.ws.send(request()));
    const { remote, message } = await received;
    expect(remote.address).toBe('127.0.0.1');
    expect(remote.local?.address).toBe('127.0.0.1');
    expect(message.headers.via?.[0]?.params.received).toBe('127.0.0.1');
    await transport.send(response(), remote);
  });
});

describe('WSS', () => {
  const certificate = selfSignedCertificate();
  const maybe = certificate === undefined ? it.skip : it;

  maybe('round-trips over TLS with a generated certificate, by address and by URL with a host name', async () => {
    const { key, cert } = certificate as { key: string; cert: string };
    const a = await server({ tls: { key, cert } });
    expect(a.transport.protocol).toBe('WSS');
    expect(a.url.startsWith('wss://')).toBe(true);
    const b = track(new WsTransport({ tls: { ca: cert } }));
    expect(b.protocol).toBe('WSS');

    const atA = nextMessage(a.transport);
    await b.send(request({ callId: 'by-address' }), { protocol: 'WSS', address: '127.0.0.1', port: a.port });
    const { remote } = await atA;
    expect(remote.protocol).toBe('WSS');
    const atB = nextMessage(b);
    await a.transport.send(response('by-address'), remote);
    expect((await atB).remote.protocol).toBe('WSS');

    // A host name needs a URL: TLS checks the certificate against it.
    const byUrl = nextMessage(a.transport);
    await b.send(request({ callId: 'by-url' }), { protocol: 'WSS', address: 'localhost', port: a.port, url: `wss://localhost:${a.port}/` });
    expect((await byUrl).message.headers['call-id']).toBe('by-url');

    // A raw client that does not trust the certificate cannot connect.
    await expect(rawClient(a.url, 'sip')).rejects.toThrow(/self-signed|certificate/);
    const trusted = await client(a.url, 'sip', { ca: cert });
    expect(trusted.ws.protocol).toBe('sip');
  });
});

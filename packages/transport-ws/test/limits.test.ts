// The limits and defenses of README "Limits and defenses", one by one, on real sockets:
// the output buffer cap, option checks, a logger that throws, keep-alives, bad frames, queues.
import type { Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { WsTransport, isWsTransportError, type WsTransportOptions } from '@sipts/transport-ws';
import { client, closeTracked, nextEvent, nextMessage, rawClient, rejection, request, response, server, track } from './helpers.js';

afterEach(closeTracked);

/** A 200 OK carrying `size` bytes of body. */
function bigResponse(size: number): string {
  return response().replace('Content-Length: 0\r\n\r\n', `Content-Type: text/plain\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`);
}

/**
 * Send `message` on `remote` without waiting until the transport reports a buffer overflow (the
 * client does not read, so the kernel buffers fill, then `ws` buffers). Bounded: at most 64 MiB.
 */
function fillUntilOverflow(transport: WsTransport, remote: Parameters<WsTransport['send']>[1], message: string): Promise<unknown>[] {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < 4096 && transport.stats().bufferOverflows === 0; i++) sends.push(transport.send(message, remote).catch((error: unknown) => error));
  return sends;
}

describe('maxBufferedBytes: a peer that does not read', () => {
  it('is closed with 1008 once more than maxBufferedBytes wait; later sends reject with ERR_BUFFER_FULL', async () => {
    const logger = { error: jest.fn() };
    const { transport, url } = await server({ maxBufferedBytes: 64 * 1024, closeTimeout: 20000, logger });
    const opened = nextEvent(transport, 'connectionOpen');
    const c = await client(url);
    const remote = await opened;
    c.ws.pause(); // reads nothing from now on

    const sends = fillUntilOverflow(transport, remote, bigResponse(16 * 1024));
    expect(transport.stats().bufferOverflows).toBe(1);
    expect(sends.length).toBeLessThan(4096);
    const after = await rejection(transport.send(response(), remote));
    expect(after.code).toBe('ERR_BUFFER_FULL');
    expect(after.remote).toEqual(remote);
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ code: 'ERR_BUFFER_FULL' }));

    // The peer reads again: it gets what was buffered, then our close frame.
    const closed = nextEvent(transport, 'connectionClose');
    c.ws.resume();
    expect(await c.closed).toBe(1008);
    expect(await closed).toEqual(remote);
    expect(transport.connections()).toEqual([]);
    for (const result of await Promise.all(sends)) if (result !== undefined) expect(isWsTransportError(result)).toBe(true);
  });

  it('is cut when it does not answer the close frame within closeTimeout', async () => {
    const { transport, url } = await server({ maxBufferedBytes: 64 * 1024, closeTimeout: 50 });
    const opened = nextEvent(transport, 'connectionOpen');
    const c = await client(url);
    const remote = await opened;
    c.ws.pause();
    const closed = nextEvent(transport, 'connectionClose');
    const sends = fillUntilOverflow(transport, remote, bigResponse(16 * 1024));
    expect(await closed).toEqual(remote);
    expect(transport.stats()).toMatchObject({ bufferOverflows: 1, closeTimeouts: 1 });
    // Whatever was still buffered fails with the reason, never hangs.
    const results = await Promise.all(sends);
    const failed = results.filter((result) => result !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    for (const error of failed) expect(error).toMatchObject({ code: 'ERR_BUFFER_FULL' });
    c.ws.terminate();
  });

  it('also caps the bytes queued while a connection opens (ERR_WS_QUEUE_FULL)', async () => {
    // A TCP server that accepts and never answers the handshake: the connection stays opening.
    const sockets: Socket[] = [];
    const silent: Server = createNetServer((socket) => sockets.push(socket)) as unknown as Server;
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    track({ close: () => new Promise<void>((resolve) => { sockets.forEach((s) => s.destroy()); silent.close(() => resolve()); }) });
    const target = { protocol: 'WS', address: '127.0.0.1', port: (silent.address() as { port: number }).port };

    const bytes = track(new WsTransport({ maxBufferedBytes: 40 * 1024 }));
    const first = bytes.send(bigResponse(16 * 1024), target).catch((error: unknown) => error);
    const second = bytes.send(bigResponse(16 * 1024), target).catch((error: unknown) => error);
    expect((await rejection(bytes.send(bigResponse(16 * 1024), target))).code).toBe('ERR_WS_QUEUE_FULL');

    const count = track(new WsTransport({ maxQueuedMessages: 2 }));
    const queued = [count.send(request(), target).catch((error: unknown) => error), count.send(request(), target).catch((error: unknown) => error)];
    expect((await rejection(count.send(request(), target))).code).toBe('ERR_WS_QUEUE_FULL');
    expect(bytes.stats().queueFull).toBe(1);
    expect(count.stats().queueFull).toBe(1);

    await Promise.all([bytes.close(), count.close()]);
    for (const result of await Promise.all([first, second, ...queued])) expect(result).toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
  });
});

describe('options are checked in the constructor (ERR_INVALID_OPTION)', () => {
  const bad: [string, unknown][] = [
    ['ws_port', -1],
    ['ws_port', 65536],
    ['ws_port', 80.5],
    ['ws_port', '80'],
    ['maxHeaderBytes', 0],
    ['maxHeaderBytes', Number.NaN],
    ['maxBytesHeaders', -5],
    ['maxContentLength', -1],
    ['maxContentLength', 1.5],
    ['maxConnections', -1],
    ['maxConnections', Number.POSITIVE_INFINITY],
    ['maxBufferedBytes', 0],
    ['maxBufferedBytes', '4M'],
    ['connectTimeout', -1],
    ['connectTimeout', 2 ** 31],
    ['maxQueuedMessages', 0],
    ['pingInterval', -1],
    ['pingInterval', 2 ** 31],
    ['closeTimeout', Number.NaN],
    ['address', 5],
    ['path', 'ws'],
    ['path', 5],
    ['tls', 'cert.pem'],
    ['tls', null],
    ['server', {}],
    ['logger', 'console'],
    ['logger', { error: 'yes' }],
  ];

  it.each(bad)('%s = %p', (name, value) => {
    let thrown: unknown;
    try {
      new WsTransport({ [name]: value } as WsTransportOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(isWsTransportError(thrown)).toBe(true);
    expect((thrown as Error).message).toContain(name);
  });

  it('takes maxConnections 0 as no cap, as the TCP transport does', async () => {
    const { transport, url } = await server({ maxConnections: 0 });
    await client(url);
    await client(url);
    expect(transport.connections()).toHaveLength(2);
    expect(transport.stats().connectionLimit).toBe(0);
  });

  it('rejects options that are not an object', () => {
    expect(() => new WsTransport(null as unknown as WsTransportOptions)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });

  it('accepts the edge values that mean something', () => {
    const ok: WsTransportOptions[] = [
      { ws_port: 0 },
      { maxConnections: 0 },
      { address: '' },
      { maxContentLength: 0 },
      { connectTimeout: 0 },
      { pingInterval: 0 },
      { closeTimeout: 0 },
      { path: '/ws' },
      { logger: {} },
      { maxBytesHeaders: 1000, maxHeaderBytes: undefined },
    ];
    for (const options of ok) expect(() => new WsTransport(options)).not.toThrow();
  });
});

describe('a logger that throws', () => {
  it('never escapes from a socket event: messages, replies, refusals and sends go on', async () => {
    const boom = (): never => {
      throw new Error('logger broke');
    };
    const logger = { send: jest.fn(boom), recv: jest.fn(boom), error: jest.fn(boom) };
    const { transport, url } = await server({ logger });
    const c = await client(url);

    const received = nextMessage(transport);
    c.ws.send(request({ callId: 'logged' }));
    const { message, remote } = await received;
    expect(message.headers['call-id']).toBe('logged');
    await transport.send(response('logged'), remote);
    expect((await c.next()).data.toString()).toBe(response('logged'));

    c.ws.send(request({ method: 'INVITE', callId: null })); // answered 400, logged as an error
    expect((await c.next()).data.toString()).toMatch(/^SIP\/2\.0 400 /);
    await expect(rawClient(url, 'chat')).rejects.toThrow(/400/); // refused upgrade, logged

    expect(logger.recv).toHaveBeenCalled();
    expect(logger.send).toHaveBeenCalled();
    expect(logger.error).toHaveBeenCalledTimes(2);
    // Still serving.
    const again = nextMessage(transport);
    c.ws.send(request({ callId: 'still-here' }));
    expect((await again).message.headers['call-id']).toBe('still-here');
  });
});

describe('frames through readMessage', () => {
  it('answers a CRLFCRLF ping with one CRLF pong and ignores other whitespace (RFC 5626 §4.4.1)', async () => {
    const { transport, url } = await server();
    const c = await client(url);
    c.ws.send('\r\n');
    c.ws.send(' \r\n\t');
    c.ws.send('\r\n\r\n');
    expect((await c.next()).data.toString()).toBe('\r\n');
    // The next thing the client gets is the answer to a request, not a second pong.
    const received = nextMessage(transport);
    c.ws.send(request());
    await transport.send(response(), (await received).remote);
    expect((await c.next()).data.toString()).toBe(response());
    expect(transport.stats()).toMatchObject({ keepAlives: 3, pongs: 1, received: 1 });
  });

  it('answers 400 to a request missing a mandatory header, 505 to another SIP version, and drops a bad response', async () => {
    const { transport, url } = await server();
    const onMessage = jest.fn();
    transport.on('message', onMessage);
    const c = await client(url);
    c.ws.send(request({ method: 'OPTIONS', callId: null }));
    const reply = await c.next();
    expect(reply.binary).toBe(false);
    expect(reply.data.toString()).toMatch(/^SIP\/2\.0 400 Bad Request/);
    expect(reply.data.toString()).toContain('\r\nCSeq: 1 OPTIONS\r\n');

    c.ws.send(request().replace('REGISTER sip:proxy.example.com SIP/2.0', 'REGISTER sip:proxy.example.com SIP/3.0'));
    expect((await c.next()).data.toString()).toMatch(/^SIP\/2\.0 505 /);

    c.ws.send(response().replace(/Call-ID: .*\r\n/, ''));
    const good = nextMessage(transport);
    c.ws.send(request({ callId: 'after' }));
    expect((await good).message.headers['call-id']).toBe('after');
    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(transport.stats()).toMatchObject({ badRequests: 2, dropped: 1, received: 1 });
  });

  it('counts a message over maxHeaderBytes that fits in a frame as tooLarge, and keeps the connection', async () => {
    const { transport, url } = await server({ maxHeaderBytes: 600, maxContentLength: 4000 });
    const c = await client(url);
    c.ws.send(request({ via: `SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK${'a'.repeat(700)}` }));
    const good = nextMessage(transport);
    c.ws.send(request({ callId: 'small' }));
    expect((await good).message.headers['call-id']).toBe('small');
    expect(transport.stats().tooLarge).toBe(1);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('counts a WebSocket protocol error (invalid UTF-8 in a text frame, 1007)', async () => {
    const { transport, url } = await server();
    const c = await client(url);
    const closed = nextEvent(transport, 'connectionClose');
    c.ws.send(Buffer.from([0x4f, 0xff, 0xfe]), { binary: false });
    expect(await c.closed).toBe(1007);
    await closed;
    expect(transport.stats()).toMatchObject({ protocolErrors: 1, oversizeFrames: 0 });
  });
});

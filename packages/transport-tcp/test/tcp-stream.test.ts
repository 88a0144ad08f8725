// Framing over real TCP: split writes, limits, keep-alives, many clients, idle and caps.
import type { Socket } from 'node:net';
import fc from 'fast-check';
import type { Remote } from '@sipts/message';
import { TcpTransport } from '@sipts/transport-tcp';
import type { StreamTransportError, TcpTransportOptions } from '@sipts/transport-tcp';
import { callIdOf, closed, collect, delay, nextEvent, nextMessage, rawConnect, readToEnd, readUntil, requestText, responseText } from './helpers.js';

const transports: TcpTransport[] = [];
const sockets: Socket[] = [];

function tcp(options: TcpTransportOptions = {}): TcpTransport {
  const t = new TcpTransport({ port: 0, address: '127.0.0.1', ...options });
  transports.push(t);
  return t;
}

async function raw(port: number): Promise<Socket> {
  const s = await rawConnect(port);
  sockets.push(s);
  return s;
}

function errorsOf(t: TcpTransport): StreamTransportError[] {
  const errors: StreamTransportError[] = [];
  t.on('error', (e) => errors.push(e as StreamTransportError));
  return errors;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

describe('framing over TCP', () => {
  test('a small message split across two writes at every byte boundary', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    const text = Buffer.from(requestText({ callId: 'split', body: 'ünïcødé €' }));
    for (let cut = 1; cut < text.length; cut++) {
      const received = nextMessage(server);
      s.write(text.subarray(0, cut));
      // Let the first part arrive on its own before the rest is written: the second
      // setImmediate runs after an event-loop poll phase, where the server reads it.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      s.write(text.subarray(cut));
      const [m] = await received;
      expect(callIdOf(m)).toBe('split');
      expect(m.content).toBe('ünïcødé €');
    }
    expect(server.connectionCount).toBe(1);
  });

  test('an oversize header section is answered 400 and the connection closed', async () => {
    const server = tcp({ maxHeaderBytes: 2000 });
    const { port } = await server.listen();
    const errors = errorsOf(server);
    const got = collect(server);
    const s = await raw(port);
    const reply = readToEnd(s);
    s.write('OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP client.invalid;branch=z9hG4bK-big\r\nX-Filler: ' + 'a'.repeat(3000));
    const text = await reply;
    expect(text).toMatch(/^SIP\/2\.0 400 /);
    expect(text).toContain('Via: SIP/2.0/TCP client.invalid;branch=z9hG4bK-big\r\n');
    expect(errors.map((e) => e.code)).toEqual(['ERR_FRAMING']);
    expect((errors[0]?.cause as { code?: string }).code).toBe('ERR_TOO_LARGE');
    expect(got).toEqual([]);
    expect(server.stats()).toMatchObject({ framingErrors: 1, badRequests: 1 });
  });

  test('the default header limit (60480 bytes) applies when none is given', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const errors = errorsOf(server);
    const s = await raw(port);
    s.on('error', () => undefined);
    s.write('OPTIONS sip:bob@example.com SIP/2.0\r\nX-Filler: ' + 'a'.repeat(61000));
    await closed(s);
    expect(errors.map((e) => e.code)).toEqual(['ERR_FRAMING']);
  });

  test('an oversize Content-Length closes the connection before any body is sent', async () => {
    const server = tcp({ maxContentLength: 100 });
    const { port } = await server.listen();
    const errors = errorsOf(server);
    const got = collect(server);
    // Exactly at the limit: delivered.
    const ok = await raw(port);
    const delivered = nextMessage(server);
    ok.write(requestText({ callId: 'fits', body: 'b'.repeat(100) }));
    expect(callIdOf((await delivered)[0])).toBe('fits');
    // One byte over: the headers alone get the connection closed; the body is never awaited.
    const s = await raw(port);
    const headersOnly = requestText({ callId: 'big', body: 'b'.repeat(101) }).slice(0, -101);
    s.write(headersOnly);
    await closed(s);
    expect(errors.map((e) => e.code)).toEqual(['ERR_FRAMING']);
    expect(got.map(([m]) => callIdOf(m))).toEqual(['fits']);
  });

  test('a huge Content-Length with the default limit closes at once', async () => {
    const server = tcp();
    const { port } = await server.listen();
    errorsOf(server);
    const s = await raw(port);
    s.write(requestText({ callId: 'huge' }).replace('Content-Length: 0', 'Content-Length: 100000000'));
    await closed(s);
    expect(server.connectionCount).toBe(0);
  });

  test('10,000 CRLF keep-alives are ignored and the next message is delivered', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const errors = errorsOf(server);
    const s = await raw(port);
    s.on('data', () => undefined); // pongs
    const received = nextMessage(server);
    s.write('\r\n'.repeat(10_000));
    s.write(requestText({ callId: 'after-crlf' }));
    expect(callIdOf((await received)[0])).toBe('after-crlf');
    expect(errors).toEqual([]);
    expect(server.connectionCount).toBe(1);
  });

  test('RFC 5626 §4.4.1: a CRLFCRLF ping gets a CRLF pong; a lone CRLF gets none', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    s.write('\r\n\r\n');
    expect(await readUntil(s, (t) => t.length >= 2)).toBe('\r\n');
    // A single CRLF (a pong from the peer) is not answered: the first bytes back are the response.
    const received = nextMessage(server);
    s.write('\r\n');
    s.write(requestText({ callId: 'no-pong' }));
    const [, remote] = await received;
    const reply = readUntil(s, (t) => t.includes('\r\n\r\n'));
    await server.send(responseText('no-pong'), remote);
    expect(await reply).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  test('a ping split across writes is still answered', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const s = await raw(port);
    s.write('\r\n\r');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    s.write('\n');
    expect(await readUntil(s, (t) => t.length >= 2)).toBe('\r\n');
  });
});

describe('robustness', () => {
  test('a thousand pipelined messages in one write are all delivered, in order', async () => {
    const server = tcp();
    const { port } = await server.listen();
    const got = collect(server);
    const s = await raw(port);
    let text = '';
    for (let i = 0; i < 1000; i++) text += requestText({ callId: `p${i}`, body: i % 2 ? 'ß' : '' }) + (i % 3 ? '' : '\r\n');
    s.write(text);
    while (got.length < 1000) await nextMessage(server);
    expect(got.map(([m]) => callIdOf(m))).toEqual(Array.from({ length: 1000 }, (_, i) => `p${i}`));
  });

  test('arbitrary bytes never throw: the connection is closed or the bytes are skipped', async () => {
    const server = tcp({ maxHeaderBytes: 512, maxContentLength: 64 });
    const { port } = await server.listen();
    server.on('error', () => undefined);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }), async (chunks) => {
        const s = await raw(port);
        for (const c of chunks) s.write(c);
        s.end();
        await closed(s);
      }),
      { numRuns: 50 },
    );
    // Still serving.
    const s = await raw(port);
    const received = nextMessage(server);
    s.write(requestText({ callId: 'alive' }));
    expect(callIdOf((await received)[0])).toBe('alive');
  });
});

describe('many clients, idle timeout, connection cap', () => {
  test('a thousand concurrent clients each get their own response', async () => {
    // All from 127.0.0.1: no per-source cap here.
    const server = tcp({ maxConnectionsPerSource: 0 });
    const { port } = await server.listen();
    server.on('message', (m, remote) => {
      void server.send(responseText(callIdOf(m) ?? ''), remote);
    });
    const clients: Socket[] = [];
    // Connect in batches so the listen backlog never overflows; all stay open together.
    for (let batch = 0; batch < 10; batch++) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => raw(port)))));
    }
    while (server.connectionCount < 1000) await nextEvent(server, 'connectionOpen');
    const replies = clients.map((s, i) => {
      const reply = readUntil(s, (t) => t.endsWith('\r\n\r\n'));
      s.write(requestText({ callId: `client-${i}` }));
      return reply;
    });
    const texts = await Promise.all(replies);
    texts.forEach((t, i) => {
      expect(t).toContain(`Call-ID: client-${i}\r\n`);
      expect(t.match(/Call-ID/g)).toHaveLength(1);
    });
    const allClosed = new Promise<void>((resolve) => {
      server.on('connectionClose', () => {
        if (server.connectionCount === 0) resolve();
      });
    });
    for (const s of clients) s.destroy();
    await allClosed;
  }, 30_000);

  test('an idle connection closes after idleTimeout', async () => {
    const server = tcp({ idleTimeout: 100 });
    const { port } = await server.listen();
    const s = await raw(port);
    const localPort = s.localPort;
    const [remote] = await nextEvent<[Remote]>(server, 'connectionClose');
    expect(remote.port).toBe(localPort);
    await closed(s);
    expect(server.connectionCount).toBe(0);
  });

  test('ref() holds an idle connection open until the matching unref()', async () => {
    const server = tcp({ idleTimeout: 100 });
    const { port } = await server.listen();
    const s = await raw(port);
    const received = nextMessage(server);
    s.write(requestText({ callId: 'held' }));
    const [, remote] = await received;
    expect(server.ref(remote)).toBe(true);
    expect(server.ref(remote)).toBe(true);
    await delay(400);
    expect(server.hasFlow(remote)).toBe(true);
    expect(server.unref(remote)).toBe(true);
    await delay(300);
    expect(server.hasFlow(remote)).toBe(true);
    const gone = nextEvent<[Remote]>(server, 'connectionClose');
    server.unref(remote);
    expect(await gone).toEqual([remote]);
    expect(server.ref(remote)).toBe(false);
  });

  test('maxConnections caps inbound connections', async () => {
    const server = tcp({ maxConnections: 2 });
    const { port } = await server.listen();
    const errors = errorsOf(server);
    const a = await raw(port);
    const b = await raw(port);
    while (server.connectionCount < 2) await nextEvent(server, 'connectionOpen');
    const c = await raw(port);
    await closed(c);
    expect(server.connectionCount).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['ERR_MAX_CONNECTIONS']);
    const got = collect(server);
    a.write(requestText({ callId: 'a' }));
    b.write(requestText({ callId: 'b' }));
    while (got.length < 2) await nextMessage(server);
    expect(got.map(([m]) => callIdOf(m)).sort()).toEqual(['a', 'b']);
  });

  test('maxConnections caps outbound connections with ERR_MAX_CONNECTIONS', async () => {
    const one = tcp();
    const two = tcp();
    const [p1, p2] = await Promise.all([one.listen(), two.listen()]);
    const client = tcp({ maxConnections: 1 });
    await client.send(requestText({ callId: 'one' }), { protocol: 'TCP', address: '127.0.0.1', port: p1.port });
    await expect(client.send(requestText({ callId: 'two' }), { protocol: 'TCP', address: '127.0.0.1', port: p2.port })).rejects.toMatchObject({
      code: 'ERR_MAX_CONNECTIONS',
    });
    // Reuse of the open connection is not limited.
    await client.send(requestText({ callId: 'one-again' }), { protocol: 'TCP', address: '127.0.0.1', port: p1.port });
  });
});

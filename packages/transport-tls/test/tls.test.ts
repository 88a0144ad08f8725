import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import type { Transport } from '@sipts/transaction';
import type { Remote, SipMessage } from '@sipts/message';
import { StreamTransportError, TlsTransport, createTlsTransport, DEFAULT_TLS_PORT } from '@sipts/transport-tls';
import type { TlsTransportOptions } from '@sipts/transport-tls';

// A self-signed P-256 certificate for localhost, 127.0.0.1 and ::1, made for this run.
let key = '';
let cert = '';
let haveOpenssl = true;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  } catch (error) {
    haveOpenssl = false;
    console.warn(`TLS tests skipped: cannot run openssl to make a test certificate (${String(error)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const transports: TlsTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function tlsTransport(options: TlsTransportOptions): TlsTransport {
  const t = new TlsTransport({ tls_port: 0, address: '127.0.0.1', ...options });
  transports.push(t);
  return t;
}

function server(options: TlsTransportOptions = {}): TlsTransport {
  return tlsTransport({ ...options, tls: { key, cert, ...options.tls } });
}

function nextMessage(t: TlsTransport): Promise<[SipMessage, Remote]> {
  return new Promise((resolve) => t.once('message', (m, r) => resolve([m, r])));
}

function request(callId: string): string {
  return (
    'OPTIONS sips:bob@example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/TLS client.invalid;branch=z9hG4bK${callId}\r\n` +
    'From: <sips:alice@example.com>;tag=1\r\nTo: <sips:bob@example.com>\r\n' +
    `Call-ID: ${callId}\r\nCSeq: 7 OPTIONS\r\nContent-Length: 4\r\n\r\nbody`
  );
}

function response(callId: string): string {
  return (
    'SIP/2.0 200 OK\r\n' +
    `Via: SIP/2.0/TLS client.invalid;branch=z9hG4bK${callId}\r\n` +
    'From: <sips:alice@example.com>;tag=1\r\nTo: <sips:bob@example.com>;tag=2\r\n' +
    `Call-ID: ${callId}\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n`
  );
}

async function roundTrip(srv: TlsTransport, client: TlsTransport, target: Remote & { servername?: string }): Promise<[Remote, Remote]> {
  const received = nextMessage(srv);
  await client.send(request('rt'), target);
  const [m, remote] = await received;
  expect(m.headers['call-id']).toBe('rt');
  expect(m.content).toBe('body');
  expect(m.headers.via?.[0]?.params['received']).toBe(remote.address);
  const answered = nextMessage(client);
  await srv.send(response('rt'), remote);
  const [r, from] = await answered;
  expect('status' in r && r.status).toBe(200);
  return [remote, from];
}

describe('TlsTransport', () => {
  test('satisfies the Transport interface; tls_port defaults to 5061', () => {
    const t = createTlsTransport() satisfies Transport;
    expect(t.protocol).toBe('TLS');

    expect(t.reliable).toBe(true);
    expect(DEFAULT_TLS_PORT).toBe(5061);
  });

  test('port is read when tls_port is unset; tls_port wins', async () => {
    const a = new TlsTransport({ port: 0, address: '127.0.0.1' });
    transports.push(a);
    const { port } = await a.listen();
    expect(port).toBeGreaterThan(0);
    // `port` names a port in use: tls_port 0 must be the one used, so listen() succeeds.
    const b = new TlsTransport({ port, tls_port: 0, address: '127.0.0.1' });
    transports.push(b);
    expect((await b.listen()).port).not.toBe(port);
  });

  test('round trip with the generated certificate, verified against it as CA', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    const { port } = await srv.listen();
    const client = tlsTransport({ tls: { ca: cert } });
    const [remote, from] = await roundTrip(srv, client, { protocol: 'TLS', address: '127.0.0.1', port });
    expect(remote).toMatchObject({ protocol: 'TLS', address: '127.0.0.1', local: { address: '127.0.0.1', port } });
    expect(from).toEqual({ protocol: 'TLS', address: '127.0.0.1', port, local: { address: '127.0.0.1', port: remote.port } });
    expect(client.peerAuthorized(from)).toBe(true);
    expect(client.peerCertificate(from)?.subject.CN).toBe('localhost');
    // The server did not ask for a client certificate.
    expect(srv.peerCertificate(remote)).toBeUndefined();
    expect(srv.connectionCount).toBe(1);
  });

  test('round trip over IPv6 [::1]', async () => {
    if (!haveOpenssl || !(await ipv6())) return;
    const srv = server({ address: '::1' });
    const { port } = await srv.listen();
    const client = tlsTransport({ address: '::1', tls: { ca: cert } });
    const [remote] = await roundTrip(srv, client, { protocol: 'TLS', address: '[::1]', port });
    expect(remote.address).toBe('::1');
  });

  test('rejectUnauthorized (Node default true): an untrusted certificate fails with ERR_TLS_HANDSHAKE', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    srv.on('error', () => undefined);
    const { port } = await srv.listen();
    const client = tlsTransport({});
    const error = await client.send(request('x'), { protocol: 'TLS', address: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamTransportError);
    expect(error).toMatchObject({ code: 'ERR_TLS_HANDSHAKE', osCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(client.connectionCount).toBe(0);
  });

  test('rejectUnauthorized: false accepts it (unverified, peerAuthorized false)', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    const { port } = await srv.listen();
    const client = tlsTransport({ tls: { rejectUnauthorized: false } });
    const [, from] = await roundTrip(srv, client, { protocol: 'TLS', address: '127.0.0.1', port });
    expect(client.peerAuthorized(from)).toBe(false);
  });

  test('a target servername is checked against the certificate (SNI, RFC 5922 §7.1)', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    srv.on('error', () => undefined);
    const { port } = await srv.listen();
    const client = tlsTransport({ tls: { ca: cert } });
    await roundTrip(srv, client, { protocol: 'TLS', address: '127.0.0.1', port, servername: 'localhost' });
    const other = tlsTransport({ tls: { ca: cert } });
    const error = await other.send(request('y'), { protocol: 'TLS', address: '127.0.0.1', port, servername: 'sip.example.com' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TLS_HANDSHAKE', osCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test('client certificates pass through (mutual TLS)', async () => {
    if (!haveOpenssl) return;
    const srv = server({ tls: { requestCert: true, rejectUnauthorized: true, ca: cert } });
    const errors: StreamTransportError[] = [];
    srv.on('error', (e) => errors.push(e as StreamTransportError));
    const got: SipMessage[] = [];
    srv.on('message', (m) => got.push(m));
    const { port } = await srv.listen();

    // Without a certificate the server refuses the handshake.
    const anonymous = tlsTransport({ tls: { ca: cert } });
    anonymous.on('error', () => undefined);
    const refused = new Promise<void>((resolve) => srv.once('error', () => resolve()));
    await anonymous.send(request('anon'), { protocol: 'TLS', address: '127.0.0.1', port }).catch(() => undefined);
    await refused;
    expect(errors[0]?.code).toBe('ERR_TLS_HANDSHAKE');
    expect(got).toEqual([]);

    const client = tlsTransport({ tls: { ca: cert }, tlsClient: { key, cert } });
    const [remote] = await roundTrip(srv, client, { protocol: 'TLS', address: '127.0.0.1', port });
    expect(srv.peerAuthorized(remote)).toBe(true);
    expect(srv.peerCertificate(remote)?.subject.CN).toBe('localhost');
  });

  test('close() also ends sockets still in their TLS handshake', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    const { port } = await srv.listen();
    const silent = netConnect({ port, host: '127.0.0.1' });
    silent.on('error', () => undefined);
    await once(silent, 'connect');
    const ended = once(silent, 'close');
    // Without tracking accepted sockets this would wait for the 120 s handshake timeout.
    await srv.close();
    await ended;
  });

  test('connectTimeout covers the handshake: ERR_CONNECT_TIMEOUT', async () => {
    // A TCP server that accepts and never speaks TLS.
    const held: Socket[] = [];
    const mute = createServer((s) => held.push(s));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', () => resolve()));
    const { port } = mute.address() as { port: number };
    try {
      const client = tlsTransport({ connectTimeout: 100, tls: { ca: cert } });
      await expect(client.send(request('t'), { protocol: 'TLS', address: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
      expect(client.connectionCount).toBe(0);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  test('framing limits apply over TLS too', async () => {
    if (!haveOpenssl) return;
    const srv = server({ maxContentLength: 10 });
    const errors: StreamTransportError[] = [];
    srv.on('error', (e) => errors.push(e as StreamTransportError));
    const { port } = await srv.listen();
    const client = tlsTransport({ tls: { ca: cert } });
    const closedOnClient = new Promise<Remote>((resolve) => client.once('connectionClose', resolve));
    await client.send(request('big').replace('Content-Length: 4', 'Content-Length: 11'), { protocol: 'TLS', address: '127.0.0.1', port });
    await closedOnClient;
    expect(errors.map((e) => e.code)).toEqual(['ERR_FRAMING']);
  });
});

describe('TlsTransport limits and defenses', () => {
  test('bad options throw ERR_INVALID_OPTION, the TLS ones included', () => {
    const bad: TlsTransportOptions[] = [
      { tls_port: 65536 },
      { port: 1.5 },
      { tls: 'key.pem' as unknown as TlsTransportOptions['tls'] },
      { tlsClient: 7 as unknown as TlsTransportOptions['tlsClient'] },
      { headerTimeout: -1 },
      { maxPendingBytes: -1 },
      { maxHeaderBytes: 1.5 },
    ];
    for (const options of bad) {
      let thrown: unknown;
      try {
        new TlsTransport(options);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(StreamTransportError);
      expect((thrown as StreamTransportError).code).toBe('ERR_INVALID_OPTION');
    }
  });

  test('a client that stalls its handshake is cut at headerTimeout and counted', async () => {
    if (!haveOpenssl) return;
    const srv = server({ headerTimeout: 150 });
    const errors: StreamTransportError[] = [];
    srv.on('error', (e) => errors.push(e as StreamTransportError));
    const { port } = await srv.listen();
    const silent = netConnect({ port, host: '127.0.0.1' });
    silent.on('error', () => undefined);
    await once(silent, 'connect');
    await once(silent, 'close');
    for (let i = 0; i < 100 && srv.stats().connections > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(srv.stats()).toMatchObject({ handshakeFailures: 1, accepted: 1, connections: 0 });
    expect(errors.map((e) => e.code)).toEqual(['ERR_TLS_HANDSHAKE']);
  });

  test('the per-source cap applies before the handshake, and a refused socket is no handshake error', async () => {
    if (!haveOpenssl) return;
    const srv = server({ maxConnectionsPerSource: 1 });
    const errors: StreamTransportError[] = [];
    srv.on('error', (e) => errors.push(e as StreamTransportError));
    const { port } = await srv.listen();
    const first = netConnect({ port, host: '127.0.0.1' });
    first.on('error', () => undefined);
    await once(first, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = netConnect({ port, host: '127.0.0.1' });
    second.on('error', () => undefined);
    await once(second, 'close');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(srv.stats()).toMatchObject({ refusedPerSource: 1, handshakeFailures: 0 });
    expect(errors.map((e) => e.code)).toEqual(['ERR_SOURCE_LIMIT']);
    first.destroy();
  });

  test('a handshake stalled past evictAfter is evicted when maxConnections is full, and the newcomer is served', async () => {
    if (!haveOpenssl) return;
    const srv = server({ maxConnections: 1, evictAfter: 50, maxConnectionsPerSource: 0 });
    srv.on('error', () => undefined);
    const { port } = await srv.listen();
    const stalled = netConnect({ port, host: '127.0.0.1' });
    stalled.on('error', () => undefined);
    await once(stalled, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stalledClosed = once(stalled, 'close');
    const client = tlsTransport({ tls: { ca: cert } });
    await roundTrip(srv, client, { protocol: 'TLS', address: '127.0.0.1', port });
    await stalledClosed;
    expect(srv.stats()).toMatchObject({ evictedSlow: 1, refusedMaxConnections: 0, handshakeFailures: 0 });
  });

  test('a malformed request over TLS is answered 400, then the connection closes', async () => {
    if (!haveOpenssl) return;
    const srv = server();
    srv.on('error', () => undefined);
    const { port } = await srv.listen();
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: cert, servername: 'localhost' });
    await once(socket, 'secureConnect');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.write(request('bad').replace('Call-ID: bad\r\n', ''));
    await once(socket, 'close');
    expect(text).toMatch(/^SIP\/2\.0 400 Bad Request \(missing Call-ID\)\r\n/);
    expect(srv.stats()).toMatchObject({ invalidMessages: 1, badRequests: 1 });
  });
});

async function ipv6(): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '::1', () => resolve());
    });
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return true;
  } catch {
    console.warn('skipped: no IPv6 loopback on this machine');
    return false;
  }
}

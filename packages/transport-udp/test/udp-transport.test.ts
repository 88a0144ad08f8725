import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Transport } from '@sipts/transaction';
import type { SipRequest } from '@sipts/message';
import {
  UdpTransport,
  UdpTransportError,
  createUdpTransport,
  isUdpTransportError,
  UDP_MAX_PAYLOAD_IPV4,
  UDP_MAX_PAYLOAD_IPV6,
  type UdpTransportLogger,
} from '@sipts/transport-udp';
import { DelayProbe } from '../src/delay-probe.js';
import { nextMessage, peer, request, requestOfSize, response, type Peer } from './helpers.js';

const open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function listening(options: ConstructorParameters<typeof UdpTransport>[0] = {}): Promise<UdpTransport> {
  const transport = track(new UdpTransport({ port: 0, address: '127.0.0.1', ...options }));
  await transport.listen();
  return transport;
}

async function client(type: 'udp4' | 'udp6' = 'udp4'): Promise<Peer> {
  return track(await peer(type));
}

/** Whether this host can bind ::1 (IPv6 tests are skipped on hosts without it). */
let hasIPv6 = true;
beforeAll(async () => {
  try {
    const probe = await peer('udp6');
    await probe.close();
  } catch {
    hasIPv6 = false;
  }
});

async function rejection(promise: Promise<unknown>): Promise<UdpTransportError> {
  try {
    await promise;
  } catch (error) {
    if (isUdpTransportError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('UdpTransport shape and lifecycle', () => {
  it('satisfies the Transport interface of @sipts/transaction by shape', () => {
    const transport = new UdpTransport() satisfies Transport;
    expect(transport.protocol).toBe('UDP');
    expect(transport.reliable).toBe(false);
    expect(createUdpTransport()).toBeInstanceOf(UdpTransport);
  });

  it('binds port 0 to a free port and reports the address after listen()', async () => {
    const transport = track(new UdpTransport({ port: 0, address: '127.0.0.1' }));
    expect(transport.address()).toBeUndefined();
    const bound = await transport.listen();
    expect(bound.port).toBeGreaterThan(0);
    expect(bound).toEqual({ address: '127.0.0.1', port: bound.port, family: 'IPv4' });
    expect(transport.address()).toEqual(bound);
    // listen() twice is the same bind.
    expect(await transport.listen()).toEqual(bound);
  });

  it('rejects a second bind of the same port with ERR_LISTEN and the system code as cause', async () => {
    const first = await listening();
    const second = track(new UdpTransport({ port: first.address()?.port ?? 0, address: '127.0.0.1' }));
    const error = await rejection(second.listen());
    expect(error.code).toBe('ERR_LISTEN');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(error.osCode).toBe('EADDRINUSE');
  });

  it('can listen again after a failed bind, and a close() during the bind wins', async () => {
    const first = await listening();
    const port = first.address()?.port ?? 0;
    const second = track(new UdpTransport({ port, address: '127.0.0.1' }));
    expect((await rejection(second.listen())).code).toBe('ERR_LISTEN');
    await first.close();
    expect((await second.listen()).port).toBe(port);

    const third = new UdpTransport({ port: 0, address: '127.0.0.1' });
    const binding = third.listen();
    await third.close();
    expect((await rejection(binding)).code).toBe('ERR_TRANSPORT_CLOSED');
    expect(third.address()).toBeUndefined();
  });

  it('refuses sends before listen() and after close(); close() is idempotent', async () => {
    const transport = new UdpTransport({ port: 0, address: '127.0.0.1' });
    const target = { protocol: 'UDP', address: '127.0.0.1', port: 9 };
    expect((await rejection(transport.send(request(), target))).code).toBe('ERR_NOT_LISTENING');
    await transport.listen();
    await transport.close();
    await transport.close();
    expect(transport.address()).toBeUndefined();
    expect((await rejection(transport.send(request(), target))).code).toBe('ERR_TRANSPORT_CLOSED');
    expect((await rejection(transport.listen())).code).toBe('ERR_TRANSPORT_CLOSED');
  });

  it('brands its errors so instanceof and isUdpTransportError agree across copies', () => {
    const error = new UdpTransportError('ERR_UDP_MTU', 'too big');
    expect(error).toBeInstanceOf(UdpTransportError);
    expect(error).toBeInstanceOf(Error);
    expect(isUdpTransportError(error)).toBe(true);
    const lookalike = { [Symbol.for('@sipts/transport-udp.UdpTransportError')]: true, code: 'ERR_UDP_MTU' };
    expect(lookalike instanceof UdpTransportError).toBe(true);
    expect(isUdpTransportError(new Error('x'))).toBe(false);
  });
});

describe('receiving', () => {
  it('delivers one datagram as one message with remote and local addresses', async () => {
    const transport = await listening();
    const port = transport.address()?.port ?? 0;
    const alice = await client();
    const received = nextMessage(transport);
    await alice.send(request({ method: 'OPTIONS' }), port, '127.0.0.1');
    const { message, remote } = await received;
    expect((message as SipRequest).method).toBe('OPTIONS');
    expect(remote).toEqual({ protocol: 'UDP', address: '127.0.0.1', port: alice.port, local: { address: '127.0.0.1', port } });
    expect(transport.stats().received).toBe(1);
  });

  it('shares one frozen local address among the remotes it reports (a transaction keeps its remote up to 32 s)', async () => {
    const transport = await listening();
    const port = transport.address()?.port ?? 0;
    const alice = await client();
    const first = nextMessage(transport);
    await alice.send(request({ method: 'OPTIONS' }), port, '127.0.0.1');
    const a = (await first).remote;
    const second = nextMessage(transport);
    await alice.send(request({ method: 'OPTIONS' }), port, '127.0.0.1');
    const b = (await second).remote;
    expect(a).not.toBe(b);
    expect(a.local).toBe(b.local);
    expect(Object.isFrozen(a.local)).toBe(true);
    expect([a.address, b.address]).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('leaves Via alone when the source matches sent-by and rport is absent (RFC 3261 §18.2.1)', async () => {
    const transport = await listening();
    const alice = await client();
    const received = nextMessage(transport);
    await alice.send(request({ via: `SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bKa` }), transport.address()?.port ?? 0, '127.0.0.1');
    const via = (await received).message.headers.via?.[0];
    expect(via?.params.received).toBeUndefined();
    expect(via?.params).not.toHaveProperty('rport');
  });

  it('adds received when sent-by differs from the source (RFC 3261 §18.2.1)', async () => {
    const transport = await listening();
    const alice = await client();
    const received = nextMessage(transport);
    await alice.send(request({ via: 'SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bKb' }), transport.address()?.port ?? 0, '127.0.0.1');
    const via = (await received).message.headers.via?.[0];
    expect(via?.params.received).toBe('127.0.0.1');
    expect(via?.params).not.toHaveProperty('rport');
  });

  it('fills rport with the source port and always adds received (RFC 3581 §4)', async () => {
    const transport = await listening();
    const alice = await client();
    const received = nextMessage(transport);
    // sent-by equals the source address: received is still required once rport is asked for.
    await alice.send(request({ via: 'SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKc' }), transport.address()?.port ?? 0, '127.0.0.1');
    const via = (await received).message.headers.via?.[0];
    expect(via?.params.rport).toBe(String(alice.port));
    expect(via?.params.received).toBe('127.0.0.1');
  });

  it('does not stamp responses', async () => {
    const transport = await listening();
    const alice = await client();
    const received = nextMessage(transport);
    await alice.send(response().replace('5060;branch', '5060;rport;branch'), transport.address()?.port ?? 0, '127.0.0.1');
    const via = (await received).message.headers.via?.[0];
    expect(via?.params.received).toBeUndefined();
    expect(via?.params.rport).toBeNull();
  });

  it('answers a request missing Call-ID with 400, copying Via/From/To/CSeq and adding a To tag', async () => {
    const logger = { error: jest.fn() };
    const transport = await listening({ logger });
    const onMessage = jest.fn();
    transport.on('message', onMessage);
    const alice = await client();
    await alice.send(request({ method: 'INVITE', callId: null, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbad' }), transport.address()?.port ?? 0, '127.0.0.1');
    const { data, rinfo } = await alice.next();
    const text = data.toString('utf8');
    expect(text).toMatch(/^SIP\/2\.0 400 /);
    expect(text).toContain('\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbad\r\n');
    expect(text).toContain('\r\nFrom: Alice <sip:alice@example.com>;tag=1928301774\r\n');
    expect(text).toMatch(/\r\nTo: Bob <sip:bob@example\.com>;tag=[0-9a-f]{16}\r\n/);
    expect(text).toContain('\r\nCSeq: 314159 INVITE\r\n');
    expect(text).not.toContain('\r\nCall-ID:');
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
    expect(rinfo.port).toBe(transport.address()?.port);
    expect(onMessage).not.toHaveBeenCalled();
    expect(transport.stats().badRequests).toBe(1);
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }));
  });

  it('never answers a malformed ACK (RFC 3261 §17.2.1) but answers the request after it', async () => {
    const transport = await listening();
    const alice = await client();
    const port = transport.address()?.port ?? 0;
    await alice.send(request({ method: 'ACK', callId: null }), port, '127.0.0.1');
    await alice.send(request({ method: 'BYE', callId: null }), port, '127.0.0.1');
    // Loopback keeps order: the first datagram back answers the BYE, so the ACK got nothing.
    const { data } = await alice.next();
    expect(data.toString('utf8')).toContain('\r\nCSeq: 314159 BYE\r\n');
    expect(transport.stats()).toMatchObject({ badRequests: 1, dropped: 1 });
  });

  it('drops garbage, bad responses and random bytes without emitting or answering them', async () => {
    const logger = { error: jest.fn() };
    const transport = await listening({ logger });
    const alice = await client();
    const port = transport.address()?.port ?? 0;
    const onMessage = jest.fn();
    transport.on('message', onMessage);
    await alice.send('hello world\r\n\r\n', port, '127.0.0.1');
    await alice.send(response().replace(/Call-ID: [^\r]*\r\n/, ''), port, '127.0.0.1');
    for (let i = 0; i < 200; i++) {
      const garbage = randomBytes(1 + ((i * 37) % 1500));
      if ((garbage[0] ?? 0) <= 0x20) garbage[0] = 0x7f; // never a whitespace-only keep-alive
      await alice.send(garbage, port, '127.0.0.1');
    }
    await alice.send('\r\n\r\n', port, '127.0.0.1');
    const received = nextMessage(transport);
    await alice.send(request({ callId: 'after-garbage' }), port, '127.0.0.1');
    const { message } = await received;
    expect(message.headers['call-id']).toBe('after-garbage');
    expect(onMessage).toHaveBeenCalledTimes(1);
    const stats = transport.stats();
    expect(stats.keepAlives).toBe(1);
    expect(stats.received).toBe(1);
    // Random bytes can spell a request line only by a miracle; whatever happened was counted.
    expect(stats.dropped + stats.badRequests).toBe(202);
    expect(logger.error).toHaveBeenCalledTimes(202);
  });

  it('answers 505 to a request of another SIP version (RFC 3261 §8.2.2)', async () => {
    const transport = await listening();
    const alice = await client();
    await alice.send(request({ version: '3.0' }), transport.address()?.port ?? 0, '127.0.0.1');
    const text = (await alice.next()).data.toString('utf8');
    expect(text).toMatch(/^SIP\/2\.0 505 Version Not Supported\r\n/);
    expect(text).toContain('\r\nCSeq: 314159 OPTIONS\r\n');
  });
});

describe('sending', () => {
  it('sends a message to a target and reports it to the logger', async () => {
    const logger: UdpTransportLogger = { send: jest.fn(), recv: jest.fn() };
    const transport = await listening({ logger });
    const alice = await client();
    const target = { protocol: 'UDP', address: '127.0.0.1', port: alice.port };
    await transport.send(request(), target);
    const { data, rinfo } = await alice.next();
    expect(data.toString('utf8')).toBe(request());
    expect(rinfo.port).toBe(transport.address()?.port);
    expect(logger.send).toHaveBeenCalledWith(request(), target);
    expect(transport.stats().sent).toBe(1);
  });

  it('sends bytes as given (UTF-8 body intact)', async () => {
    const transport = await listening();
    const alice = await client();
    const bytes = Buffer.from(request({ body: 'héllo ✓' }), 'utf8');
    await transport.send(bytes, { protocol: 'UDP', address: '127.0.0.1', port: alice.port });
    expect((await alice.next()).data.equals(bytes)).toBe(true);
  });

  it('round-trips a request and its response between two transports', async () => {
    const a = await listening();
    const b = await listening();
    const atB = nextMessage(b);
    await a.send(request({ via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKrt' }), { protocol: 'UDP', address: '127.0.0.1', port: b.address()?.port ?? 0 });
    const { remote } = await atB;
    expect(remote.port).toBe(a.address()?.port);
    const atA = nextMessage(a);
    await b.send(response(), remote);
    expect((await atA).message).toMatchObject({ status: 200 });
  });

  it('refuses a request over the 1300-byte allowance with ERR_UDP_MTU (RFC 3261 §18.1.1)', async () => {
    const transport = await listening();
    const alice = await client();
    const target = { protocol: 'UDP', address: '127.0.0.1', port: alice.port };
    await transport.send(requestOfSize(1300), target);
    expect((await alice.next()).data.length).toBe(1300);
    const error = await rejection(transport.send(requestOfSize(1301), target));
    expect(error.code).toBe('ERR_UDP_MTU');
    expect(error.remote).toEqual(target);
    // The caller may insist (no other transport to try).
    await transport.send(requestOfSize(1301), target, { allowOversize: true });
    expect((await alice.next()).data.length).toBe(1301);
  });

  it('lets responses over the allowance through (the rule is for requests) and honours mtuAllowance', async () => {
    const transport = await listening({ mtuAllowance: 4000 });
    const alice = await client();
    const target = { protocol: 'UDP', address: '127.0.0.1', port: alice.port };
    await transport.send(requestOfSize(3000), target);
    expect((await alice.next()).data.length).toBe(3000);
    const big = response(5000);
    await transport.send(big, target);
    expect((await alice.next()).data.length).toBe(Buffer.byteLength(big));
    expect((await rejection(transport.send(requestOfSize(4001), target))).code).toBe('ERR_UDP_MTU');
  });

  it('refuses datagrams over 65,507 bytes to IPv4 with ERR_UDP_TOO_LARGE, even with allowOversize', async () => {
    const transport = await listening();
    const target = { protocol: 'UDP', address: '127.0.0.1', port: 9 };
    const error = await rejection(transport.send(Buffer.alloc(UDP_MAX_PAYLOAD_IPV4 + 1, 0x41), target, { allowOversize: true }));
    expect(error.code).toBe('ERR_UDP_TOO_LARGE');
    expect(error.message).toContain('65507');
  });

  it('sends to an IPv4-mapped IPv6 address from a udp4 socket as plain IPv4', async () => {
    const transport = await listening();
    const alice = await client();
    await transport.send(response(), { protocol: 'UDP', address: '[::ffff:127.0.0.1]', port: alice.port });
    expect((await alice.next()).data.toString('utf8')).toBe(response());
  });

  it('rejects names, bad ports and an unreachable address family with codes', async () => {
    const transport = await listening();
    expect((await rejection(transport.send(request(), { protocol: 'UDP', address: 'example.com', port: 5060 }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(transport.send(request(), { protocol: 'UDP', address: '127.0.0.1', port: 0 }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(transport.send(request(), { protocol: 'UDP', address: '127.0.0.1', port: 70000 }))).code).toBe('ERR_INVALID_TARGET');
    expect((await rejection(transport.send(request(), { protocol: 'UDP', address: '[::1]', port: 5060 }))).code).toBe('ERR_UDP_FAMILY');
    expect(transport.stats().sendErrors).toBe(4);
  });
});

describe('IPv6', () => {
  it('receives on ::1, keeps Via alone for a matching bracketed sent-by, and answers to a bracketed target', async () => {
    if (!hasIPv6) return;
    const transport = await listening({ address: '::1' });
    expect(transport.address()?.family).toBe('IPv6');
    const alice = await client('udp6');
    const received = nextMessage(transport);
    await alice.send(request({ via: `SIP/2.0/UDP [::1]:${alice.port};branch=z9hG4bK6` }), transport.address()?.port ?? 0, '::1');
    const { message, remote } = await received;
    expect(remote).toEqual({ protocol: 'UDP', address: '::1', port: alice.port, local: { address: '::1', port: transport.address()?.port } });
    expect(message.headers.via?.[0]?.params.received).toBeUndefined();
    await transport.send(response(), { protocol: 'UDP', address: '[::1]', port: alice.port });
    expect((await alice.next()).data.toString('utf8')).toBe(response());
    expect((await rejection(transport.send(request(), { protocol: 'UDP', address: '127.0.0.1', port: alice.port }))).code).toBe('ERR_UDP_FAMILY');
  });

  it('stamps received without brackets and rport for IPv6 sources (RFC 3581, RFC 5118 §4.5)', async () => {
    if (!hasIPv6) return;
    const transport = await listening({ address: '[::1]' });
    const alice = await client('udp6');
    const received = nextMessage(transport);
    await alice.send(request({ via: 'SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bK7' }), transport.address()?.port ?? 0, '::1');
    const via = (await received).message.headers.via?.[0];
    expect(via?.params.received).toBe('::1');
    expect(via?.params.rport).toBe(String(alice.port));
  });

  it('refuses datagrams over 65,527 bytes to IPv6 but sends up to that size', async () => {
    if (!hasIPv6) return;
    const transport = await listening({ address: '::1' });
    const target = { protocol: 'UDP', address: '::1', port: 9 };
    expect((await rejection(transport.send(Buffer.alloc(UDP_MAX_PAYLOAD_IPV6 + 1, 0x41), target, { allowOversize: true }))).code).toBe('ERR_UDP_TOO_LARGE');
    // 65,508 bytes is too big for IPv4 but fits an IPv6 datagram.
    const alice = await client('udp6');
    await transport.send(Buffer.alloc(UDP_MAX_PAYLOAD_IPV4 + 1, 0x41), { protocol: 'UDP', address: '::1', port: alice.port }, { allowOversize: true });
    expect((await alice.next()).data.length).toBe(UDP_MAX_PAYLOAD_IPV4 + 1);
  });

  it('binds dual-stack by default and speaks plain IPv4 addresses to IPv4 peers', async () => {
    const transport = track(new UdpTransport({ port: 0 }));
    const bound = await transport.listen();
    if (bound.family !== 'IPv6') return; // no IPv6 on this host: the udp4 fallback was used
    expect(bound.address).toBe('::');
    const alice = await client('udp4');
    const received = nextMessage(transport);
    await alice.send(request({ via: 'SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK8' }), bound.port, '127.0.0.1');
    const { message, remote } = await received;
    expect(remote.address).toBe('127.0.0.1');
    expect(message.headers.via?.[0]?.params.received).toBe('127.0.0.1');
    await transport.send(response(), { protocol: 'UDP', address: '127.0.0.1', port: alice.port });
    expect((await alice.next()).data.toString('utf8')).toBe(response());
    if (hasIPv6) {
      const bob = await client('udp6');
      await transport.send(response(), { protocol: 'UDP', address: '::1', port: bob.port });
      expect((await bob.next()).data.toString('utf8')).toBe(response());
    }
  });
});

describe('socket buffers', () => {
  it('applies recvBufferSize after binding', async () => {
    const small = await listening({ recvBufferSize: 4096 });
    const normal = await listening({ recvBufferSize: 0 });
    const smallSize = small.bufferSizes()?.recv ?? 0;
    const normalSize = normal.bufferSizes()?.recv ?? 0;
    expect(smallSize).toBeGreaterThan(0);
    expect(smallSize).toBeLessThan(normalSize);
  });

  it('reports a buffer size the socket refuses as ERR_UDP_BUFFER_SIZE, never throwing', async () => {
    const logger = { error: jest.fn() };
    const transport = track(new UdpTransport({ port: 0, address: '127.0.0.1', recvBufferSize: 2 ** 32, logger }));
    const errors: Error[] = [];
    transport.on('error', (error) => errors.push(error));
    await transport.listen();
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_UDP_BUFFER_SIZE' })]);
    expect(logger.error).toHaveBeenCalledWith(errors[0]);
    // Without an 'error' listener the report goes to the logger only (an unheard 'error' would throw).
    const quiet = track(new UdpTransport({ port: 0, address: '127.0.0.1', recvBufferSize: 2 ** 32 }));
    await expect(quiet.listen()).resolves.toMatchObject({ family: 'IPv4' });
  });

  it('reports a smaller grant than asked through logger.warn instead of failing', async () => {
    const warn = jest.fn();
    const asked = 1024 * 1024 * 1024;
    const transport = await listening({ recvBufferSize: asked, sendBufferSize: 65536, logger: { warn } });
    const granted = transport.bufferSizes()?.recv ?? 0;
    expect(granted).toBeLessThan(asked); // no kernel grants 1 GiB by default
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('receive buffer'));
    expect(transport.bufferSizes()?.send).toBeGreaterThanOrEqual(65536);
  });
});

describe('options are validated (ERR_INVALID_OPTION)', () => {
  test.each([
    [{ port: 70000 }],
    [{ port: -1 }],
    [{ maxHeaderBytes: 0 }],
    [{ maxContentLength: -5 }],
    [{ recvBufferSize: 1.5 }],
    [{ mtuAllowance: -1 }],
  ])('%j', (options) => {
    let caught: unknown;
    try {
      new UdpTransport(options);
    } catch (e) {
      caught = e;
    }
    expect(isUdpTransportError(caught) && caught.code === 'ERR_INVALID_OPTION').toBe(true);
  });
});

describe('STUN keep-alives on the SIP port (RFC 5626 §4.4.2, RFC 5389)', () => {
  function bindingRequest(): Buffer {
    const rq = Buffer.alloc(20);
    rq.writeUInt16BE(0x0001, 0);
    rq.writeUInt16BE(0, 2);
    rq.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(rq, 8);
    return rq;
  }

  test('a Binding request gets a success response with the XOR-mapped source address', async () => {
    const transport = await listening();
    const peer = await client();
    const rq = bindingRequest();
    const reply = new Promise<Buffer>((resolve) => peer.socket.once('message', (data: Buffer) => resolve(data)));
    peer.socket.send(rq, transport.address()!.port, '127.0.0.1');
    const rs = await reply;
    expect(rs.readUInt16BE(0)).toBe(0x0101);
    expect(rs.subarray(4, 20).equals(rq.subarray(4, 20))).toBe(true);
    // Decode XOR-MAPPED-ADDRESS ourselves (RFC 5389 §15.2).
    expect(rs.readUInt16BE(20)).toBe(0x0020);
    expect(rs.readUInt8(25)).toBe(0x01);
    const port = rs.readUInt16BE(26) ^ 0x2112;
    const address = [0, 1, 2, 3].map((i) => (rs[28 + i] as number) ^ (rq[4 + i] as number)).join('.');
    expect(`${address}:${port}`).toBe(`127.0.0.1:${peer.socket.address().port}`);
    expect(transport.stats().stunBindings).toBe(1);
    // Never a 400 and never a message event for STUN.
    expect(transport.stats().badRequests).toBe(0);
  });

  test('other STUN messages and truncated ones are dropped silently', async () => {
    const transport = await listening();
    const peer = await client();
    const indication = bindingRequest();
    indication.writeUInt16BE(0x0011, 0);
    peer.socket.send(indication, transport.address()!.port, '127.0.0.1');
    peer.socket.send(bindingRequest().subarray(0, 19), transport.address()!.port, '127.0.0.1');
    for (let i = 0; i < 50 && transport.stats().dropped < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(transport.stats().stunBindings).toBe(0);
    expect(transport.stats().badRequests).toBe(0);
  });
});

describe('receiveDelay: the probe a stack sheds load on', () => {
  test('0 before listening; a probe to our own socket comes back and is measured, never emitted', async () => {
    expect(new UdpTransport({ port: 0, address: '127.0.0.1' }).receiveDelay()).toBe(0);
    const transport = await listening();
    const messages: unknown[] = [];
    transport.on('message', (m) => messages.push(m));
    expect(transport.receiveDelay()).toBe(0);
    // A blocked event loop: the probe waits in the kernel queue meanwhile.
    const end = Date.now() + 60;
    while (Date.now() < end) {
      // busy
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.receiveDelay()).toBeGreaterThanOrEqual(50);
    expect(messages).toHaveLength(0);
    expect(transport.stats()).toMatchObject({ received: 0, dropped: 0, badRequests: 0 });
  });

  test('a probe lost in a full queue gets a successor after 1 s, and the estimate recovers when that one arrives', async () => {
    // DelayProbe on its own, on a plain socket standing for ours: the test decides what is lost.
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    const arrived: Buffer[] = [];
    sink.on('message', (m) => arrived.push(m));
    const probe = new DelayProbe();
    const port = sink.address().port;
    const wait = async (n: number): Promise<void> => {
      for (let i = 0; i < 100 && arrived.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      expect(probe.tick('127.0.0.1', port, 'udp4', 0)).toBe(0);
      await wait(1);
      // Probe 1 is "dropped" by the kernel: never handed to receive(). Its age is the estimate.
      expect(probe.tick('127.0.0.1', port, 'udp4', 500)).toBe(500);
      expect(arrived).toHaveLength(1);
      expect(probe.tick('127.0.0.1', port, 'udp4', 1000)).toBe(1000);
      await wait(2);
      expect(arrived).toHaveLength(2);
      // Probe 2 arrives 10 ms after it was sent: probe 1 is given up, the queue has drained.
      expect(probe.receive(arrived[1] as Buffer, 1010)).toBe(true);
      expect(probe.tick('127.0.0.1', port, 'udp4', 1020)).toBe(10);
      // The lost probe arriving late (it cannot, from a FIFO queue) would change nothing.
      expect(probe.receive(arrived[0] as Buffer, 1030)).toBe(true);
      expect(probe.tick('127.0.0.1', port, 'udp4', 1040)).toBe(20);
    } finally {
      probe.close();
      sink.close();
    }
  });

  test('a forged probe (wrong secret) is not taken for ours', async () => {
    const transport = await listening();
    transport.receiveDelay();
    const peerSocket = await client();
    const forged = Buffer.alloc(21);
    forged[0] = 0x02;
    peerSocket.socket.send(forged, transport.address()!.port, '127.0.0.1');
    for (let i = 0; i < 50 && transport.stats().dropped === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(transport.stats().dropped).toBe(1);
  });
});

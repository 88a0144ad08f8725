// Per-source rate limiting (Kamailio's pike as the anchor): one source over the limit is banned
// and dropped unanswered, others are still served, trusted sources are never counted.
import { createSocket } from 'node:dgram';
import { SourceRateLimiter, makeResponse } from '@sipts/core';
import { closeAll, listeningStack, portOf, tag } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('SourceRateLimiter (fake time)', () => {
  test('allows the window budget, then bans for banTime, then allows again', () => {
    const bans: string[] = [];
    const limiter = new SourceRateLimiter({ requestsPerSecond: 5, window: 1000, banTime: 10000, trusted: [] }, (a) => bans.push(a));
    for (let i = 0; i < 5; i++) expect(limiter.allow('192.0.2.7', i)).toBe(true);
    expect(limiter.allow('192.0.2.7', 10)).toBe(false);
    expect(bans).toEqual(['192.0.2.7']);
    expect(limiter.allow('192.0.2.7', 5000)).toBe(false); // still banned
    expect(limiter.allow('192.0.2.8', 5000)).toBe(true); // another source is not affected
    expect(limiter.allow('192.0.2.7', 10011)).toBe(true); // ban over
    expect(limiter.stats(10011)).toMatchObject({ bans: 1, dropped: 2, banned: 0 });
  });

  test('a new window starts the count again (a steady legitimate rate is never banned)', () => {
    const limiter = new SourceRateLimiter({ requestsPerSecond: 10, window: 1000, trusted: [] });
    for (let t = 0; t < 10_000; t += 100) expect(limiter.allow('192.0.2.9', t)).toBe(true);
  });

  test('trusted addresses and blocks are never counted; loopback by default', () => {
    const open = new SourceRateLimiter({ requestsPerSecond: 1, window: 1000 });
    for (let i = 0; i < 100; i++) expect(open.allow('127.0.0.1', i)).toBe(true);
    const custom = new SourceRateLimiter({ requestsPerSecond: 1, window: 1000, trusted: ['198.51.100.0/24', '2001:db8::1'] });
    for (let i = 0; i < 100; i++) expect(custom.allow('198.51.100.20', i) && custom.allow('2001:db8::1', i)).toBe(true);
    // With its own list, loopback is limited like any other source (1 per 1 s window).
    expect(custom.allow('127.0.0.1', 0)).toBe(true);
    expect(custom.allow('127.0.0.1', 1)).toBe(false);
  });

  test('memory is bounded: the least recently seen source is forgotten', () => {
    const limiter = new SourceRateLimiter({ maxSources: 100, trusted: [] });
    for (let i = 0; i < 10_000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(limiter.stats(0).sources).toBe(100);
  });

  test('bad options are refused', () => {
    expect(() => new SourceRateLimiter({ requestsPerSecond: 0 })).toThrow(/requestsPerSecond/);
    expect(() => new SourceRateLimiter({ trusted: ['not-an-ip'] })).toThrow(/trusted/);
    expect(() => new SourceRateLimiter({ trusted: ['10.0.0.0/33'] })).toThrow(/trusted/);
  });
});

describe('on a stack (real sockets, two loopback sources)', () => {
  async function peer(address: string) {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    const answers: string[] = [];
    socket.on('message', (d) => answers.push(d.toString('utf8').split('\r\n')[0] ?? ''));
    return { socket, answers, port: socket.address().port };
  }

  function options(from: string, port: number, to: number): string {
    return (
      `OPTIONS sip:x@127.0.0.1:${to} SIP/2.0\r\nVia: SIP/2.0/UDP ${from}:${port};branch=z9hG4bK${tag()}\r\n` +
      `From: <sip:a@${from}>;tag=${tag()}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${tag()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`
    );
  }

  test('a flooding source is banned and dropped; another source is still answered', async () => {
    const stack = await listeningStack({ rateLimit: { requestsPerSecond: 5, window: 10_000, banTime: 60_000, trusted: [] } }, (rq, _remote, reply) =>
      reply.reply(makeResponse(rq, 200)),
    );
    const to = portOf(stack, 'UDP');
    const flood = await peer('127.0.0.2');
    const legit = await peer('127.0.0.3');
    for (let i = 0; i < 200; i++) flood.socket.send(options('127.0.0.2', flood.port, to), to, '127.0.0.1');
    for (let i = 0; i < 100 && (stack.stats().rateLimit?.dropped ?? 0) < 150; i++) await new Promise((r) => setTimeout(r, 20));
    legit.socket.send(options('127.0.0.3', legit.port, to), to, '127.0.0.1');
    for (let i = 0; i < 100 && legit.answers.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(legit.answers).toEqual(['SIP/2.0 200 OK']);
    // 10 s window at 5/s: 50 allowed before the ban, none after.
    expect(flood.answers.length).toBeLessThanOrEqual(50);
    expect(stack.stats().rateLimit).toMatchObject({ bans: 1, banned: 1 });
    expect(stack.stats().serverCreated).toBeLessThanOrEqual(51);
    flood.socket.close();
    legit.socket.close();
  });
});

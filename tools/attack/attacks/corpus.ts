// The RFC 4475 torture messages over every transport and family, and a fuzz burst of mutated
// messages (held before the hostile-network issue: "all RFC 4475 messages and 24,000 fuzzed
// messages over UDP and TCP"; TLS, WSS and IPv6 were never tried).
import type { Attack, SendResult } from '../lib/attack.js';
import { eachStream, eachUdp, eachWs, statusCounts } from '../lib/attack.js';
import { corpusDir, loadCorpus, loopbackify, mutate, Rng, type CorpusEntry } from '../lib/corpus.js';
import { num, type Context } from '../lib/context.js';
import { sleep, streamClient, udpClient, wsConnect, WsClient } from '../lib/net.js';
import { request } from '../lib/sip.js';
import type { Endpoint } from '../lib/target.js';

const TRANSPORTS: { label: string; stack: string; protocol: string; kind: 'udp' | 'stream' | 'ws'; secure: boolean }[] = [
  { label: 'UDP', stack: 'main', protocol: 'UDP', kind: 'udp', secure: false },
  { label: 'TCP', stack: 'main', protocol: 'TCP', kind: 'stream', secure: false },
  { label: 'WS', stack: 'main', protocol: 'WS', kind: 'ws', secure: false },
  { label: 'UDP6', stack: 'v6', protocol: 'UDP', kind: 'udp', secure: false },
  { label: 'TCP6', stack: 'v6', protocol: 'TCP', kind: 'stream', secure: false },
  { label: 'TLS6', stack: 'v6', protocol: 'TLS', kind: 'stream', secure: true },
  { label: 'WSS6', stack: 'v6', protocol: 'WSS', kind: 'ws', secure: true },
];

function corpusBytes(ctx: Context): CorpusEntry[] {
  const dir = corpusDir(ctx.root);
  if (dir === undefined) return [];
  return loadCorpus(dir).map((e) => (ctx.netns ? e : { ...e, bytes: loopbackify(e.bytes) }));
}

export const rfc4475: Attack = {
  id: 'rfc4475',
  title: 'RFC 4475 torture messages',
  async run(ctx) {
    const A = 'RFC 4475 corpus';
    const entries = corpusBytes(ctx);
    if (entries.length === 0) {
      ctx.skip(A, 'every torture message on every transport', 'corpus not found (../shared/conformance/rfc4475, packages/message/test/fixtures/rfc4475)');
      return;
    }
    const bytes = entries.map((e) => e.bytes);
    let worstRatio = 0;
    let worstExcess = -Infinity;
    let worstFile = '';
    for (const t of TRANSPORTS) {
      const ep = ctx.endpoint(t.stack, t.protocol);
      const source = t.stack === 'v6' ? '::1' : ctx.source();
      const results: SendResult[] =
        t.kind === 'udp' ? await eachUdp(ep, bytes, source, 1500) : t.kind === 'stream' ? await eachStream(ep, t.secure, bytes, source, 1500) : await eachWs(ep, t.secure, bytes, source, 1500);
      if (t.kind === 'udp') {
        results.forEach((r, i) => {
          // A stateless 400 must never be larger than what caused it (no reflection gain).
          const first = r.replies[0];
          if ((first?.status === 400 || first?.status === 505) && r.sent > 0) {
            const size = Buffer.byteLength(first.text);
            worstRatio = Math.max(worstRatio, size / r.sent);
            if (size - r.sent > worstExcess) {
              worstExcess = size - r.sent;
              worstFile = entries[i]?.file ?? '';
            }
          }
        });
      }
      const openErrors = results.filter((r) => r.error !== undefined).length;
      ctx.check(A, `${entries.length} messages over ${t.label}${ctx.netns ? ' (byte-exact)' : ' (hosts made loopback)'}: answers`, 'held (UDP, TCP)', `${statusCounts(results)}`, openErrors === 0, openErrors > 0 ? `${openErrors} connections could not be opened over ${t.label}` : undefined);
    }
    // bad-request.ts documents the bound: the request plus the To tag it must add (21 bytes).
    ctx.check(
      A,
      'stateless 400/505 over UDP vs its request: at most the request plus a To tag (21 bytes)',
      '5.5x for junk (issue)',
      `largest ${worstRatio.toFixed(2)}x; most bytes over the request: ${worstExcess}${worstFile ? ` (${worstFile})` : ''}`,
      worstExcess <= 21,
      'a stateless error reply larger than its request plus a To tag: @sipts/message buildBadRequest',
    );
  },
};

/** Seeds of our own: every method and a few responses, all hosts loopback. */
function ownSeeds(main: Endpoint): Buffer[] {
  const me = `127.0.0.1:${main.port}`;
  const common = { via: '127.0.0.3:5999', proto: 'UDP' as const };
  return [
    request({ method: 'OPTIONS', uri: `sip:${me}`, ...common }),
    request({ method: 'INVITE', uri: `sip:nobody@${me}`, ...common, extra: ['Contact: <sip:c@127.0.0.3:5999>', 'Content-Type: application/sdp'], body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n' }),
    request({ method: 'REGISTER', uri: `sip:${me}`, ...common, to: 'sip:alice@127.0.0.1', from: 'sip:alice@127.0.0.1', extra: ['Contact: <sip:alice@127.0.0.3:5999>;expires=60'] }),
    request({ method: 'ACK', uri: `sip:nobody@${me}`, ...common }),
    request({ method: 'CANCEL', uri: `sip:nobody@${me}`, ...common }),
    request({ method: 'BYE', uri: `sip:nobody@${me}`, ...common, toTag: 'x1' }),
    request({ method: 'MESSAGE', uri: `sip:nobody@127.0.0.3:5999`, ...common, extra: ['Route: <sip:127.0.0.1:' + main.port + ';lr>', 'Content-Type: text/plain'], body: 'hello' }),
    `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${me};branch=z9hG4bKfuzz\r\nVia: SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKx\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\nCall-ID: fuzz\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
  ].map((s) => Buffer.from(s));
}

export const fuzz: Attack = {
  id: 'fuzz',
  title: 'fuzz burst',
  async run(ctx) {
    const A = 'fuzz burst';
    const seed = Number(process.env['ATTACK_FUZZ_SEED'] ?? 0x5eed);
    const rng = new Rng(seed);
    const main = ctx.endpoint('main', 'UDP');
    const seeds = [...corpusBytes(ctx).map((e) => e.bytes), ...ownSeeds(main)];
    const next = (): Buffer => mutate(seeds[rng.int(seeds.length)] ?? Buffer.alloc(0), rng);
    const before = await ctx.stats();

    // UDP (IPv4): 16,000 messages from 64 sources (200 each: under the rate limit, so the
    // messages reach the parser and the proxy instead of being dropped as a flood).
    let udpSent = 0;
    let udpBytes = 0;
    const sources = await Promise.all(Array.from({ length: 64 }, () => udpClient(ctx.source(), 0)));
    const t0 = performance.now();
    for (let round = 0; round < 250; round++) {
      await Promise.all(
        sources.map((c) => {
          const m = next();
          udpSent++;
          udpBytes += m.length;
          return c.send(m, main.port, main.address);
        }),
      );
      if (round % 25 === 24) await sleep(60);
    }
    const udpSeconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    const udpReplies = sources.reduce((n, c) => n + c.datagrams, 0);
    const udpReplyBytes = sources.reduce((n, c) => n + c.inbox.bytes, 0);
    for (const c of sources) c.close();
    // UDP (IPv6): 1,000 messages.
    const u6 = await udpClient('::1', 0);
    const v6 = ctx.endpoint('v6', 'UDP');
    for (let i = 0; i < 1000; i++) {
      await u6.send(next(), v6.port, v6.address);
      if (i % 100 === 99) await sleep(20);
    }

    // Streams: messages back to back on a connection; a framing error closes it, then a new one.
    const streamRuns: { label: string; sent: number; connections: number }[] = [];
    const runStream = async (label: string, ep: Endpoint, kind: 'stream' | 'ws', secure: boolean, total: number, sourceFor: () => string): Promise<void> => {
      let sent = 0;
      let connections = 0;
      const deadline = Date.now() + 8000;
      while (sent < total && Date.now() < deadline) {
        connections++;
        const source = sourceFor();
        const client =
          kind === 'stream'
            ? await streamClient({ secure, host: ep.address, port: ep.port, localAddress: source, keep: 0 }).catch(() => undefined)
            : await wsConnect({ secure, host: ep.address, port: ep.port, localAddress: source, keep: 0 }).then((c) => (c instanceof WsClient ? c : undefined), () => undefined);
        if (client === undefined) {
          await sleep(50);
          continue;
        }
        for (let i = 0; i < 200 && sent < total && !client.isClosed; i++) {
          const m = next();
          if (client instanceof WsClient) client.frame(1, m);
          else client.write(m);
          sent++;
          if (i % 20 === 19) await sleep(1);
        }
        await sleep(20);
        client.destroy();
      }
      streamRuns.push({ label, sent, connections });
    };
    let tcpSource = ctx.source();
    let tcpCount = 0;
    const rotating = (): string => {
      // 300 requests per source at most: under the rate limit's 400 per 2 s window.
      if (++tcpCount % 2 === 0) tcpSource = ctx.source();
      return tcpSource;
    };
    await runStream('TCP', ctx.endpoint('main', 'TCP'), 'stream', false, 4000, rotating);
    await runStream('WS', ctx.endpoint('main', 'WS'), 'ws', false, 1000, rotating);
    await runStream('TLS6', ctx.endpoint('v6', 'TLS'), 'stream', true, 1000, () => '::1');
    await runStream('WSS6', ctx.endpoint('v6', 'WSS'), 'ws', true, 1000, () => '::1');
    await runStream('TCP6', ctx.endpoint('v6', 'TCP'), 'stream', false, 1000, () => '::1');
    await sleep(500);
    u6.close();

    const after = await ctx.stats();
    const total = udpSent + 1000 + streamRuns.reduce((n, r) => n + r.sent, 0);
    ctx.check(
      A,
      `${total} mutated messages (seed ${seed}): UDP ${udpSent} at ${Math.round(udpSent / udpSeconds)}/s from 64 sources, UDP6 1000, ${streamRuns.map((r) => `${r.label} ${r.sent} on ${r.connections} connections`).join(', ')}`,
      '24,000 over UDP and TCP held',
      `parse errors counted ${sumValues(after, 'main.stack.parseErrors') - sumValues(before, 'main.stack.parseErrors')}; logger.error +${num(after, 'main.logger.errors') - num(before, 'main.logger.errors')}; DNS queries refused / non-loopback targets dropped by the suite's resolver ${num(after, 'main.logger.guardBlocked') + num(after, 'v6.logger.guardBlocked')}`,
      total >= 20_000,
      `only ${total} messages went out in the time budget`,
    );
    ctx.info(A, 'UDP bytes answered / bytes sent (every reply, stateful ones included)', '', `${udpReplies} datagrams, ${(udpReplyBytes / Math.max(1, udpBytes)).toFixed(2)}x the bytes`);
  },
};

function sumValues(stats: unknown, path: string): number {
  let v: unknown = stats;
  for (const key of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  if (typeof v !== 'object' || v === null) return 0;
  return Object.values(v as Record<string, unknown>).reduce<number>((n, x) => n + (typeof x === 'number' ? x : 0), 0);
}


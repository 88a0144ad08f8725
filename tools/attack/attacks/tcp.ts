// Stream attacks: 1-byte TCP segments (issue item 1), partially received messages held across
// many connections (item 4), slowloris with per-source caps, the header deadline and eviction at
// the connection cap (item 5).
import type { Attack } from '../lib/attack.js';
import { MiB, mib, num, type Context } from '../lib/context.js';
import { sleep, streamClient, type StreamClient } from '../lib/net.js';
import { DURING_LIMIT_MS, probeWhile, summarize } from '../lib/probe.js';
import { request, token } from '../lib/sip.js';
import type { Endpoint } from '../lib/target.js';

/** Opens `count` connections from `source` (failures counted, not thrown), `batch` at a time. */
async function openMany(ep: Endpoint, source: string, count: number, batch = 50): Promise<{ open: StreamClient[]; failed: number }> {
  const open: StreamClient[] = [];
  let failed = 0;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const got = await Promise.all(Array.from({ length: n }, () => streamClient({ secure: false, host: ep.address, port: ep.port, localAddress: source, noDelay: true, keep: 5, timeout: 5000 }).catch(() => undefined)));
    for (const c of got) {
      if (c === undefined) failed++;
      else open.push(c);
    }
  }
  return { open, failed };
}

/** The start of an OPTIONS whose header section never ends (padding up to `bytes`). */
function endless(ep: Endpoint, bytes: number): Buffer {
  const head = `OPTIONS sip:slow@127.0.0.1:${ep.port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK${token()}\r\nX-Padding: `;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(Math.max(0, bytes - head.length), 'a')]);
}

export const oneByteSegments: Attack = {
  id: 'one-byte',
  title: '1-byte TCP segments (item 1)',
  async run(ctx) {
    const A = '1-byte TCP segments (item 1)';
    const ep = ctx.endpoint('main', 'TCP');
    const source = ctx.source();
    const { open, failed } = await openMany(ep, source, 60);
    // One more connection sends a whole OPTIONS one byte per write: it must still be answered.
    const whole = await streamClient({ secure: false, host: ep.address, port: ep.port, localAddress: ctx.source(), noDelay: true });
    const callId = token('bytewise');
    const wholeBytes = Buffer.from(request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${ep.port};transport=tcp`, via: whole.sentBy, proto: 'TCP', callId }));
    const answered = whole.inbox.final(callId, 30_000);
    const payload = endless(ep, 50_000);
    const heap0 = (await ctx.memory()).heapUsed;
    const probes = probeWhile(() => ctx.legitStream(ep, false, DURING_LIMIT_MS), 250);
    const cpu0 = ctx.server.cpuSeconds();
    const t0 = performance.now();
    let written = 0;
    let maxPending = 0;
    let i = 0;
    let lastPoll = 0;
    // One byte per connection per turn of the event loop, for 6 s: tens of thousands of segments.
    while (performance.now() - t0 < 6000) {
      for (const c of open) {
        if (i < payload.length) {
          c.write(payload.subarray(i, i + 1));
          written++;
        }
      }
      if (i < wholeBytes.length) whole.write(wholeBytes.subarray(i, i + 1));
      i++;
      await new Promise((r) => setImmediate(r));
      if (performance.now() - lastPoll > 500) {
        lastPoll = performance.now();
        maxPending = Math.max(maxPending, num(await ctx.stats(), 'main.stack.transports.TCP.pendingBytes'));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = ((ctx.server.cpuSeconds() - cpu0) / seconds) * 100;
    const got = await answered;
    const legit = summarize(await probes.stop(), DURING_LIMIT_MS);
    // What the partial messages cost while still held (before the connections close).
    const heapHeld = (await ctx.memory()).heapUsed - heap0;
    const closedByServer = open.filter((c) => c.isClosed).length;
    for (const c of open) c.destroy();
    whole.destroy();
    ctx.check(
      A,
      `${open.length} connections (${failed} refused) sending 1 byte per write for ${seconds.toFixed(0)} s (${written} writes); one whole OPTIONS sent byte by byte`,
      'crash',
      `whole OPTIONS: ${got?.status ?? 'no answer'}; pendingBytes max ${mib(maxPending)} for ${mib(written)} written (bound: twice that); heap +${mib(heapHeld)} while they were held; server CPU ${cpu.toFixed(0)}%; ${closedByServer} closed by the server`,
      // What is held: each partial message in one growable buffer, at most twice its bytes,
      // not an object per segment on the heap.
      got?.status === 200 && maxPending <= 2 * written + 64 * 1024 && heapHeld < 8 * MiB,
      '1-byte segments cost an object each (heap grows with segments, not bytes), their accounting misses it, or a byte-wise message is lost: @sipts/message StreamFramer / @sipts/transport-tcp limits',
    );
    ctx.check(A, 'legitimate TCP OPTIONS during the attack (every 250 ms)', 'not tried', legit.text, legit.ok, 'legitimate clients are slowed past 1 s by 1-byte segments');
  },
};

export const pendingCap: Attack = {
  id: 'pending',
  title: 'partial messages across connections (item 4)',
  heapSlack: 24 * MiB,
  async run(ctx) {
    const A = 'partial messages across connections (item 4)';
    const ep = ctx.endpoint('main', 'TCP');
    // 1,200 connections (60 per source: under the per-source cap) each holding 59,000 bytes of a
    // header section: 70.8 MB, over the 64 MiB default of maxPendingBytes.
    const wanted = Math.min(1200, Math.max(100, Math.floor((ctx.fdLimit - 400) / 2)));
    const perSource = 60;
    const sources = Math.ceil(wanted / perSource);
    const before = await ctx.stats();
    const mem0 = await ctx.memory();
    const conns: StreamClient[] = [];
    let failed = 0;
    const probes = probeWhile(() => ctx.legitStream(ep, false, DURING_LIMIT_MS), 500);
    for (let s = 0; s < sources; s++) {
      const r = await openMany(ep, ctx.source(), Math.min(perSource, wanted - s * perSource));
      failed += r.failed;
      for (const c of r.open) c.write(endless(ep, 59_000));
      conns.push(...r.open);
    }
    const written = conns.length * 59_000;
    await sleep(2500);
    const legit = summarize(await probes.stop(), DURING_LIMIT_MS);
    const after = await ctx.stats();
    const mem1 = await ctx.memory();
    const pending = num(after, 'main.stack.transports.TCP.pendingBytes');
    const shed = num(after, 'main.stack.transports.TCP.pendingShed') - num(before, 'main.stack.transports.TCP.pendingShed');
    const closed = conns.filter((c) => c.isClosed).length;
    const rssGrowth = mem1.rss - mem0.rss;
    for (const c of conns) c.destroy();
    ctx.check(
      A,
      `${conns.length} connections (${failed} failed to open) each 59,000 bytes into a header section (${mib(written)})`,
      '800 connections held 462 MiB',
      `pendingBytes ${mib(pending)} (cap 64 MiB), shed ${shed} connections (${closed} seen closed); server RSS +${mib(rssGrowth)}, buffers ${mib(mem0.external)}->${mib(mem1.external)}`,
      pending <= 64 * MiB && (written <= 64 * MiB || shed > 0) && rssGrowth < 200 * MiB,
      'no global cap on bytes held by partial messages: @sipts/transport-tcp maxPendingBytes',
    );
    ctx.check(A, 'legitimate TCP OPTIONS during the attack (every 500 ms)', 'not tried', legit.text, legit.ok, 'legitimate clients are kept out while partial messages pile up');
  },
};

/** Writes the next byte of `payload` on every connection once per `intervalMs`, until stopped. */
function trickle(conns: StreamClient[], payload: Buffer, intervalMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    for (const c of conns) c.write(payload.subarray(i, i + 1));
    i = (i + 1) % payload.length;
  }, intervalMs);
  return () => clearInterval(timer);
}

export const slowloris: Attack = {
  id: 'slowloris',
  title: 'slowloris (item 5)',
  heapSlack: 24 * MiB,
  async run(ctx: Context) {
    const A = 'slowloris (item 5)';
    const ep = ctx.endpoint('main', 'TCP');
    const evict = ctx.endpoint('evict', 'TCP');
    const before = await ctx.stats();
    // Per source: 100 connections from one address.
    const one = await openMany(ep, ctx.source(), 100, 100);
    await sleep(300);
    const refusedNow = one.open.filter((c) => c.isClosed).length + one.failed;
    // 1,000 more from 17 addresses, all sending 1 byte per second.
    const many: StreamClient[] = [...one.open.filter((c) => !c.isClosed)];
    for (let s = 0; s < 17; s++) many.push(...(await openMany(ep, ctx.source(), 59)).open);
    const started = Date.now();
    const payload = endless(ep, 60_000);
    const stopMain = trickle(many, payload, 1000);
    // The capped stack (maxConnections 200): fill it with slow connections from 4 addresses.
    const slowEvict: StreamClient[] = [];
    for (let s = 0; s < 4; s++) slowEvict.push(...(await openMany(evict, ctx.source(), 50)).open);
    const stopEvict = trickle(slowEvict, payload, 1000);
    const probes = probeWhile(() => ctx.legitStream(ep, false, DURING_LIMIT_MS), 1000);
    // Once their messages have been arriving for longer than evictAfter (5 s; the first byte goes
    // out 1 s after the trickle starts), a newcomer must get in by evicting the slowest.
    await sleep(8000);
    const evictBefore = await ctx.stats();
    const newcomer = await ctx.legitStream(evict, false, 2000);
    const evictAfter = await ctx.stats();
    // The header deadline (20 s from the first byte) must close every slow connection.
    const deadline = started + 26_000;
    while (Date.now() < deadline && many.some((c) => !c.isClosed)) await sleep(250);
    stopMain();
    stopEvict();
    const legit = summarize(await probes.stop(), DURING_LIMIT_MS);
    const after = await ctx.stats();
    const stillOpen = many.filter((c) => !c.isClosed).length;
    const closedAt = many.filter((c) => c.isClosed).map((c) => (c.closedAt - started) / 1000);
    const latest = closedAt.length > 0 ? Math.max(...closedAt) : 0;
    for (const c of [...many, ...slowEvict]) c.destroy();
    ctx.check(
      A,
      '100 connections from one address',
      'no per-source limit',
      `${100 - refusedNow} kept, ${refusedNow} refused (refusedPerSource +${num(after, 'main.stack.transports.TCP.refusedPerSource') - num(before, 'main.stack.transports.TCP.refusedPerSource')})`,
      100 - refusedNow <= 64,
      'no per-source connection cap: @sipts/transport-tcp maxConnectionsPerSource',
    );
    ctx.check(
      A,
      `${many.length} connections at 1 byte/s: closed by the header deadline`,
      'held for the whole 40 s test',
      `${many.length - stillOpen} closed by the server, the last after ${latest.toFixed(1)} s; headerTimeouts +${num(after, 'main.stack.transports.TCP.headerTimeouts') - num(before, 'main.stack.transports.TCP.headerTimeouts')}`,
      stillOpen === 0 && latest <= 25,
      'a trickling header section is not cut by a deadline: @sipts/transport-tcp headerTimeout',
    );
    ctx.check(A, 'legitimate TCP OPTIONS during the attack (new connection every 1 s)', 'kept out for 40 s', legit.text, legit.ok, 'slow connections keep legitimate clients out');
    ctx.check(
      A,
      `a newcomer at a full connection cap (${slowEvict.length}/200 slow connections, after 8 s)`,
      'refused (no eviction)',
      `${newcomer.status ?? 'no answer'}${newcomer.ms !== undefined ? ` in ${newcomer.ms.toFixed(0)} ms` : ''}; evictedSlow +${num(evictAfter, 'evict.stack.transports.TCP.evictedSlow') - num(evictBefore, 'evict.stack.transports.TCP.evictedSlow')}`,
      newcomer.status === 200,
      'no eviction of slow connections for a newcomer at maxConnections: @sipts/transport-tcp admission',
    );
  },
};

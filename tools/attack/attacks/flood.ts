// Request floods: one source filling the transaction guard (issue item 8) and a burst spread over
// many sources ("20k UDP requests at ~21k/s with memory back to baseline", held before).
import type { Attack } from '../lib/attack.js';
import { MiB, num } from '../lib/context.js';
import { sleep, udpClient } from '../lib/net.js';
import { DURING_LIMIT_MS, probeWhile, summarize } from '../lib/probe.js';
import { request, token } from '../lib/sip.js';

export const singleSourceFlood: Attack = {
  id: 'flood',
  title: 'one source fills the transaction guard (item 8)',
  async run(ctx) {
    const A = 'one source fills the transaction guard (item 8)';
    const ep = ctx.endpoint('main', 'UDP');
    const attacker = await udpClient(ctx.source(), 0);
    const before = await ctx.stats();
    const probes = probeWhile(() => ctx.legitUdp(ep, DURING_LIMIT_MS), 100);
    let maxLive = 0;
    let sent = 0;
    const t0 = performance.now();
    // ~3,100 OPTIONS/s for 3 s: 31 every 10 ms.
    while (performance.now() - t0 < 3000) {
      const tick = performance.now();
      for (let k = 0; k < 31; k++) {
        void attacker.send(request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${ep.port}`, via: attacker.sentBy, proto: 'UDP', callId: token('flood') }), ep.port, ep.address);
        sent++;
      }
      if (sent % 620 === 0) maxLive = Math.max(maxLive, num(await ctx.stats(), 'main.stack.server'));
      const left = 10 - (performance.now() - tick);
      if (left > 0) await sleep(left);
    }
    const rate = sent / ((performance.now() - t0) / 1000);
    await sleep(500);
    const legit = summarize(await probes.stop(), DURING_LIMIT_MS);
    const after = await ctx.stats();
    const bans = num(after, 'main.stack.rateLimit.bans') - num(before, 'main.stack.rateLimit.bans');
    const dropped = num(after, 'main.stack.rateLimit.dropped') - num(before, 'main.stack.rateLimit.dropped');
    const rejected = num(after, 'main.stack.overloadRejected') - num(before, 'main.stack.overloadRejected');
    ctx.check(
      A,
      `${sent} OPTIONS at ${rate.toFixed(0)}/s from one address (3 s; the guard of 100,000 fills after ~32 s at this rate)`,
      '100,000-transaction guard kept full',
      `source banned (bans +${bans}), ${dropped} dropped unanswered, ${attacker.datagrams} answered; server transactions peaked at ${maxLive}; 503s to anyone +${rejected}`,
      bans >= 1 && attacker.datagrams <= 450,
      'no per-source rate limit: @sipts/core rateLimit',
    );
    ctx.check(A, 'legitimate UDP OPTIONS from another address during the flood (every 100 ms)', 'legitimate clients got 503', legit.text, legit.ok, 'one source still keeps legitimate clients out');
    attacker.close();
  },
};

export const distributedBurst: Attack = {
  id: 'burst',
  title: 'burst from many sources (held)',
  heapSlack: 40 * MiB,
  async run(ctx) {
    const A = 'burst from many sources (held)';
    const ep = ctx.endpoint('main', 'UDP');
    // 20,000 OPTIONS from 100 addresses (200 each: under the rate limit) as fast as they go.
    const clients = await Promise.all(Array.from({ length: 100 }, () => udpClient(ctx.source(), 0)));
    const before = await ctx.stats();
    const mem0 = await ctx.memory();
    const t0 = performance.now();
    let sent = 0;
    for (let round = 0; round < 200; round++) {
      await Promise.all(clients.map((c) => c.send(request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${ep.port}`, via: c.sentBy, proto: 'UDP', callId: token('burst') }), ep.port, ep.address)));
      sent += clients.length;
    }
    const rate = sent / ((performance.now() - t0) / 1000);
    // Let the server work through its receive buffer, then see whether it recovered.
    const recoverStart = performance.now();
    let state = '';
    do {
      await sleep(250);
      const overload = (await ctx.stats())['main']?.stack['overload'] as { state?: string } | undefined;
      state = overload?.state ?? 'normal';
    } while (state !== 'normal' && performance.now() - recoverStart < 15_000);
    const recovered = (performance.now() - recoverStart) / 1000;
    const after = await ctx.stats();
    const answered = clients.reduce((n, c) => n + c.datagrams, 0);
    for (const c of clients) c.close();
    const shed = num(after, 'main.stack.overloadRejected') - num(before, 'main.stack.overloadRejected');
    const droppedOverload = num(after, 'main.stack.overloadDropped') - num(before, 'main.stack.overloadDropped');
    const kernelLost = sent - answered - droppedOverload;
    const m = await ctx.memory();
    ctx.info(
      A,
      `${sent} OPTIONS at ${rate.toFixed(0)}/s from 100 addresses`,
      '20k at ~21k/s held',
      `${answered} answered (${shed} of them 503 while shedding), ${droppedOverload} dropped by overload control, ~${Math.max(0, kernelLost)} lost in the kernel or unanswered; back to normal ${recovered.toFixed(1)} s after the burst; heap ${(mem0.heapUsed / MiB).toFixed(1)}->${(m.heapUsed / MiB).toFixed(1)} MiB with ${num(after, 'main.stack.server')} transactions in their 32 s wait`,
    );
  },
};

// After every attack: is the process alive, are legitimate OPTIONS over UDP and TCP (IPv4 and
// IPv6) answered within 1 s, are file descriptors and memory back to the baseline, and was
// nothing written to stderr?
import { MiB, mib, num, type Context } from './context.js';
import { fmtProbe, probeOk } from './probe.js';
import { sleep } from './net.js';
import type { Target } from './target.js';

/** Heap allowed above the baseline after an attack, before transactions have drained. */
export const HEAP_SLACK = 16 * MiB;
/** Buffers (`external`, which includes arrayBuffers) allowed above the baseline. */
export const EXTERNAL_SLACK = 16 * MiB;
const FD_SLACK = 2;

async function fdsBack(target: Target, baseline: number, waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  let fds = target.fds();
  while (fds > baseline + FD_SLACK && Date.now() < deadline) {
    await sleep(200);
    fds = target.fds();
  }
  return fds;
}

function newStderr(target: Target): string {
  const text = target.stderr.slice(target.stderrSeen);
  target.stderrSeen = target.stderr.length;
  return text;
}

export async function captureBaseline(ctx: Context): Promise<void> {
  // Warm up every path the probes take, then measure.
  for (let i = 0; i < 3; i++) {
    await ctx.legitUdp(ctx.endpoint('main', 'UDP'));
    await ctx.legitStream(ctx.endpoint('main', 'TCP'));
    await ctx.legitUdp(ctx.endpoint('v6', 'UDP'));
    await ctx.legitStream(ctx.endpoint('v6', 'TCP'));
  }
  await sleep(300);
  const m = await ctx.memory();
  ctx.baseline = { fds: ctx.server.fds(), heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}

/**
 * One row: the state of the server after `attack`. `heapSlack` is what may stay above the
 * baseline (transactions in their wait states, bindings the attack made on purpose).
 * Returns `usable: false` when the server is dead, hung or no longer answers legitimate
 * clients: the suite then starts a fresh one so the remaining attacks still say something.
 */
export async function health(ctx: Context, attack: string, o: { heapSlack?: number; fdWaitMs?: number } = {}): Promise<{ ok: boolean; usable: boolean }> {
  const server = ctx.server;
  if (!(await server.alive(3000))) {
    const why = server.running ? 'IPC not answered in 3 s (hung)' : `exited with ${server.exitCode ?? server.exitSignal}`;
    ctx.check(attack, 'health: process alive', 'alive', `${why}; stderr: ${newStderr(server).slice(-400)}`, false, `the server died during "${attack}"`);
    return { ok: false, usable: false };
  }
  // Load shedding may still be on from the attack's last second: the question is whether the
  // server recovers, so give it up to 10 s to say it is back to normal.
  const recoverStart = Date.now();
  const states = async (): Promise<string[]> => {
    const s = await ctx.stats();
    return Object.keys(s).map((name) => `${name} ${((s[name]?.stack['overload'] ?? {}) as { state?: string }).state ?? 'normal'}`);
  };
  let overloadStates = await states();
  while (overloadStates.some((s) => !s.endsWith(' normal')) && Date.now() - recoverStart < 10_000) {
    await sleep(200);
    overloadStates = await states();
  }
  const stuck = overloadStates.filter((s) => !s.endsWith(' normal'));
  const recovery = Date.now() - recoverStart > 300 ? `overload control back to normal ${((Date.now() - recoverStart) / 1000).toFixed(1)} s after the attack; ` : '';
  if (stuck.length > 0) {
    const s = await ctx.stats();
    const detail = Object.keys(s)
      .map((name) => [name, s[name]?.stack['overload'] as { state?: string; queueDelayMs?: number; delayMs?: number } | undefined] as const)
      .filter(([, ov]) => ov !== undefined && ov.state !== 'normal')
      .map(([name, ov]) => `${name}: ${ov?.state} with UDP receive delay ${Math.round(ov?.queueDelayMs ?? 0)} ms, event-loop delay ${(ov?.delayMs ?? 0).toFixed(1)} ms`);
    ctx.check(
      attack,
      'overload control returns to normal within 10 s of the attack',
      'not tried',
      `still ${detail.join('; ')} (the process is idle)`,
      false,
      'the UDP receive-delay probe datagram was lost in the full receive queue and is never re-sent: DelayProbe.tick (packages/transport-udp/src/delay-probe.ts) returns the ever-growing age of the lost probe, so the stack stays in "dropping" and drops every new request on every transport for good',
    );
  }
  const probes = [
    ['UDP', await ctx.legitUdp(ctx.endpoint('main', 'UDP'))],
    ['TCP', await ctx.legitStream(ctx.endpoint('main', 'TCP'))],
    ['UDP6', await ctx.legitUdp(ctx.endpoint('v6', 'UDP'))],
    ['TCP6', await ctx.legitStream(ctx.endpoint('v6', 'TCP'))],
  ] as const;
  const probesOk = probes.every(([, r]) => probeOk(r));
  const fds = await fdsBack(server, ctx.baseline.fds, o.fdWaitMs ?? 15_000);
  const fdsOk = fds <= ctx.baseline.fds + FD_SLACK;
  const stats = await ctx.stats();
  let liveServer = 0;
  for (const name of Object.keys(stats)) liveServer += num(stats, `${name}.stack.server`);
  const m = await ctx.memory();
  // Server transactions still in their wait states (32 s over UDP) are accounted for at the
  // 2 KiB each that @sipts/transaction budgets for them (maxServerTransactions).
  const slack = (o.heapSlack ?? HEAP_SLACK) + liveServer * 2048;
  const heapOk = m.heapUsed <= ctx.baseline.heapUsed + slack;
  const external = m.external;
  const externalOk = external <= ctx.baseline.external + EXTERNAL_SLACK;
  const stderr = newStderr(server);
  const live = `${num(stats, 'main.stack.server')} server / ${num(stats, 'main.stack.client')} client transactions live`;
  const parts = [
    `${recovery}OPTIONS ${probes.map(([name, r]) => `${name} ${fmtProbe(r)}`).join(', ')}`,
    `fds ${ctx.baseline.fds}->${fds}`,
    `heap ${mib(ctx.baseline.heapUsed)}->${mib(m.heapUsed)} (${live})`,
    `buffers ${mib(ctx.baseline.external)}->${mib(external)}`,
    stderr === '' ? 'stderr empty' : `stderr: ${JSON.stringify(stderr.slice(0, 300))}`,
  ];
  const ok = probesOk && fdsOk && heapOk && externalOk && stderr === '' && stuck.length === 0;
  const failed = [
    ...(probesOk ? [] : ['legitimate OPTIONS not answered 200 within 1 s']),
    ...(fdsOk ? [] : ['file descriptors not back to baseline']),
    ...(heapOk ? [] : [`heap over baseline + ${mib(slack)}`]),
    ...(externalOk ? [] : [`buffers over baseline + ${mib(EXTERNAL_SLACK)}`]),
    ...(stderr === '' ? [] : ['output on stderr']),
  ];
  ctx.check(attack, 'health after: alive, legit OPTIONS UDP/TCP (v4+v6) < 1 s, fds/heap back, stderr empty', '', parts.join('; '), ok, failed.join(', '));
  return { ok, usable: probesOk };
}

// The end of the run: once every transaction and proxy context has drained (non-INVITE server
// transactions over UDP wait 64*T1 = 32 s in Completed), heap and file descriptors must be back
// at the baseline taken before the first attack, up to a small margin.
import { MiB, mib, num, type Context } from './context.js';
import { sleep } from './net.js';

const STRICT_HEAP_SLACK = 6 * MiB;

export async function finalChecks(ctx: Context): Promise<void> {
  const A = 'end of run';
  const deadline = Date.now() + 45_000;
  let live = Infinity;
  let stats;
  for (;;) {
    stats = await ctx.stats();
    live = 0;
    for (const name of Object.keys(stats)) live += num(stats, `${name}.stack.server`) + num(stats, `${name}.stack.client`) + num(stats, `${name}.proxy.contexts`);
    if (live === 0 || Date.now() > deadline) break;
    await sleep(1000);
  }
  for (const finish of ctx.deferred.splice(0)) await finish();
  ctx.check(A, 'transactions and proxy contexts drain', '', `${live} live after waiting`, live === 0, 'transactions or proxy contexts outlive their timers');
  const m = await ctx.memory();
  const fds = ctx.server.fds();
  ctx.check(
    A,
    `heap and fds back to baseline once drained (heap within ${mib(STRICT_HEAP_SLACK)})`,
    '',
    `heap ${mib(ctx.baseline.heapUsed)}->${mib(m.heapUsed)}, buffers ${mib(ctx.baseline.external)}->${mib(m.external)}, rss ${mib(ctx.baseline.rss)}->${mib(m.rss)}, fds ${ctx.baseline.fds}->${fds}`,
    m.heapUsed <= ctx.baseline.heapUsed + STRICT_HEAP_SLACK && fds <= ctx.baseline.fds + 2,
    'memory or descriptors retained after every attack ended (with the retention attack failing too: the authenticated REGISTERs the digest replay store pins, ~45 KB each, for the 5 min nonce lifetime)',
  );
  const errors = Object.keys(stats).map((n) => {
    const logger = stats[n]?.logger as { lastWarnings?: string[] } | undefined;
    return `${n} ${num(stats, `${n}.logger.errors`)} errors / ${num(stats, `${n}.logger.warnings`)} warnings${logger?.lastWarnings?.length ? ` (last: ${logger.lastWarnings.slice(-3).join(' / ')})` : ''}`;
  });
  ctx.info(A, 'what the stacks reported through logger.error / logger.warn', '', errors.join(', '));
}

// Values stored long-term must not pin the message they came from (issue item 7): 200 accounts
// register with REGISTERs padded to 40 KB; the heap growth per binding is what the registrar,
// the digest replay store and everything else kept.
import type { Attack } from '../lib/attack.js';
import { num } from '../lib/context.js';
import { streamClient } from '../lib/net.js';
import { register, streamChannel } from '../lib/register.js';

const PAD = `X-Padding: ${'p'.repeat(40_000)}`;

export const retention: Attack = {
  id: 'retention',
  title: 'slices keep whole messages alive (item 7)',
  async run(ctx) {
    const A = 'slices keep whole messages alive (item 7)';
    const ep = ctx.endpoint('main', 'TCP');
    const users = Object.keys(ctx.users).filter((u) => u.startsWith('padded-user-'));
    // TCP: transactions end with their response (Timer J is 0 on reliable transports), so what
    // stays on the heap is what the bindings hold. Four connections from four addresses.
    const lanes = 4;
    const clients = await Promise.all(Array.from({ length: lanes }, () => streamClient({ secure: false, host: ep.address, port: ep.port, localAddress: ctx.source(), keep: 4 })));
    try {
      const m0 = await ctx.memory();
      const s0 = await ctx.stats();
      const statuses = new Map<number, number>();
      await Promise.all(
        clients.map(async (client, lane) => {
          const ch = streamChannel(client);
          for (let i = lane; i < users.length; i += lanes) {
            const user = users[i] ?? '';
            const r = await register(ch, { ep, user, contacts: [`<sip:${user}@${client.sentBy};transport=tcp>`], expires: 600, extra: [PAD] }, ctx.users[user] ?? '');
            const status = r.final?.status ?? 0;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      const m1 = await ctx.memory();
      const s1 = await ctx.stats();
      // An old build (--before) has no registrar counts: every 200 made a binding there.
      const added = num(s1, 'main.registrar.bindings') - num(s0, 'main.registrar.bindings') || (statuses.get(200) ?? 0);
      const perBinding = added > 0 ? (m1.heapUsed - m0.heapUsed) / added : NaN;
      // Leave no binding behind; what the heap still holds then is held by something else.
      await Promise.all(
        clients.map(async (client, lane) => {
          const ch = streamChannel(client);
          for (let i = lane; i < users.length; i += lanes) {
            const user = users[i] ?? '';
            await register(ch, { ep, user, contacts: ['*'], expires: 0 }, ctx.users[user] ?? '', 10);
          }
        }),
      );
      const m2 = await ctx.memory();
      const kept = (m2.heapUsed - m0.heapUsed) / Math.max(1, added);
      // A pinned request is 40 KB of heap; what an account legitimately keeps (its binding, two
      // replay entries, a trusted (user, source) pair, map slots) is a few KB, and the heap
      // figure is noisy by about as much. A quarter of one request tells the two apart.
      const pinned = 10 * 1024;
      ctx.check(
        A,
        `${users.length} accounts register with 40 KB REGISTERs (two each, digest): heap per binding, and per account once the bindings are removed`,
        '56 KB per binding',
        `${[...statuses].map(([s, n]) => `${s} x${n}`).join(', ')}; ${added} bindings; heap +${((m1.heapUsed - m0.heapUsed) / 1024).toFixed(0)} KB = ${(perBinding / 1024).toFixed(2)} KB per binding; with the bindings removed still ${(kept / 1024).toFixed(2)} KB per account`,
        added === users.length && perBinding < pinned && kept < pinned,
        kept >= pinned
          ? "@sipts/digest's MemoryReplayStore keys its Map by the nonce string of the Authorization header, a V8 sliced string whose parent is the whole header section: every authenticated REGISTER stays on the heap for the nonce lifetime (5 min; up to 100,000 entries), whatever happens to the binding (packages/digest/src/replay.ts, `this.#entries.set(nonce, ...)`; seen in a heap snapshot: string 'REGISTER sip:...' <- sliced string <- Map <- MemoryReplayStore.#entries). Copy the nonce flat before storing it"
          : 'a binding pins the REGISTER it was made from: flat copies in @sipts/registrar',
      );
    } finally {
      for (const c of clients) c.destroy();
    }
  },
};

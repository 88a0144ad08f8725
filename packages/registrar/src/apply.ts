// RFC 3261 §10.3 steps 6-8 on the bindings of one AOR, as a pure function both stores share:
// the in-memory store calls it directly, and redis-scripts.ts does the same steps in Lua (the
// shared store test suite holds both to the same answers).
import type { ApplyRefusal, Binding, BindingChange } from './types.js';

export interface Applied {
  /** The AOR's live bindings after the change, by key. */
  next: Map<string, Binding>;
  added: Binding[];
  refreshed: Binding[];
  removed: Binding[];
}

/**
 * Applies `change` to `current` (the AOR's bindings by key; expired ones are ignored and
 * dropped). Does not modify `current`. `room` is how many more bindings the store as a whole may
 * take. Returns the refusal reason when the change must not be applied at all.
 */
export function applyChange(current: ReadonlyMap<string, Binding>, change: BindingChange, room: number): Applied | ApplyRefusal {
  const { now, callId, cseq } = change;
  const next = new Map<string, Binding>();
  for (const [key, b] of current) if (b.expiresAt > now) next.set(key, b);
  const liveBefore = next.size;
  // §10.3 step 7 (and step 6 for `*`): a binding with the same Call-ID and a CSeq not higher
  // than the stored one means this request is older than what is stored: the whole update fails.
  const added: Binding[] = [];
  const refreshed: Binding[] = [];
  const removed: Binding[] = [];
  if (change.removeAll) {
    for (const b of next.values()) if (isStale(b, callId, cseq)) return 'out-of-order';
    removed.push(...next.values());
    next.clear();
    return { next, added, refreshed, removed };
  }
  // A key named twice in one request: the last Contact for it wins.
  const final = new Map<string, Binding>();
  for (const u of change.upserts) {
    if (isStale(next.get(u.key), callId, cseq)) return 'out-of-order';
    final.delete(u.key);
    final.set(u.key, u);
  }
  for (const [key, u] of final) {
    const old = next.get(key);
    if (u.expiresAt <= now) {
      if (old !== undefined) {
        next.delete(key);
        removed.push(old);
      }
      continue;
    }
    if (old !== undefined) {
      u.registeredAt = old.registeredAt;
      refreshed.push(u);
    } else {
      added.push(u);
    }
    next.set(key, u);
  }
  if (next.size > change.maxBindings && next.size > liveBefore) return 'too-many';
  if (next.size - liveBefore > room) return 'full';
  return { next, added, refreshed, removed };
}

/** §10.3 step 7: the stored binding is newer than (or as new as) this request. */
function isStale(b: Binding | undefined, callId: string, cseq: number): boolean {
  return b !== undefined && b.callId === callId && b.cseq >= cseq;
}

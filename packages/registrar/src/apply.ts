// RFC 3261 §10.3 steps 6-8 on the bindings of one AOR, as a pure function both stores share:
// the in-memory store calls it directly, and redis-scripts.ts does the same steps in Lua (the
// shared store test suite holds both to the same answers). An AOR has a handful of bindings, so
// plain arrays (a scan by key) beat Maps here, in time and in what is kept per AOR.
import type { ApplyRefusal, Binding, BindingChange } from './types.js';

export interface Applied {
  /** The AOR's live bindings after the change (a new array). */
  next: Binding[];
  added: Binding[];
  refreshed: Binding[];
  removed: Binding[];
}

/**
 * Applies `change` to `current` (the AOR's stored bindings; expired ones are ignored and
 * dropped). Does not modify `current`. `room` is how many more bindings the store as a whole may
 * take. Returns the refusal reason when the change must not be applied at all.
 */
export function applyChange(current: readonly Binding[], change: BindingChange, room: number): Applied | ApplyRefusal {
  const { now, callId, cseq } = change;
  const next: Binding[] = [];
  for (const b of current) if (b.expiresAt > now) next.push(b);
  const liveBefore = next.length;
  const added: Binding[] = [];
  const refreshed: Binding[] = [];
  const removed: Binding[] = [];
  // §10.3 step 7 (and step 6 for `*`): a binding with the same Call-ID and a CSeq not lower
  // than the request's means this request is older than what is stored: the whole update fails.
  if (change.removeAll) {
    for (const b of next) if (isStale(b, callId, cseq)) return 'out-of-order';
    removed.push(...next);
    return { next: [], added, refreshed, removed };
  }
  for (const u of change.upserts) if (isStale(find(next, u.key), callId, cseq)) return 'out-of-order';
  // In order; a key named twice in one request: the later Contact wins and is reported once.
  for (const u of change.upserts) {
    const i = indexOf(next, u.key);
    const old = i < 0 ? undefined : next[i];
    const stored = old !== undefined && current.includes(old);
    if (old !== undefined && !stored) {
      drop(added, old);
      drop(refreshed, old);
    }
    if (u.expiresAt <= now) {
      if (old === undefined) continue;
      next.splice(i, 1);
      if (stored) removed.push(old);
      continue;
    }
    if (old === undefined) {
      added.push(u);
      next.push(u);
      continue;
    }
    next[i] = u;
    if (stored) {
      u.registeredAt = old.registeredAt;
      refreshed.push(u);
    } else {
      u.registeredAt = old.registeredAt;
      (current.some((b) => b.key === u.key && b.expiresAt > now) ? refreshed : added).push(u);
    }
  }
  if (next.length > change.maxBindings && next.length > liveBefore) return 'too-many';
  if (next.length - liveBefore > room) return 'full';
  return { next, added, refreshed, removed };
}

/** §10.3 step 7: the stored binding is newer than (or as new as) this request. */
function isStale(b: Binding | undefined, callId: string, cseq: number): boolean {
  return b !== undefined && b.callId === callId && b.cseq >= cseq;
}

function indexOf(list: readonly Binding[], key: string): number {
  for (let i = 0; i < list.length; i++) if ((list[i] as Binding).key === key) return i;
  return -1;
}

function find(list: readonly Binding[], key: string): Binding | undefined {
  const i = indexOf(list, key);
  return i < 0 ? undefined : list[i];
}

function drop(list: Binding[], b: Binding): void {
  const i = list.indexOf(b);
  if (i >= 0) list.splice(i, 1);
}

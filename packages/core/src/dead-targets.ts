// RFC 3263 §4.3: a target that timed out or failed at the transport is tried last by the
// requests that follow, for a while, so they do not each wait 32 s (Timer B/F) on it first.
// A bounded map of `protocol address:port` to when it may be tried first again.
import type { Remote } from '@sipts/message';

export class DeadTargetCache {
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #dead = new Map<string, number>();
  #marked = 0;

  constructor(ttl: number, now: () => number, max = 4096) {
    this.#ttl = ttl;
    this.#now = now;
    this.#max = max;
  }

  /** `target` timed out or its transport failed. */
  markDead(target: Remote): void {
    if (this.#ttl <= 0) return;
    const key = keyOf(target);
    this.#dead.delete(key);
    if (this.#dead.size >= this.#max) {
      const oldest = this.#dead.keys().next().value;
      if (oldest !== undefined) this.#dead.delete(oldest);
    }
    this.#dead.set(key, this.#now() + this.#ttl);
    this.#marked++;
  }

  /** `target` answered: it is alive whatever the cache said. */
  markAlive(target: Remote): void {
    if (this.#dead.size > 0) this.#dead.delete(keyOf(target));
  }

  isDead(target: Remote): boolean {
    if (this.#dead.size === 0) return false;
    const key = keyOf(target);
    const until = this.#dead.get(key);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#dead.delete(key);
    return false;
  }

  /** `targets` with the live ones first, in their order, then the dead ones (tried as a last resort). */
  order(targets: Remote[]): Remote[] {
    if (this.#dead.size === 0 || targets.length < 2) return targets;
    const live: Remote[] = [];
    const dead: Remote[] = [];
    for (const t of targets) (this.isDead(t) ? dead : live).push(t);
    return dead.length === 0 ? targets : live.concat(dead);
  }

  stats(): { deadTargets: number; deadTargetsMarked: number } {
    return { deadTargets: this.#dead.size, deadTargetsMarked: this.#marked };
  }
}

function keyOf(t: Remote): string {
  return `${t.protocol.toUpperCase()} ${t.address}:${t.port}`;
}

// The in-memory defaults: MemoryReplayStore (nonce counts) and MemoryFailureLimiter (failed
// attempts), on a hand-driven clock; their bounds hold whatever an attacker sprays.
import { DigestError, MemoryFailureLimiter, MemoryReplayStore, REPLAY_WINDOW } from '@sipts/digest';

const MIN = 60_000;

type Who = string | undefined;
/** An attempt that fails (if let through). */
function fail(l: MemoryFailureLimiter, user: Who, source: Who): void {
  if (l.acquire(user, source) === 0) l.settle(user, source, 'failure');
}
/** An attempt that authenticates. */
function succeed(l: MemoryFailureLimiter, user: string, source: Who): void {
  expect(l.acquire(user, source)).toBe(0);
  l.settle(user, source, 'success');
}
/** ms blocked; an attempt let through is taken back. */
function blockedFor(l: MemoryFailureLimiter, user: Who, source: Who): number {
  const wait = l.acquire(user, source);
  if (wait === 0) l.settle(user, source, 'neutral');
  return wait;
}

describe('MemoryReplayStore', () => {
  test('each count once per nonce; nonces independent; a window below the highest', () => {
    const store = new MemoryReplayStore({ now: () => 0 });
    expect(store.checkAndRecord('n1', 1, 1000)).toBe(true);
    expect(store.checkAndRecord('n1', 1, 1000)).toBe(false);
    expect(store.checkAndRecord('n2', 1, 1000)).toBe(true); // another nonce: its own counts
    expect(store.checkAndRecord('n1', 5, 1000)).toBe(true); // gap
    expect(store.checkAndRecord('n1', 3, 1000)).toBe(true); // overtaken, not seen: once
    expect(store.checkAndRecord('n1', 3, 1000)).toBe(false);
    expect(store.checkAndRecord('n1', 5 + REPLAY_WINDOW, 1000)).toBe(true);
    expect(store.checkAndRecord('n1', 6, 1000)).toBe(true); // highest - 31: still inside
    expect(store.checkAndRecord('n1', 5, 1000)).toBe(false); // highest - 32: below the window
    expect(store.checkAndRecord('n1', 4 + REPLAY_WINDOW, 1000)).toBe(true);
    expect(store.checkAndRecord('n1', 4 + REPLAY_WINDOW, 1000)).toBe(false);
    expect(store.checkAndRecord('n1', 0xffffffff, 1000)).toBe(true);
    expect(store.checkAndRecord('n1', 0xffffffff, 1000)).toBe(false);
    expect(store.stats()).toMatchObject({ entries: 2, recorded: 8, replays: 5, evicted: 0 });
  });

  test('expired entries go as new ones come', () => {
    const clock = { now: 0 };
    const store = new MemoryReplayStore({ now: () => clock.now });
    for (let i = 0; i < 10; i++) store.checkAndRecord(`old${i}`, 1, 1000);
    clock.now = 2000;
    for (let i = 0; i < 5; i++) store.checkAndRecord(`new${i}`, 1, 5000);
    expect(store.stats().entries).toBe(5); // two expired ones dropped per insertion
    expect(store.stats().evicted).toBe(0);
  });

  test('bounded: when full the oldest goes, and nonces expiring no later are refused from then on', () => {
    const clock = { now: 0 };
    const store = new MemoryReplayStore({ maxEntries: 100, now: () => clock.now });
    for (let i = 0; i < 100; i++) expect(store.checkAndRecord(`n${i}`, 1, 10_000 + i)).toBe(true);
    expect(store.checkAndRecord('n100', 1, 10_100)).toBe(true);
    expect(store.stats()).toMatchObject({ entries: 100, evicted: 1 });
    // n0's entry is gone: a replay of its count 1 must still be refused...
    expect(store.checkAndRecord('n0', 1, 10_000)).toBe(false);
    // ...and so is any nonce as old, even one never used (its client gets stale=true).
    expect(store.checkAndRecord('never-used', 1, 9_000)).toBe(false);
    expect(store.stats().refusedAfterEviction).toBe(2);
    // Younger nonces are unaffected.
    expect(store.checkAndRecord('young', 1, 20_000)).toBe(true);
    for (let i = 0; i < 10_000; i++) store.checkAndRecord(`spray${i}`, 1, 30_000);
    expect(store.stats().entries).toBe(100);
  });

  test('options', () => {
    expect(() => new MemoryReplayStore({ maxEntries: 0 })).toThrow(DigestError);
    expect(() => new MemoryReplayStore({ maxEntries: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new MemoryReplayStore({ now: 5 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});

describe('MemoryFailureLimiter', () => {
  function limiter(options: ConstructorParameters<typeof MemoryFailureLimiter>[0] = {}) {
    const clock = { now: 1_000_000 };
    return { limiter: new MemoryFailureLimiter({ now: () => clock.now, ...options }), clock };
  }

  test('per source: blocked after maxSourceFailures until the window ends, whoever the user', () => {
    const { limiter: l, clock } = limiter({ maxSourceFailures: 3, maxUserFailures: 100, window: 5 * MIN });
    for (let i = 0; i < 3; i++) {
      expect(blockedFor(l, `user${i}`, 'udp:203.0.113.9')).toBe(0);
      fail(l, `user${i}`, 'udp:203.0.113.9');
    }
    expect(l.stats()).toMatchObject({ failures: 3, blocked: 0 });
    expect(blockedFor(l, 'someone-else', 'udp:203.0.113.9')).toBe(5 * MIN);
    expect(blockedFor(l, 'someone-else', 'udp:198.51.100.1')).toBe(0); // other sources are not affected
    clock.now += 2 * MIN;
    expect(blockedFor(l, 'user0', 'udp:203.0.113.9')).toBe(3 * MIN);
    clock.now += 3 * MIN;
    expect(blockedFor(l, 'user0', 'udp:203.0.113.9')).toBe(0);
    expect(l.stats()).toMatchObject({ failures: 3, blocked: 2 });
  });

  test('per user: blocked after maxUserFailures from any number of sources', () => {
    const { limiter: l } = limiter({ maxUserFailures: 5, maxSourceFailures: 100 });
    for (let i = 0; i < 5; i++) fail(l, 'alice', `udp:203.0.113.${i}`);
    expect(blockedFor(l, 'alice', 'udp:192.0.2.50')).toBeGreaterThan(0);
    expect(blockedFor(l, 'bob', 'udp:192.0.2.50')).toBe(0);
  });

  test('an unknown account (user undefined) counts only against its source', () => {
    const { limiter: l } = limiter({ maxSourceFailures: 2 });
    fail(l, undefined, 'udp:203.0.113.9');
    fail(l, undefined, 'udp:203.0.113.9');
    expect(blockedFor(l, undefined, 'udp:203.0.113.9')).toBeGreaterThan(0);
    expect(l.stats()).toMatchObject({ users: 0, sources: 1 });
  });

  test('a trusted pair (recent success) ignores user and source blocks, within its own budget', () => {
    const { limiter: l, clock } = limiter({ maxUserFailures: 3, maxSourceFailures: 3, maxTrustedFailures: 2 });
    succeed(l, 'alice', 'udp:192.0.2.10');
    // An attacker hammers alice from elsewhere, and from alice's own NAT address.
    for (let i = 0; i < 10; i++) fail(l, 'alice', 'udp:203.0.113.9');
    fail(l, 'mallory', 'udp:192.0.2.10');
    fail(l, 'mallory', 'udp:192.0.2.10');
    fail(l, 'mallory', 'udp:192.0.2.10');
    expect(blockedFor(l, 'alice', 'udp:203.0.113.9')).toBeGreaterThan(0);
    expect(blockedFor(l, 'alice', 'udp:198.51.100.7')).toBeGreaterThan(0); // a new device of alice: per-user block
    expect(blockedFor(l, 'mallory', 'udp:192.0.2.10')).toBeGreaterThan(0);
    expect(blockedFor(l, 'alice', 'udp:192.0.2.10')).toBe(0); // alice's phone keeps working
    // Its own failures are limited too (someone sharing that address guessing alice's password).
    fail(l, 'alice', 'udp:192.0.2.10');
    expect(blockedFor(l, 'alice', 'udp:192.0.2.10')).toBe(0);
    fail(l, 'alice', 'udp:192.0.2.10');
    expect(blockedFor(l, 'alice', 'udp:192.0.2.10')).toBeGreaterThan(0);
    // Trust lasts trustTtl after the last success.
    clock.now += 24 * 60 * MIN + 1;
    expect(l.stats().trusted).toBe(1);
    succeed(l, 'bob', 'udp:192.0.2.11');
    expect(l.stats().trusted).toBe(1);
  });

  test('bounded under a spray of sources and users; the busiest counters are not the ones dropped', () => {
    const { limiter: l } = limiter({ maxEntries: 1000, maxSourceFailures: 20, maxUserFailures: 1_000_000 });
    for (let i = 0; i < 19; i++) fail(l, 'alice', 'udp:203.0.113.9'); // one short of blocked
    for (let i = 0; i < 50_000; i++) fail(l, `user${i}`, `udp:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const stats = l.stats();
    expect(stats.sources).toBeLessThanOrEqual(1000);
    expect(stats.users).toBeLessThanOrEqual(1000);
    expect(stats.evicted).toBeGreaterThan(90_000);
    // The guesser's counter survived the spray: one more failure blocks it.
    fail(l, 'alice', 'udp:203.0.113.9');
    expect(blockedFor(l, 'alice', 'udp:203.0.113.9')).toBeGreaterThan(0);
    // A newcomer is never refused for lack of room.
    expect(blockedFor(l, 'carol', 'udp:192.0.2.77')).toBe(0);
  });

  test('trusted pairs are bounded too', () => {
    const { limiter: l } = limiter({ maxTrusted: 100 });
    for (let i = 0; i < 1000; i++) succeed(l, `u${i}`, `udp:10.0.${i >> 8}.${i & 255}`);
    expect(l.stats().trusted).toBe(100);
  });

  test('an attempt counts from acquire on: concurrent attempts cannot all pass; settle takes back non-failures', () => {
    const { limiter: l } = limiter({ maxSourceFailures: 3, maxUserFailures: 100 });
    // Three in flight at once: the fourth is refused before any of them has ended.
    expect([1, 2, 3, 4].map(() => l.acquire('alice', 'udp:203.0.113.9'))).toEqual([0, 0, 0, 300_000]);
    l.settle('alice', 'udp:203.0.113.9', 'neutral'); // a stale nonce: no guess was tested
    l.settle('alice', 'udp:203.0.113.9', 'failure');
    l.settle('alice', 'udp:203.0.113.9', 'failure');
    expect(l.acquire('alice', 'udp:203.0.113.9')).toBe(0); // the neutral one was taken back
    l.settle('alice', 'udp:203.0.113.9', 'failure');
    expect(l.acquire('alice', 'udp:203.0.113.9')).toBeGreaterThan(0);
    expect(l.stats()).toMatchObject({ failures: 3, blocked: 2 });
  });

  test('0 turns a limit off', () => {
    const { limiter: l } = limiter({ maxUserFailures: 0, maxSourceFailures: 0 });
    for (let i = 0; i < 100; i++) fail(l, 'alice', 'udp:203.0.113.9');
    expect(blockedFor(l, 'alice', 'udp:203.0.113.9')).toBe(0);
  });

  test('options', () => {
    for (const bad of [{ window: 0 }, { window: Number.NaN }, { maxUserFailures: -1 }, { maxSourceFailures: 1.5 }, { maxEntries: 0 }, { trustTtl: -5 }, { now: 'x' as never }]) {
      expect(() => new MemoryFailureLimiter(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});

// The limits on fake time, without sockets: deadlines that a trickle cannot renew, the order in
// which the pending budget sheds, whom admission evicts; and the per-source key.
import { sourceKey } from '../src/address.js';
import { ConnectionState, Incomplete } from '../src/connection.js';
import type { StreamConnection } from '../src/connection.js';
import { ConnectionLimits } from '../src/limits.js';
import type { LimitSettings } from '../src/limits.js';

interface FakeFramer {
  heldBytes: number;
  progress: number;
  phase: 'idle' | 'header' | 'body' | 'stopped';
}

let nextId = 0;
function fakeConnection(): StreamConnection & { id: number; framer: FakeFramer } {
  return {
    id: nextId++,
    framer: { heldBytes: 0, progress: 0, phase: 'idle' },
    state: ConnectionState.Open,
    refs: 0,
    retired: false,
    lastActive: 0,
    incomplete: Incomplete.None,
    incompleteSince: 0,
    progress: 0,
    heldBytes: 0,
  } as unknown as StreamConnection & { id: number; framer: FakeFramer };
}

const SETTINGS: LimitSettings = { idleTimeout: 0, headerTimeout: 20_000, bodyTimeout: 20_000, evictAfter: 5_000, maxPendingBytes: 0 };

function limits(settings: Partial<LimitSettings> = {}) {
  const expired: Array<[number, string]> = [];
  const shed: number[] = [];
  const l: ConnectionLimits = new ConnectionLimits(
    { ...SETTINGS, ...settings },
    {
      expire: (c, why) => {
        expired.push([(c as unknown as { id: number }).id, why]);
        l.retire(c);
      },
      shed: (c) => {
        shed.push((c as unknown as { id: number }).id);
        l.retire(c);
      },
    },
  );
  return { l, expired, shed };
}

/** One chunk framed: the framer now holds `held` bytes in `phase`; `starts` if a unit began. */
function chunk(l: ConnectionLimits, c: ReturnType<typeof fakeConnection>, phase: FakeFramer['phase'], held: number, starts: boolean): void {
  c.framer.phase = phase;
  c.framer.heldBytes = held;
  if (starts) c.framer.progress++;
  l.framed(c, false);
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('ConnectionLimits on fake time', () => {
  test('the header deadline runs from the first byte; more bytes of the same header never renew it', () => {
    const { l, expired } = limits();
    const c = fakeConnection();
    chunk(l, c, 'header', 256, true);
    for (let s = 0; s < 19; s++) {
      jest.advanceTimersByTime(1_000);
      chunk(l, c, 'header', 256 + s, false);
    }
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1_100);
    expect(expired).toEqual([[c.id, 'header']]);
    l.stop();
  });

  test('the body deadline starts when the header section ends, and a finished message clears it', () => {
    const { l, expired } = limits({ bodyTimeout: 5_000 });
    const c = fakeConnection();
    chunk(l, c, 'header', 100, true);
    jest.advanceTimersByTime(15_000);
    chunk(l, c, 'body', 100, true);
    jest.advanceTimersByTime(4_000);
    chunk(l, c, 'idle', 0, true);
    jest.advanceTimersByTime(30_000);
    expect(expired).toEqual([]);
    chunk(l, c, 'body', 10, true);
    jest.advanceTimersByTime(5_100);
    expect(expired).toEqual([[c.id, 'body']]);
    l.stop();
  });

  test('idle: only messages renew it, held connections are exempt until released', () => {
    const { l, expired } = limits({ idleTimeout: 10_000, headerTimeout: 0 });
    const a = fakeConnection();
    const b = fakeConnection();
    l.touch(a, performance.now());
    l.touch(b, performance.now());
    b.refs = 1;
    l.hold(b);
    jest.advanceTimersByTime(5_000);
    chunk(l, a, 'header', 50, true); // a message starts: activity
    jest.advanceTimersByTime(5_000);
    chunk(l, a, 'header', 60, false); // more of it: not activity
    jest.advanceTimersByTime(5_100);
    expect(expired).toEqual([[a.id, 'idle']]);
    b.refs = 0;
    l.touch(b, performance.now());
    jest.advanceTimersByTime(10_100);
    expect(expired).toEqual([
      [a.id, 'idle'],
      [b.id, 'idle'],
    ]);
    l.stop();
  });

  test('over maxPendingBytes the message that started first is shed, until the rest fits', () => {
    const { l, shed } = limits({ maxPendingBytes: 1_000 });
    const [a, b, c] = [fakeConnection(), fakeConnection(), fakeConnection()];
    chunk(l, a, 'header', 400, true);
    jest.advanceTimersByTime(10);
    chunk(l, b, 'body', 400, true);
    jest.advanceTimersByTime(10);
    chunk(l, c, 'header', 100, true);
    expect(l.pendingBytes).toBe(900);
    // a grows (still the same header): over the budget, and a started first.
    chunk(l, a, 'header', 700, false);
    expect(shed).toEqual([a.id]);
    expect(l.pendingBytes).toBe(500);
    l.stop();
  });

  test('eviction picks the oldest slow message past evictAfter, else the longest idle past it', () => {
    const { l } = limits({ evictAfter: 5_000 });
    const [idle1, idle2, slow] = [fakeConnection(), fakeConnection(), fakeConnection()];
    l.touch(idle1, performance.now());
    jest.advanceTimersByTime(1_000);
    l.touch(idle2, performance.now());
    chunk(l, slow, 'header', 10, true);
    expect(l.victim(performance.now())).toBeUndefined();
    jest.advanceTimersByTime(4_500);
    // idle1 is idle 5.5 s, the slow message only 4.5 s old: idle1 goes.
    expect(l.victim(performance.now())).toEqual({ idle: idle1 });
    jest.advanceTimersByTime(600);
    expect(l.victim(performance.now())).toEqual({ slow });
    l.stop();
  });
});

describe('sourceKey', () => {
  test('IPv4 as it is; IPv6 by its /64, whatever the spelling', () => {
    expect(sourceKey('192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('2001:db8:0:0:ffff::2')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('2001:0db8:0000:0000:1:2:3:4')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(sourceKey('1::2:3:4:5:6:7')).toBe('1:0:2:3::/64');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });
});

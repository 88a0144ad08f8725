// The layer's timer queue (src/timers.ts): one lane per delay, a heap for the rest. What the
// transaction tests cannot see from outside: the order across lanes and the heap, delays past
// the lane limit, and that a cancelled slot is not held by its lane.
import { ManualClock } from '../src/clock.js';
import { TimerQueue, TimerSlot, type TimerName } from '../src/timers.js';

function setup(): { clock: ManualClock; queue: TimerQueue; fired: string[]; slot: (id: string) => TimerSlot } {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const queue = new TimerQueue(clock, (e) => errors.push(e));
  const fired: string[] = [];
  const slot = (id: string): TimerSlot => new TimerSlot({ onTimer: (name: TimerName) => fired.push(`${id}:${name}@${clock.now()}`) });
  return { clock, queue, fired, slot };
}

test('slots fire by due time across delays, same due time in scheduling order', () => {
  const { clock, queue, fired, slot } = setup();
  const a = slot('a');
  const b = slot('b');
  const c = slot('c');
  const d = slot('d');
  queue.schedule(a, 'J', 32000);
  queue.schedule(b, 'A', 500);
  clock.advance(300);
  queue.schedule(c, 'A', 500); // due 800, after b (same lane)
  queue.schedule(d, 'K', 200); // due 500, same time as b, scheduled later
  clock.advance(40000);
  expect(fired).toEqual(['b:A@500', 'd:K@500', 'c:A@800', 'a:J@32000']);
  expect(queue.size).toBe(0);
});

test('rescheduling moves a slot; cancelling leaves nothing to fire', () => {
  const { clock, queue, fired, slot } = setup();
  const a = slot('a');
  const b = slot('b');
  queue.schedule(a, 'E', 500);
  queue.schedule(a, 'E', 1000); // rescheduled: only the second counts
  queue.schedule(b, 'F', 500);
  queue.cancel(b);
  expect(queue.size).toBe(1);
  expect(b.scheduled).toBe(false);
  clock.advance(2000);
  expect(fired).toEqual(['a:E@1000']);
});

test('more distinct delays than lanes: the rest go to the heap, and all fire in order', () => {
  const { clock, queue, fired, slot } = setup();
  // 100 distinct delays, scheduled longest first.
  for (let i = 100; i >= 1; i--) queue.schedule(slot(String(i)), 'B', i * 10);
  expect(queue.size).toBe(100);
  clock.advance(2000);
  expect(fired).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 1}:B@${(i + 1) * 10}`));
  expect(queue.size).toBe(0);
});

test('a cancelled slot is not referenced by its lane (the transaction it belongs to can be collected)', () => {
  const { clock, queue, slot } = setup();
  const keep = slot('keep');
  const gone = slot('gone');
  queue.schedule(keep, 'J', 32000);
  queue.schedule(gone, 'J', 32000);
  const lane = gone.lane as unknown as { slots: (TimerSlot | undefined)[] };
  expect(lane.slots).toContain(gone);
  queue.cancel(gone);
  expect(lane.slots).not.toContain(gone);
  expect(gone.lane).toBeUndefined();
  clock.advance(32000);
  expect(keep.scheduled).toBe(false);
});

test('a long lane is compacted as it drains, and 100000 timers fire in order', () => {
  const { clock, queue } = setup();
  let fired = 0;
  let last = -1;
  let inOrder = true;
  for (let i = 0; i < 100000; i++) {
    const s = new TimerSlot({
      onTimer: () => {
        fired++;
        if (clock.now() < last) inOrder = false;
        last = clock.now();
      },
    });
    queue.schedule(s, 'L', 32000);
    if (i % 100 === 0) clock.advance(1);
  }
  clock.advance(33000);
  expect(fired).toBe(100000);
  expect(inOrder).toBe(true);
  expect(queue.size).toBe(0);
});

test('due times are whole milliseconds counted from the queue, even on a fractional clock', () => {
  // A slot storing performance.now() + delay would hold a heap number each (a GC object per
  // timer, ~100000 at 1800 calls/s); whole milliseconds from the queue's start are stored inline.
  const clock = new ManualClock();
  clock.advance(1_700_000_000_000.25); // a Date.now()-sized, fractional clock
  const queue = new TimerQueue(clock, () => {});
  const fired: number[] = [];
  const a = new TimerSlot({ onTimer: () => fired.push(clock.now()) });
  queue.schedule(a, 'A', 500.5);
  expect(a.at).toBe(500);
  // Rounded down, never late: due at 500.5 after scheduling, it fires once 500 have passed.
  clock.advance(499.5);
  expect(fired).toHaveLength(0);
  clock.advance(0.75);
  expect(fired).toHaveLength(1);
  expect(queue.size).toBe(0);
});

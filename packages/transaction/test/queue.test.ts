// The layer's timer queue: one clock timer for every SIP timer, in due order, with cancel and
// reschedule, and a thrown callback reported instead of escaping.
import { ManualClock, realClock } from '@sipts/transaction';
import { TimerQueue, TimerSlot, type TimerName } from '../src/timers.js';

function owner(log: string[], label: string, clock: ManualClock, fail = false): { onTimer(name: TimerName): void } {
  return {
    onTimer(name: TimerName): void {
      log.push(`${label}:${name}@${clock.now()}`);
      if (fail) throw new Error('boom');
    },
  };
}

test('slots fire in due order, ties in scheduling order, using a single clock timer', () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const q = new TimerQueue(clock, (e) => errors.push(e));
  const log: string[] = [];
  const slots = ['a', 'b', 'c', 'd'].map((l) => new TimerSlot(owner(log, l, clock)));
  q.schedule(slots[0]!, 'A', 300);
  q.schedule(slots[1]!, 'B', 100);
  q.schedule(slots[2]!, 'E', 300);
  q.schedule(slots[3]!, 'F', 50);
  expect(clock.pending()).toBe(1);
  q.cancel(slots[3]!);
  q.schedule(slots[1]!, 'G', 200); // rescheduled later
  clock.advance(1000);
  expect(log).toEqual(['b:G@200', 'a:A@300', 'c:E@300']);
  expect(q.size).toBe(0);
  expect(errors).toEqual([]);
});

test('a slot scheduled with 0 ms from inside a callback runs in the same pass', () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock, () => {});
  const log: string[] = [];
  const second = new TimerSlot(owner(log, 'second', clock));
  const first = new TimerSlot({
    onTimer: () => {
      log.push(`first@${clock.now()}`);
      q.schedule(second, 'K', 0);
    },
  });
  q.schedule(first, 'J', 10);
  clock.advance(10);
  expect(log).toEqual(['first@10', 'second:K@10']);
});

test('a callback that throws is reported and the queue carries on', () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const q = new TimerQueue(clock, (e) => errors.push(e));
  const log: string[] = [];
  q.schedule(new TimerSlot(owner(log, 'bad', clock, true)), 'H', 10);
  q.schedule(new TimerSlot(owner(log, 'good', clock)), 'I', 20);
  clock.advance(30);
  expect(log).toEqual(['bad:H@10', 'good:I@20']);
  expect(errors).toHaveLength(1);
});

test('clear drops every slot and the clock timer', () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock, () => {});
  const log: string[] = [];
  for (let i = 0; i < 100; i++) q.schedule(new TimerSlot(owner(log, String(i), clock)), 'A', 10 + ((i * 37) % 50));
  q.clear();
  expect(q.size).toBe(0);
  expect(clock.pending()).toBe(0);
  clock.advance(1000);
  expect(log).toEqual([]);
});

test('a heap of many slots with random cancels fires the rest in order', () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock, () => {});
  const fired: number[] = [];
  const slots: TimerSlot[] = [];
  for (let i = 0; i < 2000; i++) {
    const due = (i * 7919) % 5000;
    const slot = new TimerSlot({ onTimer: () => fired.push(due) });
    slots.push(slot);
    q.schedule(slot, 'A', due);
  }
  for (let i = 0; i < 2000; i += 3) q.cancel(slots[i]!);
  clock.advance(6000);
  expect(fired).toHaveLength(2000 - Math.ceil(2000 / 3));
  expect([...fired].sort((a, b) => a - b)).toEqual(fired);
});

test('the default clock unrefs its timers and clears them', () => {
  const handle = realClock.setTimeout(() => {}, 60_000) as ReturnType<typeof setTimeout>;
  expect(handle.hasRef()).toBe(false);
  realClock.clearTimeout(handle);
  expect(typeof realClock.now()).toBe('number');
});

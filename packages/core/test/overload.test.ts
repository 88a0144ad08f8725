// Graceful overload: the shedding decision on fake samples, the /proc/net/udp reading, and a
// real stack that answers new INVITEs 503 (stateless) while its event loop is saturated and
// serves them again once it is not.
import { OverloadController, makeResponse } from '@sipts/core';
import type { OverloadState } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('OverloadController (the decision)', () => {
  test('normal below the thresholds; one GC-like spike does not shed, a lasting delay does', () => {
    const c = new OverloadController({ shedDelay: 40, dropDelay: 200, recoveryTime: 1000 });
    let t = 0;
    expect(c.update({ delayMs: 5, queueDelayMs: 0 }, (t += 50))).toBe('normal');
    expect(c.update({ delayMs: 120, queueDelayMs: 0 }, (t += 50))).toBe('normal'); // EWMA 1/4: ~34
    expect(c.update({ delayMs: 120, queueDelayMs: 0 }, (t += 50))).toBe('shedding');
    expect(c.admit()).toBe('reject');
  });

  test('the UDP receive delay alone sheds, and far past it drops', () => {
    const c = new OverloadController({ shedQueueDelay: 100, dropQueueDelay: 400 });
    expect(c.update({ delayMs: 0, queueDelayMs: 500 }, 0)).toBe('shedding'); // EWMA: 125
    expect(c.update({ delayMs: 0, queueDelayMs: 2000 }, 50)).toBe('dropping'); // 594
    expect(c.admit()).toBe('drop');
    // The drop signal gone: back to shedding at once, not to normal.
    expect(c.update({ delayMs: 0, queueDelayMs: 0 }, 100)).toBe('dropping'); // 445
    expect(c.update({ delayMs: 0, queueDelayMs: 0 }, 150)).toBe('shedding'); // 334: not normal at once
  });

  test('shedding ends only after recoveryTime of calm (no flapping), then admits again', () => {
    const states: OverloadState[] = [];
    const c = new OverloadController({ recoveryTime: 1000 }, (s) => states.push(s));
    c.update({ delayMs: 0, queueDelayMs: 2000 }, 0); // smoothed 500: past dropQueueDelay
    expect(c.state).toBe('dropping');
    const normalAt: number[] = [];
    for (let t = 100; t <= 3000; t += 100) {
      c.update({ delayMs: 0, queueDelayMs: 0 }, t);
      if (c.state === 'normal' && normalAt.length === 0) normalAt.push(t);
    }
    // The smoothed delay stays above half the shed threshold (50 ms) until t = 800: shedding
    // ends 1000 ms later, not before.
    expect(normalAt).toEqual([1800]);
    expect(c.admit()).toBe('accept');
    expect(states).toEqual(['dropping', 'shedding', 'normal']);
    expect(c.stats()).toMatchObject({ state: 'normal', episodes: 1, dropped: 0, rejected: 0 });
  });

  test('bad options are refused', () => {
    expect(() => new OverloadController({ shedDelay: 0 })).toThrow(/shedDelay/);
    expect(() => new OverloadController({ shedQueueDelay: -1 })).toThrow(/shedQueueDelay/);
  });
});

describe('a saturated stack sheds new INVITEs and serves again afterwards', () => {
  function block(ms: number): void {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // a CPU-bound handler: nothing else runs
    }
  }

  test('503 + Retry-After while the event loop is late; 200 once it has recovered', async () => {
    const states: string[] = [];
    const uas = await listeningStack({ overload: { sampleInterval: 20, recoveryTime: 300 }, retryAfter: 2 }, (rq, _remote, reply) =>
      reply.reply(makeResponse(rq, 200)),
    );
    uas.on('overload', (stats) => states.push(stats.state));
    const uac = await listeningStack({ overload: false });
    // Saturate the event loop in slices, so the sampler sees it late several times in a row.
    for (let i = 0; i < 4 && uas.stats().overload?.state === 'normal'; i++) {
      block(150);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(uas.stats().overload?.state).not.toBe('normal');
    const shed = await sendAndWait(uac, request('INVITE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`));
    expect([503]).toContain(shed.response.status);
    expect(shed.response.headers['retry-after']).toBe('2');
    expect(uas.stats().overloadRejected).toBeGreaterThanOrEqual(1);
    // Calm: shedding ends by itself and a new call is served.
    for (let i = 0; i < 100 && uas.stats().overload?.state !== 'normal'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(uas.stats().overload?.state).toBe('normal');
    const ok = await sendAndWait(uac, request('INVITE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`));
    expect(ok.response.status).toBe(200);
    expect(states[0]).not.toBe('normal');
    expect(states[states.length - 1]).toBe('normal');
  });
});

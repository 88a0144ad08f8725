// Graceful overload: the shedding decision on fake samples, the /proc/net/udp reading, and a
// real stack that answers new INVITEs 503 (stateless) while its event loop is saturated and
// serves them again once it is not.
import { OverloadController, makeResponse } from '@sipts/core';
import type { OverloadState } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('OverloadController (the decision)', () => {
  test('normal below the thresholds; one GC-like spike does not shed, a lasting delay does, by a growing share', () => {
    const c = new OverloadController({ shedDelay: 100, dropDelay: 500, rampTime: 500, sampleInterval: 50 });
    let t = 0;
    expect(c.update({ delayMs: 5, queueDelayMs: 0 }, (t += 50))).toBe('normal');
    expect(c.update({ delayMs: 300, queueDelayMs: 0 }, (t += 50))).toBe('normal'); // EWMA 1/4: ~79
    expect(c.update({ delayMs: 300, queueDelayMs: 0 }, (t += 50))).toBe('shedding'); // ~134: share 0.1
    expect(c.stats().shedShare).toBeCloseTo(0.1);
    // A share of 0.1 refuses exactly one new request in ten.
    const decisions = Array.from({ length: 20 }, () => c.admit());
    expect(decisions.filter((d) => d === 'reject')).toHaveLength(2);
    expect(decisions.filter((d) => d === 'accept')).toHaveLength(18);
  });

  test('the share rises while a signal stays over its threshold, to refusing everything after rampTime', () => {
    const c = new OverloadController({ shedQueueDelay: 200, dropQueueDelay: 5000, rampTime: 500, sampleInterval: 50 });
    let t = 0;
    c.update({ delayMs: 0, queueDelayMs: 1000 }, (t += 50)); // smoothed 250: over
    for (let i = 0; i < 20; i++) c.update({ delayMs: 0, queueDelayMs: 300 }, (t += 50));
    expect(c.stats().shedShare).toBe(1);
    expect(c.admit()).toBe('reject');
  });

  test('far past it drops; when the drop signal goes, shedding goes on and then fades', () => {
    const c = new OverloadController({ shedQueueDelay: 200, dropQueueDelay: 1000, recoveryTime: 1000, sampleInterval: 50 });
    expect(c.update({ delayMs: 0, queueDelayMs: 8000 }, 50)).toBe('dropping'); // 2000
    expect(c.admit()).toBe('drop');
    let t = 50;
    const states: string[] = [];
    for (let i = 0; i < 60; i++) states.push(c.update({ delayMs: 0, queueDelayMs: 0 }, (t += 50)));
    // 2000 -> under 1000 after 3 samples (shedding, share 1), under 100 after 11, then 1000 ms to fade.
    expect(states.indexOf('shedding')).toBe(2);
    const normalAt = states.indexOf('normal');
    expect(normalAt).toBeGreaterThan(20);
    expect(normalAt).toBeLessThan(40);
    expect(c.admit()).toBe('accept');
  });

  test('between half the threshold and the threshold the share holds (hysteresis)', () => {
    const c = new OverloadController({ shedQueueDelay: 200, rampTime: 500, recoveryTime: 1000, sampleInterval: 50 });
    let t = 0;
    for (let i = 0; i < 4; i++) c.update({ delayMs: 0, queueDelayMs: 400 }, (t += 50));
    // Let the smoothed delay settle between 100 and 200.
    for (let i = 0; i < 12; i++) c.update({ delayMs: 0, queueDelayMs: 150 }, (t += 50));
    const share = c.stats().shedShare;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
    for (let i = 0; i < 40; i++) c.update({ delayMs: 0, queueDelayMs: 150 }, (t += 50));
    expect(c.stats().shedShare).toBeCloseTo(share);
  });

  test('state changes are reported once each', () => {
    const states: OverloadState[] = [];
    const c = new OverloadController({ recoveryTime: 100, sampleInterval: 50 }, (s) => states.push(s));
    c.update({ delayMs: 0, queueDelayMs: 8000 }, 50);
    let t = 50;
    for (let i = 0; i < 60; i++) c.update({ delayMs: 0, queueDelayMs: 0 }, (t += 50));
    expect(states).toEqual(['dropping', 'shedding', 'normal']);
    expect(c.stats()).toMatchObject({ state: 'normal', episodes: 1, shedShare: 0 });
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
    const uas = await listeningStack({ overload: { shedDelay: 40, sampleInterval: 20, rampTime: 20, recoveryTime: 300 }, retryAfter: 2 }, (rq, _remote, reply) =>
      reply.reply(makeResponse(rq, 200)),
    );
    uas.on('overload', (stats) => states.push(stats.state));
    const uac = await listeningStack({ overload: false });
    // Saturate the event loop in slices, so the sampler sees it late several times in a row.
    for (let i = 0; i < 10 && uas.stats().overload?.state === 'normal'; i++) {
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

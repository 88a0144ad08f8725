// Graceful overload: the shedding decision on fake samples, the /proc/net/udp reading, and a
// real stack that answers new INVITEs 503 (stateless) while its event loop is saturated and
// serves them again once it is not.
import { OverloadController, makeResponse } from '@sipts/core';
import type { OverloadState } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('OverloadController (the decision, an integral controller on the delay)', () => {
  // smoothingTime 174 ms: a weight of 1/4 per 50 ms sample (1 - exp(-50/174)), easy to follow by
  // hand; sustainTime 0: the share grows from the first sample over the target (the integral
  // controller alone; the sustain time has tests of its own below).
  const opts = {
    shedDelay: 100,
    dropDelay: 500,
    shedQueueDelay: 100,
    dropQueueDelay: 1000,
    rampTime: 1000,
    recoveryTime: 1000,
    sampleInterval: 50,
    smoothingTime: 174,
    sustainTime: 0,
  };

  test('below the targets nothing is shed; one GC-like spike sheds a small share only, briefly', () => {
    const c = new OverloadController(opts);
    let t = 0;
    expect(c.update({ delayMs: 5, queueDelayMs: 20 }, (t += 50))).toBe('normal');
    // One 300 ms spike: smoothed 75, under the target.
    expect(c.update({ delayMs: 0, queueDelayMs: 300 }, (t += 50))).toBe('normal');
    // A second one: smoothed ~131, e = 0.31: share grows by 0.31 * 50/1000.
    expect(c.update({ delayMs: 0, queueDelayMs: 300 }, (t += 50))).toBe('shedding');
    expect(c.stats().shedShare).toBeCloseTo(0.016, 2);
    // Then calm: the share fades within a few hundred ms.
    for (let i = 0; i < 10; i++) c.update({ delayMs: 0, queueDelayMs: 0 }, (t += 50));
    expect(c.state).toBe('normal');
  });

  test('the share grows with how far over the target the delay is, and is applied exactly', () => {
    const c = new OverloadController(opts);
    let t = 0;
    for (let i = 0; i < 40; i++) c.update({ delayMs: 0, queueDelayMs: 200 }, (t += 50)); // smoothed -> 200: e = 1
    const share = c.stats().shedShare;
    expect(share).toBeGreaterThan(0.8); // ~2 s at e ~ 1 (minus the smoothing's rise)
    const decisions = Array.from({ length: 100 }, () => c.admit());
    const refused = decisions.filter((d) => d === 'reject').length;
    expect(Math.abs(refused - share * 100)).toBeLessThanOrEqual(1);
  });

  test('it settles: a delay hovering at the target holds the share where it is', () => {
    const c = new OverloadController(opts);
    let t = 0;
    for (let i = 0; i < 10; i++) c.update({ delayMs: 0, queueDelayMs: 300 }, (t += 50));
    for (let i = 0; i < 20; i++) c.update({ delayMs: 0, queueDelayMs: 100 }, (t += 50)); // smoothing settles near 100
    const share = c.stats().shedShare;
    for (let i = 0; i < 40; i++) c.update({ delayMs: 0, queueDelayMs: 100 }, (t += 50));
    expect(c.stats().shedShare).toBeCloseTo(share, 2);
    expect(share).toBeGreaterThan(0);
  });

  test('far past it drops; when the drop signal goes, shedding goes on and then fades', () => {
    const c = new OverloadController(opts);
    expect(c.update({ delayMs: 0, queueDelayMs: 8000 }, 50)).toBe('dropping'); // 2000
    expect(c.admit()).toBe('drop');
    let t = 50;
    const states: string[] = [];
    for (let i = 0; i < 60; i++) states.push(c.update({ delayMs: 0, queueDelayMs: 0 }, (t += 50)));
    expect(states.indexOf('shedding')).toBe(2); // smoothed under 1000 after 3 samples, share 1
    const normalAt = states.indexOf('normal');
    expect(normalAt).toBeGreaterThan(15);
    expect(normalAt).toBeLessThan(40);
    expect(c.admit()).toBe('accept');
  });

  test('state changes are reported once each', () => {
    const states: OverloadState[] = [];
    const c = new OverloadController({ ...opts, recoveryTime: 100 }, (s) => states.push(s));
    c.update({ delayMs: 0, queueDelayMs: 8000 }, 50);
    let t = 50;
    for (let i = 0; i < 60; i++) c.update({ delayMs: 0, queueDelayMs: 0 }, (t += 50));
    expect(states).toEqual(['dropping', 'shedding', 'normal']);
    expect(c.stats()).toMatchObject({ state: 'normal', episodes: 1, shedShare: 0 });
  });

  test('defaults: a GC pause at a light load sheds nothing; a backlog that lasts is shed', () => {
    const c = new OverloadController();
    let t = 0;
    let most = 0;
    // A 250 ms pause with plenty to spare: the probe waits a little longer than the pause.
    for (let age = 0; age <= 300; age += 50) {
      c.update({ delayMs: age === 250 ? 250 : 0, queueDelayMs: age }, (t += 50));
      most = Math.max(most, c.stats().shedShare);
    }
    for (let i = 0; i < 40; i++) {
      c.update({ delayMs: 0, queueDelayMs: 5 }, (t += 50));
      most = Math.max(most, c.stats().shedShare);
    }
    expect(most).toBe(0);
    expect(c.state).toBe('normal');
    // Overload: the receive queue holds a second's worth and stays there.
    for (let i = 0; i < 30; i++) c.update({ delayMs: 10, queueDelayMs: 1000 }, (t += 50));
    expect(c.state).toBe('shedding');
    expect(c.stats().shedShare).toBeGreaterThan(0.5);
  });

  test('a stall is not overload: one late sample, however long, and the backlog it leaves sheds nothing', () => {
    // Defaults (targets 200 and 300 ms, a sample every 50 ms) at a load the process carries. The
    // event loop stops 400 ms (a GC pause): one sample comes 450 ms after the last, 400 ms late,
    // the probe sent before the stall 420 ms old; the next still reports that probe (its
    // successor is in flight); then the backlog drains within a quarter of a second.
    function stall(options: { sustainTime?: number }): { most: number; state: OverloadState } {
      const c = new OverloadController(options);
      let t = 0;
      let most = 0;
      const sample = (delayMs: number, queueDelayMs: number, dt: number): void => {
        c.update({ delayMs, queueDelayMs }, (t += dt));
        most = Math.max(most, c.stats().shedShare);
      };
      for (let i = 0; i < 20; i++) sample(1, 2, 50);
      sample(400, 420, 450);
      sample(5, 420, 50);
      for (const queue of [250, 150, 80, 20, 5]) sample(2, queue, 50);
      for (let i = 0; i < 40; i++) sample(1, 2, 50);
      return { most, state: c.state };
    }
    expect(stall({})).toEqual({ most: 0, state: 'normal' });
    // Without a sustain time (as before it existed) the same stall refused a third of new requests.
    expect(stall({ sustainTime: 0 }).most).toBeGreaterThan(0.3);
  });

  test('a delay over the target in every sample for sustainTime starts shedding; one sample under it restarts the wait', () => {
    const c = new OverloadController({ ...opts, sustainTime: 100 });
    let t = 0;
    // Over, over, under, over, over: never 100 ms in a row.
    for (const queue of [400, 400, 50, 400, 400]) c.update({ delayMs: 0, queueDelayMs: queue }, (t += 50));
    expect(c.stats().shedShare).toBe(0);
    // The third sample in a row over it is 100 ms after the first: the share grows from there.
    c.update({ delayMs: 0, queueDelayMs: 400 }, (t += 50));
    expect(c.state).toBe('shedding');
    const first = c.stats().shedShare;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) c.update({ delayMs: 0, queueDelayMs: 400 }, (t += 50));
    expect(c.stats().shedShare).toBeGreaterThan(first * 5);
  });

  test('bad options are refused', () => {
    expect(() => new OverloadController({ shedDelay: 0 })).toThrow(/shedDelay/);
    expect(() => new OverloadController({ shedQueueDelay: -1 })).toThrow(/shedQueueDelay/);
    expect(() => new OverloadController({ smoothingTime: 0 })).toThrow(/smoothingTime/);
    expect(() => new OverloadController({ sustainTime: -5 })).toThrow(/sustainTime/);
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
    const uas = await listeningStack({ overload: { shedDelay: 10, sampleInterval: 20, rampTime: 1, recoveryTime: 300 }, retryAfter: 2 }, (rq, _remote, reply) =>
      reply.reply(makeResponse(rq, 200)),
    );
    uas.on('overload', (stats) => states.push(stats.state));
    const uac = await listeningStack({ overload: false });
    // Saturate the event loop in slices, so the sampler sees it late several times in a row
    // (setImmediate: the loop turns, its timers run late, and nothing waits in between).
    for (let i = 0; i < 10 && uas.stats().overload?.state === 'normal'; i++) {
      block(150);
      await new Promise((r) => setImmediate(r));
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

// Graceful overload: the shedding decision on fake samples, the /proc/net/udp reading, and a
// real stack that answers new INVITEs 503 (stateless) while its event loop is saturated and
// serves them again once it is not.
import { OverloadController, rxQueueOf, makeResponse } from '@sipts/core';
import type { OverloadState } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('OverloadController (the decision)', () => {
  test('normal below the thresholds; one GC-like spike does not shed, a lasting delay does', () => {
    const c = new OverloadController({ shedDelay: 40, dropDelay: 200, recoveryTime: 1000 });
    let t = 0;
    expect(c.update({ delayMs: 5, queueFill: 0 }, (t += 50))).toBe('normal');
    expect(c.update({ delayMs: 120, queueFill: 0 }, (t += 50))).toBe('normal'); // EWMA 1/4: ~34
    expect(c.update({ delayMs: 120, queueFill: 0 }, (t += 50))).toBe('shedding');
    expect(c.admit()).toBe('reject');
  });

  test('the UDP receive queue alone sheds, and far past it drops', () => {
    const c = new OverloadController({ shedQueueFill: 0.02, dropQueueFill: 0.15 });
    expect(c.update({ delayMs: 0, queueFill: 0.03 }, 0)).toBe('shedding');
    expect(c.update({ delayMs: 0, queueFill: 0.2 }, 50)).toBe('dropping');
    expect(c.admit()).toBe('drop');
    // The drop signal gone: back to shedding at once, not to normal.
    expect(c.update({ delayMs: 0, queueFill: 0.03 }, 100)).toBe('shedding');
  });

  test('shedding ends only after recoveryTime of calm (no flapping), then admits again', () => {
    const states: OverloadState[] = [];
    const c = new OverloadController({ recoveryTime: 1000 }, (s) => states.push(s));
    c.update({ delayMs: 0, queueFill: 0.5 }, 0);
    expect(c.state).toBe('dropping');
    for (let t = 100; t <= 900; t += 100) c.update({ delayMs: 0, queueFill: 0 }, t);
    expect(c.state).toBe('shedding');
    c.update({ delayMs: 0, queueFill: 0 }, 1200);
    expect(c.state).toBe('normal');
    expect(c.admit()).toBe('accept');
    expect(states).toEqual(['dropping', 'shedding', 'normal']);
    expect(c.stats()).toMatchObject({ state: 'normal', episodes: 1, dropped: 0, rejected: 0 });
  });

  test('bad options are refused', () => {
    expect(() => new OverloadController({ shedDelay: 0 })).toThrow(/shedDelay/);
    expect(() => new OverloadController({ shedQueueFill: 2 })).toThrow(/shedQueueFill/);
  });
});

describe('rxQueueOf (/proc/net/udp)', () => {
  const listing =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
    ' 1234: 0100007F:13C4 00000000:0000 07 00000000:00003A00 00:00000000 00000000     0        0 12345 2 0000000000000000 0\n' +
    ' 1235: 0100007F:13C5 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 12346 2 0000000000000000 0\n';
  test('the rx_queue of the socket on the port, in bytes', () => {
    expect(rxQueueOf(listing, 0x13c4)).toBe(0x3a00);
    expect(rxQueueOf(listing, 0x13c5)).toBe(0x100);
    expect(rxQueueOf(listing, 5062)).toBe(0);
    expect(rxQueueOf('', 5060)).toBe(0);
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

// Exact timer schedules on fake time, for unreliable (UDP) and reliable (TCP) transports.
import type { SipResponse } from '@sipts/message';
import { InviteClientTransaction } from '@sipts/transaction';
import { harness, outgoing, peer, request, response, again, settle, type Harness } from './helpers.js';

function collect(): { responses: SipResponse[]; at: number[]; on: (rs: SipResponse) => void; h?: Harness } {
  const responses: SipResponse[] = [];
  const at: number[] = [];
  return { responses, at, on: (rs) => responses.push(rs) };
}

describe('INVITE client: Timers A and B (RFC 3261 §17.1.1.2)', () => {
  test('UDP: sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, then 408 at 32 s', () => {
    const h = harness();
    const times: number[] = [];
    const c = collect();
    h.layer.sendRequest(outgoing('INVITE'), h.udp, peer, (rs) => {
      c.on(rs);
      times.push(h.clock.now());
    });
    h.clock.advance(40000);
    expect(h.udp.times('INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(c.responses.map((r) => r.status)).toEqual([408]);
    expect(times).toEqual([32000]);
    expect(h.layer.size()).toEqual({ client: 0, server: 0 });
    expect(h.layer.stats().retransmissions.A).toBe(6);
  });

  test('TCP: sent once, 408 at 32 s', () => {
    const h = harness();
    const times: number[] = [];
    h.layer.sendRequest(outgoing('INVITE'), h.tcp, peer, () => times.push(h.clock.now()));
    h.clock.advance(40000);
    expect(h.tcp.times('INVITE')).toEqual([0]);
    expect(times).toEqual([32000]);
  });

  test('T1 is an option: T1 = 100 ms gives 0, 0.1, 0.3, ... 6.3 s and 408 at 6.4 s', () => {
    const h = harness({ t1: 100 });
    const times: number[] = [];
    h.layer.sendRequest(outgoing('INVITE'), h.udp, peer, () => times.push(h.clock.now()));
    h.clock.advance(10000);
    expect(h.udp.times('INVITE')).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(times).toEqual([6400]);
  });

  test('a provisional response stops Timers A and B', () => {
    const h = harness();
    const c = collect();
    const rq = outgoing('INVITE');
    h.layer.sendRequest(rq, h.udp, peer, c.on);
    h.clock.advance(1000);
    h.layer.receive(response(rq, 180, 't'), peer, h.udp);
    h.clock.advance(60000);
    expect(h.udp.times('INVITE')).toEqual([0, 500]);
    expect(c.responses.map((r) => r.status)).toEqual([180]);
  });
});

describe('non-INVITE client: Timers E and F (RFC 3261 §17.1.2.2)', () => {
  test('UDP: doubling capped at T2, then 408 at 32 s', () => {
    const h = harness();
    const times: number[] = [];
    const statuses: number[] = [];
    h.layer.sendRequest(outgoing('OPTIONS'), h.udp, peer, (rs) => {
      statuses.push(rs.status);
      times.push(h.clock.now());
    });
    h.clock.advance(40000);
    expect(h.udp.times('OPTIONS')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(statuses).toEqual([408]);
    expect(times).toEqual([32000]);
  });

  test('UDP: in Proceeding, Timer E fires every T2', () => {
    const h = harness();
    const rq = outgoing('REGISTER');
    h.layer.sendRequest(rq, h.udp, peer, () => {});
    h.clock.advance(600); // sent at 0 and 500; next E at 1500
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.clock.advance(40000);
    expect(h.udp.times('REGISTER')).toEqual([0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500]);
  });

  test('TCP: sent once, 408 at 32 s', () => {
    const h = harness();
    const times: number[] = [];
    h.layer.sendRequest(outgoing('BYE'), h.tcp, peer, () => times.push(h.clock.now()));
    h.clock.advance(40000);
    expect(h.tcp.times('BYE')).toEqual([0]);
    expect(times).toEqual([32000]);
  });

  test('T2 is an option', () => {
    const h = harness({ t2: 1000 });
    h.layer.sendRequest(outgoing('OPTIONS'), h.udp, peer, () => {});
    h.clock.advance(4000);
    expect(h.udp.times('OPTIONS')).toEqual([0, 500, 1500, 2500, 3500]);
  });
});

describe('INVITE client: Timers D and M', () => {
  test.each([
    ['UDP', 32000],
    ['TCP', 0],
  ] as const)('%s: Timer D = %i ms after a non-2xx final', (kind, d) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, transport, peer, () => {});
    h.clock.advance(100);
    h.layer.receive(response(rq, 486, 'x'), peer, transport);
    expect(transport.count('ACK')).toBe(1);
    if (d > 0) {
      h.clock.advance(d - 1);
      expect(tx.state).toBe('completed');
      h.clock.advance(1);
    }
    expect(tx.state).toBe('terminated');
    expect(h.layer.size().client).toBe(0);
  });

  test.each(['UDP', 'TCP'] as const)('%s: Timer M = 64*T1 after a 2xx', (kind) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, transport, peer, () => {});
    h.clock.advance(100);
    h.layer.receive(response(rq, 200, 'x'), peer, transport);
    expect(tx.state).toBe('accepted');
    h.clock.advance(31999);
    expect(tx.state).toBe('accepted');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
  });
});

describe('non-INVITE client: Timer K', () => {
  test.each([
    ['UDP', 5000],
    ['TCP', 0],
  ] as const)('%s: Timer K = %i ms', (kind, k) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    const rq = outgoing('OPTIONS');
    const tx = h.layer.sendRequest(rq, transport, peer, () => {});
    h.layer.receive(response(rq, 200, 'x'), peer, transport);
    if (k > 0) {
      h.clock.advance(k - 1);
      expect(tx.state).toBe('completed');
      h.clock.advance(1);
    }
    expect(tx.state).toBe('terminated');
  });
});

describe('INVITE server: 100 Trying, Timers G, H, I, L', () => {
  test('100 Trying at 200 ms when the TU has not answered', () => {
    const h = harness();
    h.layer.receive(request(), peer, h.udp);
    h.clock.advance(199);
    expect(h.udp.sent).toHaveLength(0);
    h.clock.advance(1);
    expect(h.udp.times('SIP/2.0 100 Trying')).toEqual([200]);
    h.clock.advance(10000);
    expect(h.udp.sent).toHaveLength(1);
  });

  test('no 100 Trying when the TU answers within 200 ms', () => {
    const h = harness();
    h.layer.receive(request(), peer, h.udp);
    h.clock.advance(150);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 180, 'a'));
    h.clock.advance(1000);
    expect(h.udp.sent.map((s) => s.message)).toHaveLength(1);
    expect(h.udp.count('SIP/2.0 100')).toBe(0);
  });

  test('UDP: Timer G resends the final at 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5 s; Timer H ends it at 32 s', () => {
    const h = harness();
    const timeouts: string[] = [];
    h.layer.on('timeout', (_tx, timer) => timeouts.push(timer));
    h.layer.receive(request(), peer, h.udp);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 486, 'a'));
    h.clock.advance(40000);
    expect(h.udp.times('SIP/2.0 486')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(tx.state).toBe('terminated');
    expect(timeouts).toEqual(['H']);
    expect(h.layer.stats().retransmissions.G).toBe(10);
  });

  test('TCP: no Timer G; Timer H at 32 s', () => {
    const h = harness();
    h.layer.receive(request(), peer, h.tcp);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 486, 'a'));
    h.clock.advance(31999);
    expect(tx.state).toBe('completed');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(h.tcp.times('SIP/2.0 486')).toEqual([0]);
  });

  test.each([
    ['UDP', 5000],
    ['TCP', 0],
  ] as const)('%s: Timer I = %i ms after the ACK', (kind, i) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    h.layer.receive(request(), peer, transport);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 404, 'a'));
    h.clock.advance(700);
    h.layer.receive(again(rq, 'ACK', 'a'), peer, transport);
    if (i > 0) {
      expect(tx.state).toBe('confirmed');
      h.clock.advance(i - 1);
      expect(tx.state).toBe('confirmed');
      h.clock.advance(1);
    }
    expect(tx.state).toBe('terminated');
    // Timer G stopped at the ACK: 0 and 0.5 s only.
    expect(transport.times('SIP/2.0 404')).toEqual(kind === 'UDP' ? [0, 500] : [0]);
  });

  test.each(['UDP', 'TCP'] as const)('%s: Timer L = 64*T1 after a 2xx', (kind) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    h.layer.receive(request(), peer, transport);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 200, 'a'));
    expect(tx.state).toBe('accepted');
    h.clock.advance(31999);
    expect(tx.state).toBe('accepted');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(transport.count('SIP/2.0 200')).toBe(1); // the transaction never retransmits a 2xx itself
  });

  test('Timer G is capped at T2 = 2 s when configured', () => {
    const h = harness({ t2: 2000 });
    h.layer.receive(request(), peer, h.udp);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 500, 'a'));
    h.clock.advance(8000);
    expect(h.udp.times('SIP/2.0 500')).toEqual([0, 500, 1500, 3500, 5500, 7500]);
  });
});

describe('non-INVITE server: Timer J', () => {
  test.each([
    ['UDP', 32000],
    ['TCP', 0],
  ] as const)('%s: Timer J = %i ms', (kind, j) => {
    const h = harness();
    const transport = kind === 'UDP' ? h.udp : h.tcp;
    h.layer.receive(request({ method: 'OPTIONS' }), peer, transport);
    const { tx, request: rq } = h.requests[0]!;
    tx.send(response(rq, 200, 'a'));
    if (j > 0) {
      h.clock.advance(j - 1);
      expect(tx.state).toBe('completed');
      h.clock.advance(1);
    }
    expect(tx.state).toBe('terminated');
    expect(transport.count('SIP/2.0 200')).toBe(1);
  });
});

describe('ring time limit (Timer C-like) and answer time limit', () => {
  test('INVITE client: 408 to the TU and a CANCEL at ringTimeLimit; the late 487 is ACKed, not reported', async () => {
    const h = harness({ ringTimeLimit: 60000 });
    const rq = outgoing('INVITE');
    const statuses: Array<[number, number]> = [];
    const tx = h.layer.sendRequest(rq, h.udp, peer, (rs) => statuses.push([rs.status, h.clock.now()]));
    h.clock.advance(100);
    h.layer.receive(response(rq, 180, 'r'), peer, h.udp);
    h.clock.advance(59999);
    expect(h.udp.count('CANCEL')).toBe(0);
    h.clock.advance(1);
    expect(statuses).toEqual([
      [180, 100],
      [408, 60100],
    ]);
    expect(h.udp.times('CANCEL')).toEqual([60100]);
    const cancel = h.udp.last().message;
    expect(cancel.headers.via![0]!.params.branch).toBe((tx as InviteClientTransaction).branch);
    h.layer.receive(response(rq, 487, 'r'), peer, h.udp);
    expect(h.udp.count('ACK')).toBe(1);
    expect(statuses).toHaveLength(2);
    h.clock.advance(40000);
    await settle();
    expect(h.layer.size()).toEqual({ client: 0, server: 0 });
  });

  test('INVITE client: a provisional other than 100 restarts the ring limit; 100 does not', () => {
    const h = harness({ ringTimeLimit: 10000 });
    const rq = outgoing('INVITE');
    const statuses: Array<[number, number]> = [];
    h.layer.sendRequest(rq, h.udp, peer, (rs) => statuses.push([rs.status, h.clock.now()]));
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.clock.advance(5000);
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.clock.advance(3000);
    h.layer.receive(response(rq, 183, 'r'), peer, h.udp); // restarts at 8000
    h.clock.advance(9999);
    expect(statuses.map((s) => s[0])).toEqual([100, 100, 183]);
    h.clock.advance(1);
    expect(statuses[3]).toEqual([408, 18000]);
  });

  test('INVITE client without the limit stays in Proceeding', () => {
    const h = harness({ ringTimeLimit: 0 });
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.udp, peer, () => {});
    h.layer.receive(response(rq, 180, 'r'), peer, h.udp);
    h.clock.advance(3_600_000);
    expect(tx.state).toBe('proceeding');
    h.layer.shutdown();
  });

  test('INVITE server: the transaction answers 408 when the TU stays silent for answerTimeLimit', () => {
    const h = harness({ answerTimeLimit: 20000 });
    const timeouts: string[] = [];
    h.layer.on('timeout', (_tx, timer) => timeouts.push(timer));
    h.layer.receive(request(), peer, h.udp);
    const { tx, request: rq } = h.requests[0]!;
    h.clock.advance(10000);
    tx.send(response(rq, 180, 'a')); // restarts: 408 due at 30000
    h.clock.advance(19999);
    expect(h.udp.count('SIP/2.0 408')).toBe(0);
    h.clock.advance(1);
    expect(h.udp.times('SIP/2.0 408')).toEqual([30000]);
    expect(timeouts).toEqual(['answerTimeLimit']);
    expect(tx.state).toBe('completed');
  });

  test('default answerTimeLimit is ringTimeLimit + 64*T1', () => {
    const h = harness({ ringTimeLimit: 1000, t1: 100 });
    h.layer.receive(request(), peer, h.tcp);
    h.clock.advance(7400);
    expect(h.tcp.times('SIP/2.0 408')).toEqual([7400]);
  });

  test('non-INVITE server: a TU that never answers leaves no transaction after 64*T1', () => {
    const h = harness();
    h.layer.receive(request({ method: 'OPTIONS' }), peer, h.udp);
    const { tx } = h.requests[0]!;
    h.clock.advance(31999);
    expect(tx.state).toBe('trying');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(h.udp.sent).toHaveLength(0);
  });
});

test('with ringTimeLimit 0 the INVITE server waits for its TU indefinitely too', () => {
  const h = harness({ ringTimeLimit: 0 });
  h.layer.receive(request(), peer, h.tcp);
  h.clock.advance(3_600_000);
  expect(h.requests[0]!.tx.state).toBe('proceeding');
  expect(h.tcp.count('SIP/2.0 408')).toBe(0);
  h.layer.shutdown();
});

test('the ring limit does not send a second CANCEL when the TU already sent one', () => {
  const h = harness({ ringTimeLimit: 5000 });
  const events: unknown[] = [];
  h.layer.on('tuError', (e) => events.push(e));
  h.layer.on('internalError', (e) => events.push(e));
  const rq = outgoing('INVITE');
  const tx = h.layer.sendRequest(rq, h.udp, peer, () => {});
  h.layer.receive(response(rq, 180, 'r'), peer, h.udp);
  const cancel = again(rq, 'CANCEL');
  cancel.headers.via = [rq.headers.via![0]!];
  h.layer.sendRequest(cancel, h.udp, peer, () => {});
  h.clock.advance(5000);
  expect(h.layer.stats().clientCreated).toBe(2); // the INVITE and the TU's CANCEL only
  expect(new Set(h.udp.sent.filter((s) => s.text.startsWith('CANCEL')).map((s) => s.text)).size).toBe(1);
  expect(events).toEqual([]);
  expect(tx.state).toBe('proceeding');
  h.layer.shutdown();
});

// Server transactions: every transition of RFC 3261 Figures 7 and 8 and RFC 6026 Figure 7,
// absorption of retransmissions and ACKs, the 500 on a throwing TU, the overload cap.
import type { SipRequest } from '@sipts/message';
import { InviteServerTransaction, isTransactionError } from '@sipts/transaction';
import { again, harness, peer, request, response, settle, statesOf } from './helpers.js';

describe('INVITE server transaction (RFC 3261 Figure 7, RFC 6026 Figure 7)', () => {
  test('Proceeding -> Completed -> Confirmed -> Terminated', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    expect(tx.state).toBe('proceeding');
    expect(tx.send(response(rq, 180, 'a'))).toBe(true);
    expect(tx.send(response(rq, 486, 'a'))).toBe(true);
    expect(tx.state).toBe('completed');
    h.layer.receive(again(rq, 'ACK', 'a'), peer, h.udp);
    expect(tx.state).toBe('confirmed');
    h.layer.receive(again(rq, 'ACK', 'a'), peer, h.udp); // absorbed in Confirmed
    expect(h.acks).toHaveLength(0);
    h.clock.advance(5000);
    expect(states.get(tx)).toEqual(['proceeding', 'completed', 'confirmed', 'terminated']);
    expect(h.layer.size().server).toBe(0);
  });

  test('Proceeding: an INVITE retransmission resends the last provisional; none before one was sent', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    h.layer.receive(again(rq), peer, h.udp);
    expect(h.udp.sent).toHaveLength(0);
    expect(h.requests).toHaveLength(1);
    const { tx } = h.requests[0]!;
    tx.send(response(rq, 180, 'a'));
    tx.send(response(rq, 183, 'a'));
    h.layer.receive(again(rq), peer, h.udp);
    expect(h.udp.sent.map((s) => s.text.slice(0, 11))).toEqual(['SIP/2.0 180', 'SIP/2.0 183', 'SIP/2.0 183']);
    expect(h.layer.stats().retransmissions.request).toBe(1);
  });

  test('Completed: an INVITE retransmission resends the final (the same bytes)', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.tcp);
    const { tx } = h.requests[0]!;
    const final = response(rq, 603, 'a');
    tx.send(final);
    final.reason = 'changed after send'; // retransmissions resend the bytes, never re-stringify
    h.layer.receive(again(rq), peer, h.tcp);
    expect(h.tcp.sent).toHaveLength(2);
    expect(h.tcp.sent[1]!.text).toBe(h.tcp.sent[0]!.text);
    expect(h.tcp.sent[1]!.text.startsWith('SIP/2.0 603 Reason')).toBe(true);
  });

  test('Completed -> Terminated on Timer H, reported as a timeout', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const timeouts: string[] = [];
    h.layer.on('timeout', (_tx, timer) => timeouts.push(timer));
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    tx.send(response(rq, 404, 'a'));
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['proceeding', 'completed', 'terminated']);
    expect(timeouts).toEqual(['H']);
  });

  test('Proceeding -> Accepted -> Terminated (RFC 6026): 2xx from the TU pass through, INVITEs absorbed, ACK to the TU', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    expect(tx.send(response(rq, 200, 'a'))).toBe(true);
    expect(tx.state).toBe('accepted');
    h.clock.advance(500);
    expect(tx.send(response(rq, 200, 'a'))).toBe(true); // the TU's 2xx retransmission
    expect(tx.send(response(rq, 486, 'a'))).toBe(false); // a non-2xx after a 2xx is dropped
    h.layer.receive(again(rq), peer, h.udp); // absorbed
    expect(h.udp.sent.map((s) => s.text.slice(0, 11))).toEqual(['SIP/2.0 200', 'SIP/2.0 200']);
    expect(h.requests).toHaveLength(1);
    // An ACK that matches the transaction in Accepted goes to the TU (RFC 6026 §7.1).
    h.layer.receive(again(rq, 'ACK', 'a'), peer, h.udp);
    expect(h.acks).toHaveLength(1);
    // The ordinary ACK for a 2xx has a branch of its own: no transaction, to the TU.
    h.layer.receive(request({ method: 'ACK', callId: 'x' }), peer, h.udp);
    expect(h.acks).toHaveLength(2);
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['proceeding', 'accepted', 'terminated']);
  });

  test('Proceeding -> Terminated on a transport error', async () => {
    const h = harness();
    const errors: unknown[] = [];
    h.layer.on('transportError', (e, t) => errors.push([e.message, t?.kind]));
    const rq = request();
    h.layer.receive(rq, peer, h.tcp);
    const { tx } = h.requests[0]!;
    h.tcp.fail = new Error('EPIPE');
    tx.send(response(rq, 180, 'a'));
    await settle();
    expect(tx.state).toBe('terminated');
    expect(errors).toEqual([['EPIPE', 'invite-server']]);
    expect(h.layer.size().server).toBe(0);
  });

  test('Completed -> Terminated on a transport error', async () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    h.udp.fail = new Error('EPIPE');
    tx.send(response(rq, 500, 'a'));
    await settle();
    expect(tx.state).toBe('terminated');
  });

  test('Accepted: a transport error leaves the transaction to Timer L', async () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    h.udp.fail = new Error('EPIPE');
    tx.send(response(rq, 200, 'a'));
    await settle();
    expect(tx.state).toBe('accepted');
    h.clock.advance(32000);
    expect(tx.state).toBe('terminated');
  });

  test('responses after the final one are discarded; bad status codes throw', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    expect(() => tx.send(response(rq, 99))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_RESPONSE' }));
    expect(() => tx.send(response(rq, 700))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_RESPONSE' }));
    tx.send(response(rq, 404, 'a'));
    expect(tx.send(response(rq, 180, 'a'))).toBe(false);
    expect(tx.send(response(rq, 200, 'a'))).toBe(false);
    expect(h.udp.sent).toHaveLength(1);
    h.layer.shutdown();
  });

  test('the 100 Trying copies Via, From, To, Call-ID, CSeq and Timestamp and goes to the source', () => {
    const h = harness();
    const rq = request();
    rq.headers.timestamp = '54.1';
    const from = { protocol: 'UDP', address: '198.51.100.7', port: 40000 };
    h.layer.receive(rq, from, h.udp);
    h.clock.advance(200);
    const sent = h.udp.last();
    expect(sent.target).toBe(from);
    expect(sent.options).toEqual({ allowOversize: true });
    const trying = sent.message;
    expect('status' in trying && trying.status).toBe(100);
    expect(trying.headers.via).toEqual(rq.headers.via);
    expect(trying.headers.to).toEqual(rq.headers.to);
    expect(trying.headers.from).toEqual(rq.headers.from);
    expect(trying.headers['call-id']).toBe(rq.headers['call-id']);
    expect(trying.headers.cseq).toEqual(rq.headers.cseq);
    expect(trying.headers.timestamp).toBe('54.1');
    h.layer.shutdown();
  });
});

describe('non-INVITE server transaction (RFC 3261 Figure 8)', () => {
  test('Trying -> Proceeding -> Completed -> Terminated', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const rq = request({ method: 'REGISTER' });
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    h.layer.receive(again(rq), peer, h.udp); // Trying: absorbed, nothing sent
    expect(h.udp.sent).toHaveLength(0);
    tx.send(response(rq, 100));
    h.layer.receive(again(rq), peer, h.udp); // Proceeding: resend the provisional
    tx.send(response(rq, 200, 'a'));
    h.layer.receive(again(rq), peer, h.udp); // Completed: resend the final
    expect(tx.send(response(rq, 500, 'a'))).toBe(false); // Completed discards further finals
    expect(h.udp.sent.map((s) => s.text.slice(0, 11))).toEqual([
      'SIP/2.0 100',
      'SIP/2.0 100',
      'SIP/2.0 200',
      'SIP/2.0 200',
    ]);
    expect(h.requests).toHaveLength(1);
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['trying', 'proceeding', 'completed', 'terminated']);
  });

  test('Trying -> Completed directly; over TCP straight on to Terminated', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const rq = request({ method: 'BYE' });
    h.layer.receive(rq, peer, h.tcp);
    const { tx } = h.requests[0]!;
    tx.send(response(rq, 200, 'a'));
    expect(states.get(tx)).toEqual(['trying', 'completed', 'terminated']);
  });

  test('Trying/Proceeding -> Terminated on a transport error', async () => {
    const h = harness();
    const rq = request({ method: 'OPTIONS' });
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    h.udp.fail = new Error('EMSGSIZE');
    tx.send(response(rq, 183, 'a'));
    await settle();
    expect(tx.state).toBe('terminated');
  });
});

describe('the TU', () => {
  test('a throwing onRequest gets a 500 sent for it', () => {
    const errors: unknown[] = [];
    const h = harness({
      onRequest: () => {
        throw new Error('bug');
      },
    });
    h.layer.on('tuError', (e) => errors.push(e));
    h.layer.receive(request({ method: 'OPTIONS' }), peer, h.tcp);
    h.layer.receive(request({ method: 'INVITE' }), peer, h.tcp);
    expect(h.tcp.sent.map((s) => s.text.slice(0, 11))).toEqual(['SIP/2.0 500', 'SIP/2.0 500']);
    expect(errors).toHaveLength(2);
    expect(h.layer.stats().tuErrors).toBe(2);
    h.layer.shutdown();
  });

  test('a throwing onRequest that already answered gets no 500', () => {
    const h = harness({
      onRequest: (rq, _remote, tx) => {
        tx.send(response(rq, 404, 'x'));
        throw new Error('bug after answering');
      },
    });
    h.layer.receive(request({ method: 'OPTIONS' }), peer, h.tcp);
    expect(h.tcp.sent.map((s) => s.text.slice(0, 11))).toEqual(['SIP/2.0 404']);
  });

  test('findServerTransaction finds the transaction of a response built from the request', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    const rs = response(rq, 200, 'a');
    rs.headers.via![0]!.host = rs.headers.via![0]!.host.toUpperCase(); // host compared case-insensitively
    expect(h.layer.findServerTransaction(rs)).toBe(tx);
    expect(h.layer.findServerTransaction(response(request(), 200))).toBeUndefined();
    h.layer.shutdown();
  });
});

describe('maxServerTransactions', () => {
  test('a new request beyond the cap gets 503 with Retry-After and no transaction; its ACK is absorbed', () => {
    const h = harness({ maxServerTransactions: 2, retryAfter: 7 });
    const overloads: string[] = [];
    h.layer.on('overload', (rq) => overloads.push(rq.method));
    const first = request({ method: 'OPTIONS' });
    h.layer.receive(first, peer, h.udp);
    const invite = request();
    h.layer.receive(invite, peer, h.udp);
    const third = request();
    h.layer.receive(third, peer, h.udp);
    expect(h.requests).toHaveLength(2);
    const rejected = h.udp.last().message;
    expect('status' in rejected && rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('7');
    expect(overloads).toEqual(['INVITE']);
    h.layer.receive(again(third, 'ACK', 'x'), peer, h.udp);
    expect(h.acks).toHaveLength(0);
    // A retransmission of an existing request is still matched, and a CANCEL for a live INVITE
    // still gets its transaction.
    h.requests[1]!.tx.send(response(invite, 180, 'i'));
    h.layer.receive(again(invite), peer, h.udp);
    expect(h.udp.count('SIP/2.0 180')).toBe(2);
    h.layer.receive(again(invite, 'CANCEL'), peer, h.udp);
    expect(h.requests).toHaveLength(3);
    expect(h.layer.stats().overloadRejected).toBe(1);
    // Below the cap again: accepted.
    h.requests[0]!.tx.send(response(first, 200, 'a'));
    h.clock.advance(32000);
    h.layer.receive(request({ method: 'OPTIONS' }), peer, h.udp);
    expect(h.requests).toHaveLength(4);
    h.layer.shutdown();
  });
});

describe('options', () => {
  test('bad timer values and a missing onRequest are refused', () => {
    const codes: string[] = [];
    for (const bad of [{ t1: 0 }, { t2: -1 }, { t4: Number.NaN }, { maxServerTransactions: 0 }]) {
      try {
        harness(bad);
      } catch (e) {
        if (isTransactionError(e)) codes.push(e.code);
      }
    }
    try {
      harness({ onRequest: undefined as unknown as () => void });
    } catch (e) {
      if (isTransactionError(e)) codes.push(e.code);
    }
    expect(codes).toEqual(Array(5).fill('ERR_INVALID_OPTION'));
  });
});

test('InviteServerTransaction is what an INVITE gets', () => {
  const h = harness();
  h.layer.receive(request(), peer, h.udp);
  h.layer.receive(request({ method: 'OPTIONS' }), peer, h.udp);
  expect(h.requests[0]!.tx).toBeInstanceOf(InviteServerTransaction);
  expect(h.requests[1]!.tx.kind).toBe('non-invite-server');
  expect(h.requests[0]!.tx.remote).toBe(peer);
  expect((h.requests[0]!.request as SipRequest).method).toBe('INVITE');
  h.layer.shutdown();
  expect(h.layer.stats().timers).toBe(0);
});

// Admission control (graceful overload): new out-of-dialog requests can be answered 503 or
// dropped before any state is created, while retransmissions, ACKs, CANCELs and in-dialog
// requests keep being served. And what a completed transaction keeps: ids, timers and the text
// to resend, never the parsed messages.
import type { AdmissionDecision, ServerTransaction } from '@sipts/transaction';
import { again, harness, peer, request, response } from './helpers.js';

describe('admit', () => {
  test("'reject' answers a new INVITE 503 with Retry-After statelessly; its ACK is absorbed", () => {
    let decision: AdmissionDecision = 'reject';
    const h = harness({ admit: () => decision, retryAfter: 3 });
    const overloads: string[] = [];
    h.layer.on('overload', (rq, _remote, how) => overloads.push(`${rq.method} ${how}`));
    const invite = request();
    h.layer.receive(invite, peer, h.udp);
    expect(h.requests).toHaveLength(0);
    expect(h.layer.stats().server).toBe(0);
    const sent = h.udp.last().message;
    expect('status' in sent && sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('3');
    expect(typeof sent.headers.to?.params.tag).toBe('string');
    h.layer.receive(again(invite, 'ACK', 'x'), peer, h.udp);
    expect(h.acks).toHaveLength(0);
    expect(overloads).toEqual(['INVITE reject']);
    expect(h.layer.stats().overloadRejected).toBe(1);
    decision = 'accept';
    h.layer.receive(request(), peer, h.udp);
    expect(h.requests).toHaveLength(1);
    h.layer.shutdown();
  });

  test("'drop' sends nothing and creates nothing", () => {
    const h = harness({ admit: () => 'drop' });
    h.layer.receive(request({ method: 'REGISTER' }), peer, h.udp);
    expect(h.udp.sent).toHaveLength(0);
    expect(h.layer.stats()).toMatchObject({ server: 0, overloadDropped: 1 });
    h.layer.shutdown();
  });

  test('while shedding, retransmissions are absorbed and answered from the transaction, never asked about', () => {
    let asked = 0;
    let decision: AdmissionDecision = 'accept';
    const h = harness({
      admit: () => {
        asked++;
        return decision;
      },
    });
    const invite = request();
    h.layer.receive(invite, peer, h.udp);
    const { tx } = h.requests[0] as { tx: ServerTransaction };
    tx.send(response(invite, 180, 't'));
    decision = 'reject';
    h.layer.receive(again(invite), peer, h.udp);
    h.layer.receive(again(invite), peer, h.udp);
    expect(asked).toBe(1);
    expect(h.udp.count('SIP/2.0 180')).toBe(3);
    expect(h.udp.count('SIP/2.0 503')).toBe(0);
    // A CANCEL for it is served too (RFC 3261 §9.2), and so is the ACK after the final.
    h.layer.receive(again(invite, 'CANCEL'), peer, h.udp);
    expect(h.requests.map((r) => r.request.method)).toEqual(['INVITE', 'CANCEL']);
    expect(asked).toBe(1);
    h.layer.shutdown();
  });

  test('in-dialog requests (To tag) are never shed: accepted calls can end', () => {
    const h = harness({ admit: () => 'reject' });
    h.layer.receive(request({ method: 'BYE', toTag: 'dialog' }), peer, h.udp);
    h.layer.receive(request({ method: 'INVITE', toTag: 'dialog' }), peer, h.udp);
    expect(h.requests.map((r) => r.request.method)).toEqual(['BYE', 'INVITE']);
    expect(h.layer.stats().overloadRejected).toBe(0);
    h.layer.shutdown();
  });
});

/** Every object and string reachable from `root` through own properties, stopping at shared collaborators. */
function reachable(root: object, stop: Set<unknown>): unknown[] {
  const seen = new Set<unknown>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const value = todo.pop();
    if (typeof value === 'string') seen.add(value);
    if (typeof value !== 'object' || value === null || seen.has(value) || stop.has(value)) continue;
    seen.add(value);
    if (ArrayBuffer.isView(value)) continue;
    for (const key of Reflect.ownKeys(value)) todo.push((value as Record<string | symbol, unknown>)[key]);
  }
  return [...seen];
}

describe('what a completed transaction keeps (RFC 3261 §17.2.2 Timer J, §17.2.1 Timers G/H, RFC 6026 Timer L)', () => {
  const messageLike = (v: unknown): boolean => typeof v === 'object' && v !== null && 'headers' in v;

  test.each([
    ['non-INVITE answered 200 (Completed)', 'OPTIONS', 200],
    ['INVITE answered 486 (Completed)', 'INVITE', 486],
    ['INVITE answered 200 (Accepted)', 'INVITE', 200],
  ])('%s: no parsed message and no bytes, only ids, timers and the response text', (_label, method, status) => {
    const h = harness();
    const rq = request({ method });
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0] as { tx: ServerTransaction };
    tx.send(response(rq, status, 'done'));
    h.requests.length = 0;
    const stop = new Set<unknown>([h.udp, (tx as unknown as { host: unknown }).host]);
    const kept = reachable(tx, stop);
    expect(kept.filter(messageLike)).toEqual([]);
    // Text, not bytes: one flat string for the GC instead of an array, its buffer and a native
    // backing store.
    expect(kept.filter((v) => ArrayBuffer.isView(v))).toEqual([]);
    const texts = kept.filter((v): v is string => typeof v === 'string' && v.startsWith('SIP/2.0 '));
    // Completed keeps the final response to resend (Timer G / request retransmissions);
    // Accepted keeps nothing: 2xx retransmissions are the TU's (RFC 6026 §7.1).
    expect(texts.map((t) => t.slice(0, 11))).toEqual(status === 200 && method === 'INVITE' ? [] : [`SIP/2.0 ${status}`]);
    // A retransmission of the request gets those same bytes again.
    h.udp.sent.length = 0;
    h.layer.receive(again(rq), peer, h.udp);
    expect(h.udp.sent.map((s) => s.text)).toEqual(status === 200 && method === 'INVITE' ? [] : texts);
    h.layer.shutdown();
  });
});

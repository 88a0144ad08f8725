// Matching: RFC 3261 §17.1.3 (responses), §17.2.3 (requests, ACK, CANCEL via §9.2), the RFC 2543
// fallback for branches without the magic cookie, and the stateless path for stray responses.
import type { SipRequest, SipResponse } from '@sipts/message';
import type { InviteServerTransaction } from '@sipts/transaction';
import { again, harness, outgoing, peer, request, response } from './helpers.js';

describe('responses (RFC 3261 §17.1.3)', () => {
  test('branch compared case-insensitively', () => {
    const h = harness();
    const rq = outgoing('OPTIONS');
    const statuses: number[] = [];
    h.layer.sendRequest(rq, h.udp, peer, (rs) => statuses.push(rs.status));
    const rs = response(rq, 200, 'a');
    rs.headers.via![0]!.params.branch = String(rs.headers.via![0]!.params.branch).toUpperCase();
    h.layer.receive(rs, peer, h.udp);
    expect(statuses).toEqual([200]);
    h.layer.shutdown();
  });

  test('the CSeq method decides between an INVITE and its CANCEL (same branch)', () => {
    const h = harness();
    const rq = outgoing('INVITE');
    const statuses: number[] = [];
    h.layer.sendRequest(rq, h.udp, peer, (rs) => statuses.push(rs.status));
    const cancelResponse = response(rq, 200, 'a');
    cancelResponse.headers.cseq = { seq: 1, method: 'CANCEL' };
    h.layer.receive(cancelResponse, peer, h.udp);
    expect(statuses).toEqual([]);
    expect(h.strays).toHaveLength(1);
    h.layer.shutdown();
  });

  test('a response with no client transaction goes to the stateless path', () => {
    const h = harness();
    const lone = response(request({ method: 'INVITE' }), 200, 'a');
    h.layer.receive(lone, peer, h.udp);
    const noBranch = response(request({ method: 'INVITE', branch: undefined }), 200, 'a');
    h.layer.receive(noBranch, peer, h.udp);
    expect(h.strays).toEqual([lone, noBranch]);
    expect(h.layer.stats().strayResponses).toBe(2);
  });

  test('a response to a finished non-INVITE transaction (after Timer K) is stray too', () => {
    const h = harness();
    const rq = outgoing('OPTIONS');
    h.layer.sendRequest(rq, h.udp, peer, () => {});
    h.layer.receive(response(rq, 200, 'a'), peer, h.udp);
    h.layer.receive(response(rq, 200, 'a'), peer, h.udp);
    expect(h.strays).toHaveLength(0); // absorbed by Completed
    h.clock.advance(5000);
    h.layer.receive(response(rq, 200, 'a'), peer, h.udp);
    expect(h.strays).toHaveLength(1);
  });
});

describe('requests (RFC 3261 §17.2.3)', () => {
  test('same branch, sent-by and method: a retransmission (branch and host case-insensitive)', () => {
    const h = harness();
    const rq = request({ method: 'OPTIONS' });
    h.layer.receive(rq, peer, h.udp);
    const copy = again(rq);
    copy.headers.via![0]!.params.branch = String(copy.headers.via![0]!.params.branch).toUpperCase();
    copy.headers.via![0]!.host = copy.headers.via![0]!.host.toUpperCase();
    h.layer.receive(copy, peer, h.udp);
    expect(h.requests).toHaveLength(1);
    expect(h.layer.stats().absorbed).toBe(1);
    h.layer.shutdown();
  });

  test('another sent-by, another method or another Call-ID (case-sensitive) makes a new transaction', () => {
    const h = harness();
    const rq = request({ method: 'OPTIONS', callId: 'Abc' });
    h.layer.receive(rq, peer, h.udp);
    const otherPort = again(rq);
    otherPort.headers.via![0]!.port = 5070;
    h.layer.receive(otherPort, peer, h.udp);
    const otherMethod = again(rq, 'INFO');
    h.layer.receive(otherMethod, peer, h.udp);
    const lowerMethod = again(rq, 'options'); // method names are case-sensitive
    h.layer.receive(lowerMethod, peer, h.udp);
    const otherCallId = again(rq);
    otherCallId.headers['call-id'] = 'abc@example.com';
    h.layer.receive(otherCallId, peer, h.udp);
    expect(h.requests).toHaveLength(5);
    expect(h.layer.size().server).toBe(5);
    h.layer.shutdown();
  });

  test('ACK with the INVITE branch matches the INVITE transaction; with another sent-by it does not', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    tx.send(response(rq, 486, 'a'));
    const stranger = again(rq, 'ACK', 'a');
    stranger.headers.via![0]!.host = 'elsewhere.example.com';
    h.layer.receive(stranger, peer, h.udp);
    expect(tx.state).toBe('completed');
    expect(h.acks).toEqual([stranger]);
    h.layer.receive(again(rq, 'ACK', 'a'), peer, h.udp);
    expect(tx.state).toBe('confirmed');
    expect(h.acks).toHaveLength(1);
    h.layer.shutdown();
  });

  test('ACK while the INVITE has no final response is absorbed', () => {
    const h = harness();
    const rq = request();
    h.layer.receive(rq, peer, h.udp);
    h.layer.receive(again(rq, 'ACK'), peer, h.udp);
    expect(h.acks).toHaveLength(0);
    expect(h.requests[0]!.tx.state).toBe('proceeding');
    h.layer.shutdown();
  });

  test('messages without Via, CSeq or Call-ID are dropped with a reason', () => {
    const h = harness();
    const reasons: string[] = [];
    h.layer.on('drop', (_m, _r, reason) => reasons.push(reason));
    const a = request();
    delete a.headers.via;
    const b = request();
    delete b.headers.cseq;
    const c = response(request(), 200);
    delete c.headers['call-id'];
    for (const m of [a, b, c]) h.layer.receive(m, peer, h.udp);
    expect(reasons).toEqual(['missing-via', 'missing-cseq', 'missing-call-id']);
    expect(h.requests).toHaveLength(0);
  });
});

describe('CANCEL (RFC 3261 §9.2)', () => {
  test('matches the INVITE by branch, gets its own non-INVITE transaction, and exposes the INVITE', () => {
    const h = harness();
    const invite = request();
    h.layer.receive(invite, peer, h.udp);
    const inviteTx = h.requests[0]!.tx as InviteServerTransaction;
    inviteTx.send(response(invite, 180, 'a'));
    const cancel = again(invite, 'CANCEL');
    h.layer.receive(cancel, peer, h.udp);
    expect(h.requests).toHaveLength(2);
    const cancelTx = h.requests[1]!.tx;
    expect(cancelTx).not.toBe(inviteTx);
    expect(cancelTx.kind).toBe('non-invite-server');
    expect(cancelTx.invite).toBe(inviteTx);
    expect(inviteTx.cancelled).toBe(true);
    // The TU answers both: 200 to the CANCEL, 487 to the INVITE.
    cancelTx.send(response(cancel, 200, 'a'));
    inviteTx.send(response(invite, 487, 'a'));
    h.layer.receive(again(cancel), peer, h.udp); // a CANCEL retransmission: its own transaction
    expect(h.udp.sent.map((s) => s.text.slice(0, 11))).toEqual([
      'SIP/2.0 180',
      'SIP/2.0 200',
      'SIP/2.0 487',
      'SIP/2.0 200',
    ]);
    expect(h.layer.findServerTransaction(response(cancel, 200, 'a'))).toBe(cancelTx);
    expect(h.layer.findServerTransaction(response(invite, 487, 'a'))).toBe(inviteTx);
    h.layer.shutdown();
  });

  test('a CANCEL matching nothing reaches the TU without an INVITE (it answers 481)', () => {
    const h = harness();
    h.layer.receive(request({ method: 'CANCEL' }), peer, h.udp);
    expect(h.requests[0]!.tx.invite).toBeUndefined();
    h.layer.shutdown();
  });

  test('CANCEL without 487: the INVITE transaction answers 487 itself after 64*T1 and ends', () => {
    const h = harness();
    const timeouts: string[] = [];
    h.layer.on('timeout', (_tx, timer) => timeouts.push(timer));
    const invite = request();
    h.layer.receive(invite, peer, h.tcp);
    const cancel = again(invite, 'CANCEL');
    h.clock.advance(1000);
    h.layer.receive(cancel, peer, h.tcp);
    h.requests[1]!.tx.send(response(cancel, 200, 'a'));
    h.clock.advance(31999);
    expect(h.tcp.count('SIP/2.0 487')).toBe(0);
    h.clock.advance(1);
    expect(h.tcp.times('SIP/2.0 487')).toEqual([33000]);
    expect(timeouts).toEqual(['cancelAnswer']);
    h.layer.receive(again(invite, 'ACK', ''), peer, h.tcp);
    expect(h.layer.size().server).toBe(0);
  });
});

describe('RFC 2543 fallback (RFC 3261 §17.2.3, last paragraphs)', () => {
  function legacy(spec: { branch?: string; method?: string } = {}): SipRequest {
    return request({ method: spec.method ?? 'INVITE', branch: spec.branch, fromTag: 'ft' });
  }

  test.each([
    ['no branch', undefined],
    ['a branch without the cookie', '1a2b3c'],
  ])('%s: a retransmission matches on Request-URI, tags, Call-ID, CSeq and top Via', (_name, branch) => {
    const h = harness();
    const rq = legacy(branch === undefined ? {} : { branch });
    h.layer.receive(rq, peer, h.udp);
    h.layer.receive(again(rq), peer, h.udp);
    expect(h.requests).toHaveLength(1);
    const otherUri = again(rq);
    otherUri.uri = 'sip:carol@example.com';
    h.layer.receive(otherUri, peer, h.udp);
    const otherSeq = again(rq);
    otherSeq.headers.cseq = { seq: 2, method: 'INVITE' };
    h.layer.receive(otherSeq, peer, h.udp);
    const otherVia = again(rq);
    otherVia.headers.via![0]!.port = 5099;
    h.layer.receive(otherVia, peer, h.udp);
    const otherFromTag = again(rq);
    otherFromTag.headers.from!.params.tag = 'other';
    h.layer.receive(otherFromTag, peer, h.udp);
    expect(h.requests).toHaveLength(5);
    h.layer.shutdown();
  });

  test('ACK matches when its To tag is the one of the response sent; otherwise it goes to the TU', () => {
    const h = harness();
    const rq = legacy();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    const rs = response(rq, 404, 'srv');
    expect(h.layer.findServerTransaction(rs)).toBe(tx);
    tx.send(rs);
    const wrongTag = again(rq, 'ACK', 'nope');
    h.layer.receive(wrongTag, peer, h.udp);
    expect(h.acks).toEqual([wrongTag]);
    expect(tx.state).toBe('completed');
    const wrongUri = again(rq, 'ACK', 'srv');
    wrongUri.uri = 'sip:other@example.com';
    h.layer.receive(wrongUri, peer, h.udp);
    expect(h.acks).toHaveLength(2);
    h.layer.receive(again(rq, 'ACK', 'srv'), peer, h.udp);
    expect(tx.state).toBe('confirmed');
    expect(h.acks).toHaveLength(2);
    h.layer.shutdown();
  });

  test('CANCEL matches the INVITE as if its method were INVITE (RFC 3261 §9.2)', () => {
    const h = harness();
    const rq = legacy();
    h.layer.receive(rq, peer, h.udp);
    h.layer.receive(again(rq, 'CANCEL'), peer, h.udp);
    expect(h.requests[1]!.tx.invite).toBe(h.requests[0]!.tx);
    h.layer.shutdown();
  });

  test('every RFC 2543 transaction leaves both tables', () => {
    const h = harness();
    const rq = legacy();
    h.layer.receive(rq, peer, h.udp);
    const { tx } = h.requests[0]!;
    const rs: SipResponse = response(rq, 486, 'x');
    tx.send(rs);
    h.clock.advance(32000);
    expect(h.layer.findServerTransaction(rs)).toBeUndefined();
    expect(h.layer.size().server).toBe(0);
  });
});

// Client transactions: every transition of RFC 3261 Figures 5 and 6 and RFC 6026 Figure 5,
// the ACK of §17.1.1.3, CANCEL (§9.1), and transport failures reported as 503.
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import { InviteClientTransaction, isTransactionError, type ClientTransaction } from '@sipts/transaction';
import { harness, outgoing, peer, response, settle, statesOf } from './helpers.js';

function track(): { statuses: number[]; remotes: Array<Remote | undefined>; on: (rs: SipResponse, r: Remote | undefined) => void } {
  const statuses: number[] = [];
  const remotes: Array<Remote | undefined> = [];
  return {
    statuses,
    remotes,
    on: (rs, r) => {
      statuses.push(rs.status);
      remotes.push(r);
    },
  };
}

describe('INVITE client transaction (RFC 3261 Figure 5, RFC 6026 Figure 5)', () => {
  test('Calling -> Proceeding -> Completed -> Terminated, with the ACK sent by the transaction', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const t = track();
    const rq = outgoing('INVITE', { route: true });
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    expect(tx.state).toBe('calling');
    h.layer.receive(response(rq, 180, 'b'), peer, h.udp);
    expect(tx.state).toBe('proceeding');
    h.layer.receive(response(rq, 180, 'b'), peer, h.udp); // 1xx in Proceeding: to the TU
    h.layer.receive(response(rq, 486, 'b'), peer, h.udp);
    expect(tx.state).toBe('completed');
    expect(t.statuses).toEqual([180, 180, 486]);
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['calling', 'proceeding', 'completed', 'terminated']);
  });

  test('the ACK for a non-2xx final: Request-URI, top Via, From, Call-ID, CSeq number, the To of the response, the Route set', () => {
    const h = harness();
    const rq = outgoing('INVITE', { route: true, seq: 42 });
    rq.headers.via!.push({ version: '2.0', protocol: 'UDP', host: 'upstream.example.com', params: { branch: 'z9hG4bKup' } });
    h.layer.sendRequest(rq, h.udp, peer, () => {});
    const sentInvite = h.udp.sent[0]!.message as SipRequest;
    h.layer.receive(response(rq, 603, 'totag'), peer, h.udp);
    const ack = h.udp.last().message as SipRequest;
    expect(ack.method).toBe('ACK');
    expect(ack.uri).toBe(sentInvite.uri);
    expect(ack.headers.via).toEqual([sentInvite.headers.via![0]]);
    expect(ack.headers.from).toEqual(sentInvite.headers.from);
    expect(ack.headers['call-id']).toBe(sentInvite.headers['call-id']);
    expect(ack.headers.cseq).toEqual({ seq: 42, method: 'ACK' });
    expect(ack.headers.to!.params.tag).toBe('totag');
    expect(ack.headers.route!.map((r) => r.uri.host)).toEqual(['proxy1.example.com', 'proxy2.example.com']);
    expect(h.udp.last().target).toBe(peer);
  });

  test('Calling -> Completed directly on a 3xx-6xx; a retransmitted final is ACKed again and not passed up', () => {
    const h = harness();
    const t = track();
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    h.layer.receive(response(rq, 404, 'b'), peer, h.udp);
    expect(tx.state).toBe('completed');
    h.clock.advance(500);
    expect(h.udp.count('INVITE')).toBe(1); // Timer A stopped
    h.layer.receive(response(rq, 404, 'b'), peer, h.udp);
    h.layer.receive(response(rq, 404, 'b'), peer, h.udp);
    expect(h.udp.count('ACK')).toBe(3);
    expect(t.statuses).toEqual([404]);
    expect(h.layer.stats().retransmissions.response).toBe(2);
  });

  test('Calling -> Accepted on 2xx; 2xx retransmissions go to the TU until Timer M (RFC 6026)', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const t = track();
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    h.layer.receive(response(rq, 200, 'b'), peer, h.udp);
    expect(tx.state).toBe('accepted');
    h.layer.receive(response(rq, 200, 'b'), peer, h.udp);
    h.layer.receive(response(rq, 200, 'c'), peer, h.udp); // another fork's 2xx
    h.layer.receive(response(rq, 486, 'd'), peer, h.udp); // not a 2xx: discarded
    expect(t.statuses).toEqual([200, 200, 200]);
    expect(h.udp.count('ACK')).toBe(0); // ACK for 2xx is the TU's job
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['calling', 'accepted', 'terminated']);
    h.layer.receive(response(rq, 200, 'b'), peer, h.udp);
    expect(h.strays.map((s) => s.status)).toEqual([200]); // after M: the stateless path
  });

  test('Proceeding -> Accepted on 2xx', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.tcp, peer, () => {});
    h.layer.receive(response(rq, 183, 'b'), peer, h.tcp);
    h.layer.receive(response(rq, 200, 'b'), peer, h.tcp);
    h.clock.advance(32000);
    expect(states.get(tx)).toEqual(['calling', 'proceeding', 'accepted', 'terminated']);
  });

  test('Calling -> Terminated on Timer B with a synthesised 408 (no remote)', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const t = track();
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    h.clock.advance(32000);
    expect(t.statuses).toEqual([408]);
    expect(t.remotes).toEqual([undefined]);
    expect(states.get(tx)).toEqual(['calling', 'terminated']);
  });

  test('Calling -> Terminated on a transport error, reported as 503', async () => {
    const h = harness();
    const errors: Error[] = [];
    h.layer.on('transportError', (e) => errors.push(e));
    const t = track();
    h.udp.fail = new Error('ECONNREFUSED');
    const tx = h.layer.sendRequest(outgoing('INVITE'), h.udp, peer, t.on);
    expect(t.statuses).toEqual([]); // never before sendRequest returns
    await settle();
    expect(t.statuses).toEqual([503]);
    expect(tx.state).toBe('terminated');
    expect(errors.map((e) => e.message)).toEqual(['ECONNREFUSED']);
    expect(h.layer.stats().timers).toBe(0);
  });

  test('a transport that throws synchronously is reported the same way', async () => {
    const h = harness();
    const t = track();
    h.tcp.send = () => {
      throw new Error('boom');
    };
    h.layer.sendRequest(outgoing('INVITE'), h.tcp, peer, t.on);
    await settle();
    expect(t.statuses).toEqual([503]);
    expect(h.layer.size().client).toBe(0);
  });

  test('a TU callback that throws does not break the transaction', () => {
    const h = harness();
    const errors: unknown[] = [];
    h.layer.on('tuError', (e) => errors.push(e));
    const rq = outgoing('INVITE');
    const tx = h.layer.sendRequest(rq, h.udp, peer, () => {
      throw new Error('tu');
    });
    h.layer.receive(response(rq, 486, 'b'), peer, h.udp);
    expect(tx.state).toBe('completed');
    expect(h.udp.count('ACK')).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe('non-INVITE client transaction (RFC 3261 Figure 6)', () => {
  test('Trying -> Proceeding -> Completed -> Terminated', () => {
    const h = harness();
    const states = statesOf(h.layer);
    const t = track();
    const rq = outgoing('REGISTER');
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    expect(tx.state).toBe('trying');
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.layer.receive(response(rq, 200, 'x'), peer, h.udp);
    h.layer.receive(response(rq, 200, 'x'), peer, h.udp); // absorbed in Completed
    expect(t.statuses).toEqual([100, 100, 200]);
    h.clock.advance(5000);
    expect(states.get(tx)).toEqual(['trying', 'proceeding', 'completed', 'terminated']);
    expect(h.layer.stats().strayResponses).toBe(0);
  });

  test('Trying -> Completed on a final; Timer E stops', () => {
    const h = harness();
    const rq = outgoing('OPTIONS');
    const tx = h.layer.sendRequest(rq, h.udp, peer, () => {});
    h.clock.advance(600);
    h.layer.receive(response(rq, 404, 'x'), peer, h.udp);
    expect(tx.state).toBe('completed');
    h.clock.advance(5000);
    expect(h.udp.times('OPTIONS')).toEqual([0, 500]);
  });

  test('Trying -> Terminated on Timer F (408), Proceeding -> Terminated on Timer F', () => {
    const h = harness();
    const a = track();
    const b = track();
    const rq1 = outgoing('OPTIONS');
    const rq2 = outgoing('OPTIONS');
    h.layer.sendRequest(rq1, h.udp, peer, a.on);
    h.layer.sendRequest(rq2, h.udp, peer, b.on);
    h.layer.receive(response(rq2, 100), peer, h.udp);
    h.clock.advance(32000);
    expect(a.statuses).toEqual([408]);
    expect(b.statuses).toEqual([100, 408]);
    expect(h.layer.size().client).toBe(0);
  });

  test('Proceeding -> Terminated on a transport error (503)', async () => {
    const h = harness();
    const t = track();
    const rq = outgoing('OPTIONS');
    const tx = h.layer.sendRequest(rq, h.udp, peer, t.on);
    h.layer.receive(response(rq, 100), peer, h.udp);
    h.udp.fail = new Error('EHOSTUNREACH');
    h.clock.advance(4500); // Timer E retransmission fails
    await settle();
    expect(t.statuses).toEqual([100, 503]);
    expect(tx.state).toBe('terminated');
  });
});

describe('sendRequest', () => {
  test('sets a fresh z9hG4bK branch from crypto on the top Via', () => {
    const h = harness();
    const a = outgoing('OPTIONS');
    const b = outgoing('OPTIONS');
    a.headers.via![0]!.params.branch = 'z9hG4bKgiven';
    const txa = h.layer.sendRequest(a, h.udp, peer, () => {});
    const txb = h.layer.sendRequest(b, h.udp, peer, () => {});
    expect(txa.branch).toMatch(/^z9hG4bK[0-9a-f]{32}$/);
    expect(txa.branch).not.toBe(txb.branch);
    expect(a.headers.via![0]!.params.branch).toBe(txa.branch);
    expect(h.udp.sent[0]!.message.headers.via![0]!.params.branch).toBe(txa.branch);
    h.layer.shutdown();
  });

  test('CANCEL keeps the branch of the INVITE and gets its own transaction', () => {
    const h = harness();
    const invite = outgoing('INVITE');
    const itx = h.layer.sendRequest(invite, h.udp, peer, () => {});
    const cancel: SipRequest = {
      method: 'CANCEL',
      uri: invite.uri,
      headers: { ...invite.headers, via: [invite.headers.via![0]!], cseq: { seq: 1, method: 'CANCEL' } },
      content: '',
    };
    const statuses: string[] = [];
    const ctx = h.layer.sendRequest(cancel, h.udp, peer, (rs) => statuses.push(`${rs.status} ${rs.headers.cseq!.method}`));
    expect(ctx.branch).toBe(itx.branch);
    expect(h.layer.findClientTransaction(itx.branch, 'INVITE')).toBe(itx);
    expect(h.layer.findClientTransaction(itx.branch, 'CANCEL')).toBe(ctx);
    h.layer.receive(response(cancel, 200, 'b'), peer, h.udp);
    h.layer.receive(response(invite, 487, 'b'), peer, h.udp);
    expect(statuses).toEqual(['200 CANCEL']);
    expect(ctx.state).toBe('completed');
    expect(itx.state).toBe('completed');
    expect(() => h.layer.sendRequest(cancel, h.udp, peer, () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_TRANSACTION_EXISTS' }),
    );
    h.layer.shutdown();
  });

  test('refuses ACK, requests without Via/CSeq/Call-ID, and any request after shutdown', () => {
    const h = harness();
    const codes: string[] = [];
    const attempt = (rq: SipRequest): void => {
      try {
        h.layer.sendRequest(rq, h.udp, peer, () => {});
      } catch (e) {
        if (isTransactionError(e)) codes.push(e.code);
      }
    };
    attempt(outgoing('ACK'));
    const noVia = outgoing('OPTIONS');
    delete noVia.headers.via;
    attempt(noVia);
    const noCseq = outgoing('OPTIONS');
    delete noCseq.headers.cseq;
    attempt(noCseq);
    const noCallId = outgoing('OPTIONS');
    delete noCallId.headers['call-id'];
    attempt(noCallId);
    h.layer.shutdown();
    attempt(outgoing('OPTIONS'));
    expect(codes).toEqual([
      'ERR_INVALID_REQUEST',
      'ERR_INVALID_REQUEST',
      'ERR_INVALID_REQUEST',
      'ERR_INVALID_REQUEST',
      'ERR_SHUTDOWN',
    ]);
    expect(h.udp.sent).toHaveLength(0);
  });
});

describe('InviteClientTransaction.cancel (RFC 3261 §9.1)', () => {
  function cancelSetup(): { h: ReturnType<typeof harness>; rq: SipRequest; tx: InviteClientTransaction } {
    const h = harness();
    const rq = outgoing('INVITE', { route: true });
    const tx = h.layer.sendRequest(rq, h.udp, peer, () => {}) as InviteClientTransaction;
    return { h, rq, tx };
  }

  test('waits for a provisional response before sending the CANCEL', () => {
    const { h, rq, tx } = cancelSetup();
    const statuses: number[] = [];
    tx.cancel((rs) => statuses.push(rs.status));
    expect(h.udp.count('CANCEL')).toBe(0);
    h.clock.advance(600);
    h.layer.receive(response(rq, 180, 'b'), peer, h.udp);
    expect(h.udp.count('CANCEL')).toBe(1);
    const cancel = h.udp.last().message as SipRequest;
    const sentInvite = h.udp.sent[0]!.message as SipRequest;
    expect(cancel.uri).toBe(sentInvite.uri);
    expect(cancel.headers.via).toEqual([sentInvite.headers.via![0]]);
    expect(cancel.headers.to).toEqual(sentInvite.headers.to);
    expect(cancel.headers.from).toEqual(sentInvite.headers.from);
    expect(cancel.headers.cseq).toEqual({ seq: 1, method: 'CANCEL' });
    expect(cancel.headers.route).toEqual(sentInvite.headers.route);
    h.layer.receive(response(cancel, 200, 'b'), peer, h.udp);
    expect(statuses).toEqual([200]);
    tx.cancel(); // a second call does nothing
    expect(h.udp.count('CANCEL')).toBe(1);
    h.layer.shutdown();
  });

  test('sends at once in Proceeding; nothing after a final response', () => {
    const { h, rq, tx } = cancelSetup();
    h.layer.receive(response(rq, 180, 'b'), peer, h.udp);
    tx.cancel();
    expect(h.udp.count('CANCEL')).toBe(1);
    const other = cancelSetup();
    other.h.layer.receive(response(other.rq, 486, 'b'), peer, other.h.udp);
    other.tx.cancel();
    expect(other.h.udp.count('CANCEL')).toBe(0);
    h.layer.shutdown();
    other.h.layer.shutdown();
  });

  test('a pending CANCEL is dropped when a final response arrives first', () => {
    const { h, rq, tx } = cancelSetup();
    tx.cancel();
    h.layer.receive(response(rq, 200, 'b'), peer, h.udp);
    expect(h.udp.count('CANCEL')).toBe(0);
    h.layer.shutdown();
  });
});

test('ClientTransaction exposes what core needs', () => {
  const h = harness();
  const tx: ClientTransaction = h.layer.sendRequest(outgoing('MESSAGE'), h.tcp, peer, () => {});
  expect(tx.kind).toBe('non-invite-client');
  expect(tx.method).toBe('MESSAGE');
  expect(tx.transport).toBe(h.tcp);
  expect(tx.remote).toBe(peer);
  expect(tx.reliable).toBe(true);
  h.layer.shutdown();
  expect(tx.state).toBe('terminated');
});

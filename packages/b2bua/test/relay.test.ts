// What crosses an answered call: BYE from either side (with its Reason), a late offer across the
// 2xx and the ACK, re-INVITE and UPDATE offers from either side through onOffer/onAnswer, a
// session refresh answered on its own hop, an offerless re-INVITE relayed as one, INFO and MESSAGE
// with their bodies and the far side's answer. Dialog UAs on real sockets at both ends.
import { makeResponse, type SipRequest } from '@sipts/core';
import { parseSdp, rewriteConnection, stringifySdp } from '@sipts/sdp';
import type { RelayContext } from '@sipts/b2bua';
import { ANSWER, ANSWER_A, OFFER, OFFER_B, bridged, closeAll, isRequest, isResponse, until, version } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

/** An SDP hook that moves media to `address`, recording what it saw. */
function relayTo(address: string, seen: string[]): (sdp: string, context: RelayContext) => string {
  return (sdp, context) => {
    seen.push(`${context.method} ${context.from}->${context.to}${context.initial ? ' initial' : ''}`);
    return stringifySdp(rewriteConnection(parseSdp(sdp), { address }));
  };
}

test('BYE from B ends A, with B\'s Reason relayed (RFC 3326); the call ends answered', async () => {
  const { alice, a, b, mid } = await bridged();
  const ends: string[] = [];
  mid.b2bua.on('callEnd', (e) => ends.push(`${e.outcome} ${e.reason} ${e.endedBy}`));
  await b.bye({ headers: { reason: 'Q.850;cause=16;text="Normal call clearing"' } });
  await until(() => a.state === 'terminated');
  expect(a.terminationReason?.cause).toBe('remote-bye');
  const bye = alice.received.find(isRequest('BYE')) as SipRequest;
  expect(bye.headers.reason).toBe('Q.850;cause=16;text="Normal call clearing"');
  expect(ends).toEqual(['answered remote-bye b']);
});

test('late offer: no SDP in A\'s INVITE, B\'s offer in its 2xx goes to A, A\'s answer in its ACK goes to B (RFC 3261 §13.2.1)', async () => {
  const { bob, a, b } = await bridged({ offer: false });
  expect(bob.received.find(isRequest('INVITE'))?.content ?? '').toBe('');
  expect(a.remoteSdp).toBe(OFFER_B);
  expect(a.localSdp).toBe(ANSWER_A);
  await until(() => b.remoteSdp === ANSWER_A);
  expect(bob.received.find(isRequest('ACK'))?.content).toBe(ANSWER_A);
});

test('re-INVITE from A: the offer goes to B through onOffer, B\'s answer back through onAnswer (RFC 3261 §14)', async () => {
  const seen: string[] = [];
  const { a, b, bob, mid } = await bridged({ b2bua: { onOffer: relayTo('127.0.0.9', seen), onAnswer: relayTo('127.0.0.8', seen) } });
  const rs = await a.reinvite({ sdp: version(OFFER, 2), headers: { subject: 'hold on' } });
  expect(rs.status).toBe(200);
  expect(a.remoteSdp).toContain('c=IN IP4 127.0.0.8');
  expect(a.remoteSdp).toContain('m=audio 40002');
  const reinvite = bob.received.filter(isRequest('INVITE'))[1] as SipRequest;
  expect(reinvite.headers.subject).toBe('hold on');
  expect(reinvite.content).toContain('c=IN IP4 127.0.0.9');
  expect(b.remoteSdp).toBe(reinvite.content);
  expect(seen).toEqual(['INVITE a->b initial', 'INVITE b->a initial', 'INVITE a->b', 'INVITE b->a']);
  expect(mid.b2bua.stats().relayed).toBe(1);
});

test('re-INVITE from B goes to A; a failure (488) comes back with its status and A\'s session stays', async () => {
  const { a, b, alice } = await bridged();
  const rs = await b.reinvite({ sdp: version(ANSWER, 2) });
  expect(rs.status).toBe(200);
  expect(a.remoteSdp).toBe(version(ANSWER, 2));
  expect(b.remoteSdp).toBe(ANSWER_A);
  // Alice refuses the next one.
  a.sdpHooks = { answer: () => ({ status: 488, reason: 'Not Here' }) };
  const refused = await b.reinvite({ sdp: version(ANSWER, 3) });
  expect([refused.status, refused.reason]).toEqual([488, 'Not Here']);
  expect(b.remoteSdp).toBe(ANSWER_A);
  expect(alice.received.filter(isRequest('INVITE'))).toHaveLength(2);
});

test('UPDATE with an offer from A is relayed as an UPDATE (RFC 3311)', async () => {
  const { a, b, bob } = await bridged();
  const rs = await a.update({ sdp: version(OFFER, 2) });
  expect(rs.status).toBe(200);
  expect(bob.received.some(isRequest('UPDATE'))).toBe(true);
  expect(b.remoteSdp).toBe(version(OFFER, 2));
  expect(a.remoteSdp).toBe(ANSWER);
});

test('a session refresh (the same o= line again) is answered on its own hop, not relayed (RFC 4028, RFC 3264 §8)', async () => {
  const { a, bob, mid } = await bridged();
  const rs = await a.reinvite({ sdp: OFFER });
  expect(rs.status).toBe(200);
  expect(rs.content).toBe(ANSWER);
  expect(bob.received.filter(isRequest('INVITE'))).toHaveLength(1);
  expect(mid.b2bua.stats().relayed).toBe(0);
});

test('an offerless re-INVITE from A goes to B without SDP; B\'s offer comes back in the 2xx, A\'s answer goes to B in the ACK', async () => {
  const { a, b, bob } = await bridged({ aliceUa: { sdp: { answer: () => version(ANSWER_A, 5) } }, bobUa: { sdp: { offer: () => version(ANSWER, 4) } } });
  const rs = await a.reinvite();
  expect(rs.status).toBe(200);
  expect(rs.content).toBe(version(ANSWER, 4));
  const reinvite = bob.received.filter(isRequest('INVITE'))[1] as SipRequest;
  expect(reinvite.content ?? '').toBe('');
  await until(() => b.remoteSdp === version(ANSWER_A, 5));
  expect(bob.received.filter(isRequest('ACK'))[1]?.content).toBe(version(ANSWER_A, 5));
});

test('INFO and MESSAGE cross with their bodies; the far side\'s status and reason come back', async () => {
  const { a, b } = await bridged();
  const got: string[] = [];
  b.on('request', (rq, _remote, reply) => {
    got.push(`${rq.method} ${String(rq.headers['content-type'])} ${rq.content ?? ''} ${String(rq.headers['info-package'])}`);
    reply.reply(rq.method === 'INFO' ? makeResponse(rq, 200, 'Fine') : makeResponse(rq, 202, 'Taken'));
  });
  const info = await a.info('Signal=5\r\nDuration=160\r\n', 'application/dtmf-relay', { infoPackage: 'dtmf' });
  expect([info.status, info.reason]).toEqual([200, 'Fine']);
  const message = await a.message('hello bob');
  expect([message.status, message.reason]).toEqual([202, 'Taken']);
  expect(got).toEqual(['INFO application/dtmf-relay Signal=5\r\nDuration=160\r\n undefined', 'MESSAGE text/plain hello bob undefined']);
});

test('a request the far side answers 481 comes back 481 and ends both legs with BYE and a Reason', async () => {
  const { a, b, bob, alice } = await bridged();
  b.on('request', (rq, _remote, reply) => reply.reply(makeResponse(rq, 481, 'Gone')));
  const rs = await a.message('are you there');
  expect(rs.status).toBe(481);
  // RFC 3261 §12.2.1.2: the B leg is over; the B2BUA ends A with BYE and says why.
  await until(() => alice.received.some(isRequest('BYE')));
  const bye = alice.received.find(isRequest('BYE')) as SipRequest;
  expect(bye.headers.reason).toBe('SIP ;cause=481 ;text="Call Leg Gone"');
  expect(a.state).toBe('terminated');
  expect(bob.received.some(isResponse(200, 'BYE'))).toBe(false);
});

// Limits and dead legs on fake time (a ManualClock shared by the B2BUA's stack and UA; the
// parties run on real time): maxCallDuration ends both legs with BYE and a Reason, maxCalls
// answers 503 + Retry-After before any state, a caller that never ACKs and a callee whose session
// timer expires end the other leg with BYE and an RFC 3326 Reason.
import type { SipRequest } from '@sipts/core';
import { ManualClock } from '@sipts/transaction';
import { ANSWER, OFFER, RawPeer, bridged, closeAll, isRequest, isResponse, middle, party, settle, tag, until, wire } from './helpers.js';

jest.setTimeout(20000);
afterEach(closeAll);

/** Advances fake time by `ms` in steps of `step`, letting sockets deliver in between. */
async function advance(clock: ManualClock, ms: number, step = 500): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle(2);
  }
  await settle(20);
}

test('maxCallDuration: both legs get BYE with a Reason; the call ends answered (max-duration)', async () => {
  const clock = new ManualClock();
  const { a, b, alice, bob, mid } = await bridged({ b2bua: { maxCallDuration: 60_000, ua: { clock } } });
  const ends: string[] = [];
  mid.b2bua.on('callEnd', (e) => ends.push(`${e.outcome} ${e.reason} ${e.endedBy} ${e.duration}`));
  await advance(clock, 59_000, 1000);
  expect(a.state).toBe('confirmed');
  await advance(clock, 1000);
  await until(() => a.state === 'terminated' && b.state === 'terminated');
  for (const p of [alice, bob]) expect((p.received.find(isRequest('BYE')) as SipRequest).headers.reason).toBe('SIP ;cause=408 ;text="Maximum Call Duration"');
  expect(ends).toEqual(['answered max-duration b2bua 60000']);
  expect(mid.b2bua.stats().maxDurationReached).toBe(1);
});

test('maxCalls: past it a new INVITE gets 503 + Retry-After and no call state', async () => {
  const bob = await party();
  bob.ua.on('invite', (call) => void call.progress(180));
  const mid = await middle({ target: bob.uri(), maxCalls: 1, retryAfter: 7 });
  const alice = await party();
  const first = alice.ua.invite(mid.uri(), { sdp: OFFER });
  first.catch(() => undefined);
  await until(() => mid.b2bua.stats().calls === 1);
  const second = await alice.ua.invite(mid.uri(), { sdp: OFFER }).then(
    () => undefined,
    (e: { response?: { status: number; headers: Record<string, unknown> } }) => e.response,
  );
  expect([second?.status, second?.headers['retry-after']]).toEqual([503, '7']);
  expect(mid.b2bua.stats()).toMatchObject({ calls: 1, callsCreated: 1, overloadRejected: 1 });
  expect(mid.b2bua.ua.stats().incoming).toBe(1);
});

test('a caller that never ACKs the 200: after 64*T1 it gets BYE, and B gets BYE with Reason "ACK Timeout" (RFC 3261 §13.3.1.4)', async () => {
  const clock = new ManualClock();
  const bob = await party();
  bob.ua.on('invite', (call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: bob.uri(), ua: { clock } });
  const caller = await RawPeer.create();
  const callId = `${tag()}@raw`;
  const invite = wire(`INVITE ${mid.uri()} SIP/2.0`, caller.port, [
    `From: <sip:caller@127.0.0.1:${caller.port}>;tag=${tag()}`,
    `To: <${mid.uri()}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@127.0.0.1:${caller.port}>`,
  ], OFFER);
  await caller.send(invite, mid.port);
  await caller.next(isResponse(200, 'INVITE'));
  await until(() => bob.received.some(isRequest('ACK')));
  await advance(clock, 64 * 500);
  await caller.next(isRequest('BYE'));
  await until(() => bob.received.some(isRequest('BYE')));
  expect((bob.received.find(isRequest('BYE')) as SipRequest).headers.reason).toBe('SIP ;cause=408 ;text="ACK Timeout"');
  expect(mid.b2bua.stats().callsEnded.answered).toBe(1);
});

test('the B leg\'s session timer expires (no refresh from B): B gets BYE, A gets BYE with a Reason (RFC 4028 §10)', async () => {
  const clock = new ManualClock();
  // Bob refreshes (refresher uas) on real time, so never within the fake minute below.
  const { a, alice, mid } = await bridged({ b2bua: { ua: { clock, sessionTimer: { expires: 90 } } }, bobUa: { sessionTimer: { refresher: 'uas' } } });
  const legEnds: string[] = [];
  mid.b2bua.on('legEnd', (e) => legEnds.push(`${e.side} ${e.reason}`));
  // RFC 4028 §10: the side that does not refresh sends BYE min(32 s, SE/3) before expiry: at 60 s.
  await advance(clock, 61_000, 1000);
  await until(() => a.state === 'terminated');
  expect((alice.received.find(isRequest('BYE')) as SipRequest).headers.reason).toBe('SIP ;cause=408 ;text="Session Timer Expired"');
  expect(legEnds).toEqual(['b session-expired', 'a local-bye']);
});

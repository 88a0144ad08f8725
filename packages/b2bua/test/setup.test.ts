// Setting a call up: CANCEL from A cancels B, a final failure is relayed (status, reason phrase,
// chosen headers) or moves on to the next target, a 6xx ends the search, a target that rings too
// long is CANCELled for the next, a B leg that never answers (Timer B, fake time) is a 408, 100rel
// end to end or per hop, early media, and an onOffer refusal.
import type { SipRequest, SipResponse } from '@sipts/core';
import { isDialogError, type IncomingCall } from '@sipts/dialog';
import { ManualClock } from '@sipts/transaction';
import { ANSWER, OFFER, RawPeer, closeAll, isRequest, isResponse, middle, party, settle, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

/** A callee whose INVITEs go to `onInvite`. */
async function callee(onInvite: (call: IncomingCall) => void, ua = {}): Promise<Awaited<ReturnType<typeof party>> & { calls: IncomingCall[] }> {
  const p = await party({ ua });
  const calls: IncomingCall[] = [];
  p.ua.on('invite', (call) => {
    calls.push(call);
    onInvite(call);
  });
  return { ...p, calls };
}

async function rejection(promise: Promise<unknown>): Promise<SipResponse | undefined> {
  try {
    await promise;
  } catch (e) {
    if (isDialogError(e)) return e.response;
    throw e;
  }
  throw new Error('the call was answered');
}

test('CANCEL from A while B rings cancels B; A gets 487; the call ends cancelled', async () => {
  const bob = await callee((call) => void call.progress(180));
  const mid = await middle({ target: bob.uri() });
  const alice = await party();
  const controller = new AbortController();
  const ringing = new Promise<void>((resolve) => {
    void alice.ua.invite(mid.uri(), { sdp: OFFER, signal: controller.signal, onProgress: (rs) => rs.status === 180 && resolve() }).catch(() => undefined);
  });
  await ringing;
  let cancelled = 0;
  bob.calls[0]?.on('cancel', () => cancelled++);
  controller.abort();
  await until(() => cancelled === 1);
  await until(() => mid.b2bua.stats().calls === 0);
  expect(alice.received.some(isResponse(487, 'INVITE'))).toBe(true);
  expect(bob.calls[0]?.state).toBe('cancelled');
  expect(mid.b2bua.stats()).toMatchObject({ legs: 0, callsEnded: { cancelled: 1 } });
});

test('486 from B is relayed with its reason phrase and Warning; the call ends busy', async () => {
  const bob = await callee((call) => call.reject(486, { reason: 'Gone Fishing', headers: { warning: '399 bob "back soon"', 'x-secret': 'internal' } }));
  const mid = await middle({ target: bob.uri() });
  const ends: string[] = [];
  mid.b2bua.on('legEnd', (e) => ends.push(`${e.side} ${e.reason} ${e.status}`));
  const alice = await party();
  const rs = await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER }));
  expect([rs?.status, rs?.reason, rs?.headers.warning, rs?.headers['x-secret']]).toEqual([486, 'Gone Fishing', '399 bob "back soon"', undefined]);
  await until(() => mid.b2bua.stats().calls === 0);
  expect(mid.b2bua.stats().callsEnded.busy).toBe(1);
  expect(ends).toEqual(['b rejected 486', 'a rejected 486']);
});

test('serial targets: a failure moves on to the next target, which answers; each B leg is a new Call-ID', async () => {
  const first = await callee((call) => call.reject(503));
  const second = await callee((call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: [first.uri(), second.uri()] });
  const alice = await party();
  const dialog = await alice.ua.invite(mid.uri(), { sdp: OFFER });
  expect(dialog.remoteSdp).toBe(ANSWER);
  const ids = [first.calls[0]?.callId, second.calls[0]?.callId, dialog.callId];
  expect(new Set(ids).size).toBe(3);
  expect(mid.b2bua.stats()).toMatchObject({ legsCreated: 2 });
});

test('a 6xx ends the search: the next target is not tried (RFC 3261 §16.7)', async () => {
  const first = await callee((call) => call.reject(603, { reason: 'Declined' }));
  const second = await callee((call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: [first.uri(), second.uri()] });
  const alice = await party();
  const rs = await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER }));
  expect([rs?.status, rs?.reason]).toEqual([603, 'Declined']);
  await settle(50);
  expect(second.calls).toHaveLength(0);
  expect(mid.b2bua.stats().callsEnded.rejected).toBe(1);
});

test('no target left: the last failure is relayed; no target at all from the route function: 404', async () => {
  const first = await callee((call) => call.reject(480));
  const second = await callee((call) => call.reject(486));
  const mid = await middle({ target: (rq) => (String(rq.uri).includes('nobody') ? [] : [first.uri(), second.uri()]) });
  const alice = await party();
  expect((await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER })))?.status).toBe(486);
  expect((await rejection(alice.ua.invite(mid.uri('nobody'), { sdp: OFFER })))?.status).toBe(404);
});

test('targetTimeout: a target that rings too long is CANCELled and the next one tried (fake time)', async () => {
  const clock = new ManualClock();
  const first = await callee((call) => void call.progress(180));
  const second = await callee((call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: [first.uri(), second.uri()], targetTimeout: 20_000, ua: { clock } });
  const alice = await party();
  const answered = alice.ua.invite(mid.uri(), { sdp: OFFER });
  await until(() => first.calls.length === 1 && first.received.length > 0);
  await settle(50);
  expect(second.calls).toHaveLength(0);
  clock.advance(20_000);
  const dialog = await answered;
  expect(dialog.remoteSdp).toBe(ANSWER);
  expect(first.calls[0]?.state).toBe('cancelled');
  expect(first.received.some(isRequest('CANCEL'))).toBe(true);
});

test('the last target never answers (Timer B, fake time): the caller gets 408; the call ends no-answer', async () => {
  const clock = new ManualClock();
  const silent = await RawPeer.create(); // swallows the INVITE and its retransmissions
  const mid = await middle({ target: `sip:nobody@127.0.0.1:${silent.port}`, ua: { clock } });
  const alice = await party();
  const failed = rejection(alice.ua.invite(mid.uri(), { sdp: OFFER }));
  await until(() => silent.all.length > 0);
  // RFC 3261 §17.1.1.2: Timer B = 64*T1.
  for (let t = 0; t < 64; t++) {
    clock.advance(500);
    await settle(1);
  }
  const rs = await failed;
  expect(rs?.status).toBe(408);
  await until(() => mid.b2bua.stats().calls === 0);
  expect(mid.b2bua.stats().callsEnded['no-answer']).toBe(1);
});

test('100rel end to end: A requires it, so B is asked to; B\'s reliable 183 with SDP reaches A reliably (RFC 3262)', async () => {
  const bob = await callee(
    (call) => {
      void call.progress(183, { sdp: ANSWER, reliable: true }).then(() => call.accept({ sdp: ANSWER }));
    },
    { rel100: 'supported' },
  );
  const mid = await middle({ target: bob.uri() });
  const alice = await party({ ua: { rel100: 'required' } });
  const early: string[] = [];
  const dialog = await alice.ua.invite(mid.uri(), { sdp: OFFER, onProgress: (rs) => early.push(`${rs.status} ${rs.headers.rseq !== undefined} ${rs.content === ANSWER}`) });
  expect(early).toEqual(['183 true true']);
  expect(dialog.remoteSdp).toBe(ANSWER);
  const invite = bob.received.find(isRequest('INVITE')) as SipRequest;
  expect(String(invite.headers.require)).toContain('100rel');
  // Each hop PRACKs its own reliable provisional.
  expect(bob.received.filter(isRequest('PRACK'))).toHaveLength(1);
  expect(mid.received.filter(isRequest('PRACK'))).toHaveLength(1);
});

test('100rel end to end: A without 100rel, B is not offered it; local mode: B is, and A gets the 180 unreliably', async () => {
  const makeBob = (): ReturnType<typeof callee> =>
    callee((call) => void call.progress(180, { reliable: call.supports('100rel') }).then(() => call.accept({ sdp: ANSWER })), { rel100: 'preferred' });
  const bob = await makeBob();
  const mid = await middle({ target: bob.uri() });
  const alice = await party({ ua: { rel100: 'disabled' } });
  await alice.ua.invite(mid.uri(), { sdp: OFFER });
  expect(String(bob.received.find(isRequest('INVITE'))?.headers.supported)).not.toContain('100rel');
  const bob2 = await makeBob();
  const local = await middle({ target: bob2.uri(), rel100: 'local' });
  const rings: Array<string | undefined> = [];
  await alice.ua.invite(local.uri(), { sdp: OFFER, onProgress: (rs) => rings.push(rs.headers.rseq as string | undefined) });
  expect(String(bob2.received.find(isRequest('INVITE'))?.headers.supported)).toContain('100rel');
  expect(bob2.received.filter(isRequest('PRACK'))).toHaveLength(1);
  expect(rings).toEqual([undefined]);
});

test('early media: an unreliable 183 with SDP reaches A with the SDP through onAnswer', async () => {
  const bob = await callee((call) => {
    void call.progress(183, { sdp: ANSWER });
    setTimeout(() => void call.accept({ sdp: ANSWER }), 20);
  });
  const mid = await middle({ target: bob.uri(), onAnswer: (sdp) => sdp.replace('40002', '50002') });
  const alice = await party();
  const early: string[] = [];
  const dialog = await alice.ua.invite(mid.uri(), { sdp: OFFER, onProgress: (rs) => early.push(rs.content ?? '') });
  expect(early[0]).toContain('m=audio 50002');
  expect(dialog.remoteSdp).toContain('m=audio 50002');
});

test('onOffer refuses the caller\'s offer: 488, no B leg', async () => {
  const bob = await callee((call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: bob.uri(), onOffer: () => ({ status: 488, reason: 'No Common Codec' }) });
  const alice = await party();
  const rs = await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER }));
  expect(rs?.status).toBe(488);
  await settle(30);
  expect(bob.calls).toHaveLength(0);
});

test('bridge() from the invite event with per-call options; hangup() before the answer: CANCEL B, the caller gets the status', async () => {
  const bob = await callee((call) => void call.progress(180));
  const mid = await middle();
  const alice = await party();
  mid.b2bua.on('invite', (incoming) => {
    const call = mid.b2bua.bridge(incoming, bob.uri(), { headers: { 'x-route': 'gold' }, data: 'gold' });
    expect(call.data).toBe('gold');
  });
  const failed = rejection(alice.ua.invite(mid.uri(), { sdp: OFFER }));
  await until(() => bob.calls.length === 1 && bob.calls[0]?.dialog !== undefined);
  expect(bob.calls[0]?.request?.headers['x-route']).toBe('gold');
  const call = [...mid.b2bua.calls()][0];
  call?.hangup({ status: 603, reason: 'Not Now' });
  const rs = await failed;
  expect([rs?.status, rs?.reason]).toEqual([603, 'Not Now']);
  await until(() => bob.calls[0]?.state === 'cancelled');
});

test('no target and no invite listener: 480; bridge() checks its targets and the call state', async () => {
  const mid = await middle();
  const alice = await party();
  expect((await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER })))?.status).toBe(480);
  const seen: IncomingCall[] = [];
  mid.b2bua.on('invite', (incoming) => {
    seen.push(incoming);
    expect(() => mid.b2bua.bridge(incoming, 'mailto:x@y')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_TARGET' }));
    expect(() => mid.b2bua.bridge(incoming, [])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_TARGET' }));
    incoming.reject(403);
    expect(() => mid.b2bua.bridge(incoming, 'sip:x@127.0.0.1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
  expect((await rejection(alice.ua.invite(mid.uri(), { sdp: OFFER })))?.status).toBe(403);
  expect(seen).toHaveLength(1);
});

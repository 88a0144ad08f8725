// re-INVITE and UPDATE with the offer/answer state (RFC 3261 §14, RFC 3311, RFC 3264, RFC 6337):
// commits on 2xx, rollback on failure, 491 for glare and the §14.1 retry delay, 500 with
// Retry-After for overlapping offers, offerless re-INVITEs, CANCEL of a re-INVITE, 481 ending the dialog.
import { ManualClock } from '@sipts/transaction';
import type { SipRequest } from '@sipts/core';
import type { Dialog, IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, RawCaller, RawPeer, closeAll, endpoint, isRequest, responseText, settle, until, version } from './helpers.js';

jest.setTimeout(20000);
afterEach(closeAll);

async function call(ua: Parameters<typeof endpoint>[0] = {}, uaB: Parameters<typeof endpoint>[0] = {}): Promise<{ caller: Dialog; callee: Dialog }> {
  const b = await endpoint(uaB);
  const a = await endpoint(ua);
  const accepted: Promise<Dialog>[] = [];
  b.ua.on('invite', (c) => accepted.push(c.accept({ sdp: ANSWER })));
  const caller = await a.ua.invite(b.uri(), { sdp: OFFER });
  await until(() => accepted.length === 1);
  const callee = await accepted[0]!;
  return { caller, callee };
}

/** Our UA calls a raw callee, which answers 200; returns the confirmed dialog and the INVITE. */
async function callRaw(clock?: ManualClock, ua = {}): Promise<{ dialog: Dialog; peer: RawPeer; port: number; invite: SipRequest }> {
  const a = await endpoint({ ...(clock ? { clock } : {}), ua });
  const peer = await RawPeer.create();
  const pending = a.ua.invite(`sip:raw@127.0.0.1:${peer.port}`, { sdp: OFFER });
  const invite = (await peer.next(isRequest('INVITE'))).message as SipRequest;
  await peer.send(responseText(invite, 200, { toTag: 'raw', lines: [`Contact: <sip:raw@127.0.0.1:${peer.port}>`, 'Allow: INVITE, ACK, BYE, UPDATE'], body: ANSWER }), a.port);
  return { dialog: await pending, peer, port: a.port, invite };
}

test('a re-INVITE with a new offer: both sides commit the new session on 2xx/ACK', async () => {
  const answers: string[] = [];
  const { caller, callee } = await call({}, { ua: { sdp: { answer: (_d, offer) => (answers.push(offer), version(ANSWER, 2)) } } });
  const sessions: Array<string | undefined> = [];
  callee.on('session', (local, remote) => sessions.push(remote, local));
  const offer2 = version(OFFER, 2);
  const rs = await caller.reinvite({ sdp: offer2 });
  expect(rs.status).toBe(200);
  expect(caller.localSdp).toBe(offer2);
  expect(caller.remoteSdp).toBe(version(ANSWER, 2));
  expect(answers).toEqual([offer2]);
  await until(() => sessions.length === 2);
  expect(sessions).toEqual([offer2, version(ANSWER, 2)]);
  expect(caller.offerState).toBe('idle');
  expect(callee.offerState).toBe('idle');
});

test('a failed re-INVITE leaves the session as it was on both sides (RFC 3261 §14.1)', async () => {
  const { caller, callee } = await call({}, { ua: { sdp: { answer: () => ({ status: 488 }) } } });
  const rs = await caller.reinvite({ sdp: version(OFFER, 2) });
  expect(rs.status).toBe(488);
  expect(caller.localSdp).toBe(OFFER);
  expect(caller.remoteSdp).toBe(ANSWER);
  expect(caller.offerState).toBe('idle');
  expect(callee.localSdp).toBe(ANSWER);
  expect(callee.remoteSdp).toBe(OFFER);
  expect(callee.offerState).toBe('idle');
  expect(caller.state).toBe('confirmed');
  // And the dialog still works.
  expect((await caller.update({ sdp: version(OFFER, 3) })).status).toBe(488);
  expect((await caller.update()).status).toBe(200);
});

test('without an answer hook an offer that only repeats the session (same o= line) is answered with ours; a new one gets 488', async () => {
  const { caller } = await call();
  expect((await caller.reinvite({ sdp: OFFER })).status).toBe(200);
  expect(caller.remoteSdp).toBe(ANSWER);
  expect((await caller.update({ sdp: version(OFFER, 5) })).status).toBe(488);
});

test('an UPDATE with an offer in both directions (RFC 3311)', async () => {
  const { caller, callee } = await call({ ua: { sdp: { answer: () => version(OFFER, 9) } } }, { ua: { sdp: { answer: () => version(ANSWER, 7) } } });
  expect((await caller.update({ sdp: version(OFFER, 4) })).status).toBe(200);
  expect(caller.remoteSdp).toBe(version(ANSWER, 7));
  expect((await callee.update({ sdp: version(ANSWER, 8) })).status).toBe(200);
  expect(callee.remoteSdp).toBe(version(OFFER, 9));
  expect(callee.localSdp).toBe(version(ANSWER, 8));
});

test('an offerless re-INVITE: the 2xx carries our offer (the current session by default), the ACK the answer', async () => {
  const { caller, callee } = await call({ ua: { sdp: { answer: () => version(OFFER, 2) } } });
  const acks: SipRequest[] = [];
  callee.on('ack', (ack) => acks.push(ack));
  const rs = await caller.reinvite();
  expect(rs.content).toBe(ANSWER); // the callee offered its current session
  await until(() => acks.length === 1);
  expect(acks[0]?.content).toBe(version(OFFER, 2));
  expect(callee.remoteSdp).toBe(version(OFFER, 2));
  expect(caller.localSdp).toBe(version(OFFER, 2));
});

test('reinvite() while an INVITE or an offer is in progress: ERR_REQUEST_PENDING; re-INVITE on an early dialog: ERR_INVALID_STATE', async () => {
  const { dialog } = await callRaw();
  const first = dialog.reinvite({ sdp: version(OFFER, 2) });
  await expect(dialog.reinvite({ sdp: version(OFFER, 3) })).rejects.toMatchObject({ code: 'ERR_REQUEST_PENDING' });
  await expect(dialog.update({ sdp: version(OFFER, 3) })).rejects.toMatchObject({ code: 'ERR_REQUEST_PENDING' });
  void first;
});

test('glare: a 491 to our re-INVITE is retried after 2.1-4 s when we own the Call-ID (RFC 3261 §14.1)', async () => {
  const clock = new ManualClock();
  const { dialog, peer, port } = await callRaw(clock);
  const offer2 = version(OFFER, 2);
  const result = dialog.reinvite({ sdp: offer2 });
  const first = (await peer.next(isRequest('INVITE'))).message as SipRequest;
  await peer.send(responseText(first, 491), port);
  await settle(30);
  expect(dialog.localSdp).toBe(OFFER); // rolled back while waiting
  clock.advance(2099);
  await settle(30);
  expect(peer.count(isRequest('INVITE'))).toBe(2); // the initial one and the first re-INVITE
  clock.advance(1901);
  const retry = (await peer.next(isRequest('INVITE'))).message as SipRequest;
  expect(retry.headers.cseq!.seq).toBeGreaterThan(first.headers.cseq!.seq);
  expect(retry.content).toBe(offer2);
  await peer.send(responseText(retry, 200, { lines: [`Contact: <sip:raw@127.0.0.1:${peer.port}>`], body: version(ANSWER, 2) }), port);
  expect((await result).status).toBe(200);
  expect(dialog.localSdp).toBe(offer2);
});

test('glare seen from the other side: a re-INVITE while ours is in progress gets 491 (RFC 3261 §14.2)', async () => {
  const b = await endpoint({ ua: { sdp: { answer: () => ANSWER } } });
  const peer = await RawPeer.create();
  const caller = new RawCaller(peer, b.port);
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (c) => calls.push(c));
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  void dialog.reinvite({ sdp: version(ANSWER, 2) });
  await peer.next(isRequest('INVITE'));
  await caller.send(caller.request('INVITE', [], version(OFFER, 2)));
  expect((await caller.response('INVITE')).status).toBe(491);
  // An UPDATE with an offer while our offer is out: 491 too (RFC 3311 §5.2).
  await caller.send(caller.request('UPDATE', [], version(OFFER, 3)));
  expect((await caller.response('UPDATE')).status).toBe(491);
});

test('an offer while the peer\'s earlier offer is unanswered: 500 with Retry-After (RFC 3311 §5.2, RFC 3261 §14.2)', async () => {
  let release: (sdp: string) => void = () => {};
  const b = await endpoint({ ua: { sdp: { answer: () => new Promise<string>((r) => (release = r)) } } });
  const peer = await RawPeer.create();
  const caller = new RawCaller(peer, b.port);
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (c) => calls.push(c));
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  await caller.send(caller.request('INVITE', [], version(OFFER, 2)));
  await until(() => dialog.offerState === 'remote-offer');
  await caller.send(caller.request('UPDATE', [], version(OFFER, 3)));
  const update = await caller.response('UPDATE');
  expect(update.status).toBe(500);
  expect(Number(update.headers['retry-after'])).toBeLessThanOrEqual(10);
  const reinviteSeq = caller.cseq;
  await caller.send(caller.request('INVITE', [], version(OFFER, 4)));
  const second = await caller.response('INVITE', 500);
  expect(second.headers['retry-after']).toBeDefined();
  caller.inviteSeq = reinviteSeq - 1;
  release(version(ANSWER, 2));
  const ok = await caller.response('INVITE', 200);
  expect(ok.content).toBe(version(ANSWER, 2));
  expect(dialog.remoteSdp).toBe(version(OFFER, 2));
});

test('a re-INVITE CANCELled by the peer gets 487 and changes nothing', async () => {
  let release: (sdp: string) => void = () => {};
  const b = await endpoint({ ua: { sdp: { answer: () => new Promise<string>((r) => (release = r)) } } });
  const peer = await RawPeer.create();
  const caller = new RawCaller(peer, b.port);
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (c) => calls.push(c));
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  await caller.send(caller.request('INVITE', [], version(OFFER, 2)));
  await until(() => dialog.offerState === 'remote-offer');
  const cancel = caller.request('CANCEL').replace(/^To: .*$/m, caller.to);
  await caller.send(cancel);
  expect((await caller.response('CANCEL')).status).toBe(200);
  expect((await caller.response('INVITE', 487)).status).toBe(487);
  release(version(ANSWER, 2));
  await settle(30);
  expect(dialog.remoteSdp).toBe(OFFER);
  expect(dialog.offerState).toBe('idle');
  expect(dialog.state).toBe('confirmed');
});

test('481 to a request within the dialog ends it (RFC 3261 §12.2.1.2)', async () => {
  const { dialog, peer, port } = await callRaw();
  const ended: string[] = [];
  dialog.on('terminated', (r) => ended.push(`${r.cause}:${r.status}`));
  const info = dialog.info('x', 'text/plain');
  const rq = (await peer.next(isRequest('INFO'))).message as SipRequest;
  await peer.send(responseText(rq, 481), port);
  expect((await info).status).toBe(481);
  expect(ended).toEqual(['request-failed:481']);
  expect(dialog.state).toBe('terminated');
  await expect(dialog.info('y', 'text/plain')).rejects.toMatchObject({ code: 'ERR_TERMINATED' });
});

test('the 2xx to our re-INVITE refreshes the remote target: the BYE goes to its Contact (RFC 3261 §12.2.1.2)', async () => {
  const { dialog, peer, port } = await callRaw();
  const pending = dialog.reinvite({ sdp: version(OFFER, 2) });
  const rq = (await peer.next(isRequest('INVITE'))).message as SipRequest;
  expect(rq.uri).toBe(`sip:raw@127.0.0.1:${peer.port}`);
  await peer.send(responseText(rq, 200, { lines: [`Contact: <sip:moved@127.0.0.1:${peer.port}>`], body: version(ANSWER, 2) }), port);
  expect((await pending).status).toBe(200);
  expect(dialog.remoteTarget).toBe(`sip:moved@127.0.0.1:${peer.port}`);
  const ack = (await peer.next((m) => isRequest('ACK')(m) && m.headers.cseq?.seq === rq.headers.cseq?.seq)).message as SipRequest;
  expect(ack.uri).toBe(`sip:moved@127.0.0.1:${peer.port}`);
  void dialog.bye();
  const bye = (await peer.next(isRequest('BYE'))).message as SipRequest;
  expect(bye.uri).toBe(`sip:moved@127.0.0.1:${peer.port}`);
});

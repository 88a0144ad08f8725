// The UAC side against a raw UDP callee: route sets, strict routing, forks and early dialogs,
// ACK for every 2xx, PRACK, CANCEL through an AbortSignal, 422 retries, offerless INVITEs.
import type { SipRequest } from '@sipts/core';
import type { Dialog } from '@sipts/dialog';
import { ANSWER, OFFER, RawPeer, closeAll, endpoint, isRequest, responseText, settle, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

async function setup(ua = {}): Promise<{ a: Awaited<ReturnType<typeof endpoint>>; peer: RawPeer; target: string }> {
  const a = await endpoint({ ua });
  const peer = await RawPeer.create();
  return { a, peer, target: `sip:callee@127.0.0.1:${peer.port}` };
}

async function nextInvite(peer: RawPeer): Promise<SipRequest> {
  return (await peer.next(isRequest('INVITE'))).message as SipRequest;
}

function contact(peer: RawPeer, user = 'callee'): string {
  return `Contact: <sip:${user}@127.0.0.1:${peer.port}>`;
}

test('the UAC route set is the 2xx Record-Route reversed; ACK and BYE follow it (RFC 3261 §12.1.2, §13.2.2.4)', async () => {
  const { a, peer, target } = await setup();
  const call = a.ua.invite(target, { sdp: OFFER });
  const invite = await nextInvite(peer);
  expect(invite.headers.supported).toBe('100rel, timer');
  expect(invite.headers['session-expires']).toBe('1800');
  // The proxy nearest the callee is first in Record-Route; we are nearest to the other one.
  const rr = `Record-Route: <sip:far.invalid;lr>, <sip:127.0.0.1:${peer.port};lr>`;
  await peer.send(responseText(invite, 200, { toTag: 'callee1', lines: [contact(peer), rr], body: ANSWER }), a.port);
  const dialog = await call;
  expect(dialog.routeSet).toEqual([`<sip:127.0.0.1:${peer.port};lr>`, '<sip:far.invalid;lr>']);
  expect(dialog.remoteSdp).toBe(ANSWER);
  const ack = (await peer.next(isRequest('ACK'))).message as SipRequest;
  expect(ack.headers.cseq).toEqual({ seq: invite.headers.cseq!.seq, method: 'ACK' });
  expect(ack.uri).toBe(`sip:callee@127.0.0.1:${peer.port}`);
  expect(ack.headers.route?.map((r) => r.uri.host)).toEqual(['127.0.0.1', 'far.invalid']);
  expect(ack.headers.to?.params.tag).toBe('callee1');
  void dialog.bye();
  const bye = (await peer.next(isRequest('BYE'))).message as SipRequest;
  expect(bye.headers.cseq?.seq).toBe(invite.headers.cseq!.seq + 1);
  expect(bye.headers.route?.map((r) => r.uri.host)).toEqual(['127.0.0.1', 'far.invalid']);
});

test('a strict router first in the route set: Request-URI is that router, the remote target goes last in Route (RFC 3261 §12.2.1.1)', async () => {
  const { a, peer, target } = await setup();
  const call = a.ua.invite(target, { sdp: OFFER });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 200, { toTag: 't', lines: [contact(peer, 'target'), `Record-Route: <sip:127.0.0.1:${peer.port}>`], body: ANSWER }), a.port);
  const dialog = await call;
  void dialog.bye();
  const bye = (await peer.next(isRequest('BYE'))).message as SipRequest;
  const uri = typeof bye.uri === 'string' ? bye.uri : `sip:${bye.uri.host}:${bye.uri.port}`;
  expect(uri).toBe(`sip:127.0.0.1:${peer.port}`);
  const route = bye.headers.route ?? [];
  expect(route).toHaveLength(1);
  expect(route[0]?.uri.user).toBe('target');
});

test('every 2xx is ACKed, retransmissions included (RFC 3261 §13.2.2.4)', async () => {
  const { a, peer, target } = await setup();
  const call = a.ua.invite(target, { sdp: OFFER });
  const invite = await nextInvite(peer);
  const ok = responseText(invite, 200, { toTag: 'x', lines: [contact(peer)], body: ANSWER });
  await peer.send(ok, a.port);
  await call;
  await peer.next(isRequest('ACK'));
  await peer.send(ok, a.port);
  await peer.send(ok, a.port);
  await until(() => peer.count(isRequest('ACK')) === 3);
  await settle();
  expect(peer.count(isRequest('ACK'))).toBe(3);
});

test('a forked INVITE: one early dialog per To tag; the first 2xx wins, a later 2xx of another fork is ACKed then BYEd', async () => {
  const { a, peer, target } = await setup();
  const progress: Array<[number, string | undefined]> = [];
  const call = a.ua.invite(target, { sdp: OFFER, onProgress: (rs, d) => progress.push([rs.status, d?.remoteTag]) });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 100), a.port);
  await peer.send(responseText(invite, 180, { toTag: 'fork1', lines: [contact(peer, 'one')] }), a.port);
  await peer.send(responseText(invite, 180, { toTag: 'fork2', lines: [contact(peer, 'two')] }), a.port);
  await until(() => progress.length === 3);
  expect(progress).toEqual([[100, undefined], [180, 'fork1'], [180, 'fork2']]);
  expect(a.ua.size).toBe(2);
  const early = [...a.ua.dialogs()];
  expect(early.map((d) => d.state)).toEqual(['early', 'early']);
  const ends: string[] = [];
  early[1]!.on('terminated', (r) => ends.push(r.cause));
  await peer.send(responseText(invite, 200, { toTag: 'fork1', lines: [contact(peer, 'one')], body: ANSWER }), a.port);
  const dialog = await call;
  expect(dialog).toBe(early[0]);
  expect(dialog.state).toBe('confirmed');
  expect(ends).toEqual(['fork-discarded']);
  expect(a.ua.size).toBe(1);
  // The other fork answers too: ACK, then BYE to it (RFC 3261 §13.2.2.4).
  await peer.send(responseText(invite, 200, { toTag: 'fork2', lines: [contact(peer, 'two')], body: ANSWER }), a.port);
  const bye = (await peer.next(isRequest('BYE'))).message as SipRequest;
  expect(bye.headers.to?.params.tag).toBe('fork2');
  expect(bye.uri).toBe(`sip:two@127.0.0.1:${peer.port}`);
  const acks = peer.all.filter((e) => isRequest('ACK')(e.message)).map((e) => (e.message as SipRequest).headers.to?.params.tag);
  expect(acks).toEqual(['fork1', 'fork2']);
  expect(a.ua.size).toBe(1);
});

test('onFork keeps an extra 2xx as a dialog of its own; maxEarlyDialogs bounds early dialogs per INVITE', async () => {
  const { a, peer, target } = await setup({ maxEarlyDialogs: 2 });
  const kept: Dialog[] = [];
  const call = a.ua.invite(target, { sdp: OFFER, onFork: (d) => (kept.push(d), true) });
  const invite = await nextInvite(peer);
  for (const t of ['f1', 'f2', 'f3']) await peer.send(responseText(invite, 183, { toTag: t, lines: [contact(peer, t)] }), a.port);
  await settle(50);
  expect(a.ua.size).toBe(2);
  await peer.send(responseText(invite, 200, { toTag: 'f1', lines: [contact(peer, 'f1')], body: ANSWER }), a.port);
  await call;
  await peer.send(responseText(invite, 200, { toTag: 'f3', lines: [contact(peer, 'f3')], body: ANSWER }), a.port);
  await until(() => kept.length === 1);
  expect(kept[0]?.remoteTag).toBe('f3');
  expect(kept[0]?.state).toBe('confirmed');
  expect(a.ua.size).toBe(2);
  await settle(50);
  expect(peer.count(isRequest('BYE'))).toBe(0);
});

test('reliable provisionals are PRACKed once each, in RSeq order; repeats and gaps are not (RFC 3262 §4)', async () => {
  const { a, peer, target } = await setup();
  const seen: number[] = [];
  const call = a.ua.invite(target, { sdp: OFFER, onProgress: (rs) => seen.push(Number(rs.headers.rseq)) });
  const invite = await nextInvite(peer);
  const seq = invite.headers.cseq!.seq;
  const ringing = responseText(invite, 180, { toTag: 'r', lines: [contact(peer), 'Require: 100rel', 'RSeq: 7'] });
  await peer.send(ringing, a.port);
  const prack = (await peer.next(isRequest('PRACK'))).message as SipRequest;
  expect(prack.headers.rack).toBe(`7 ${seq} INVITE`);
  expect(prack.headers.cseq?.seq).toBe(seq + 1);
  expect(prack.uri).toBe(`sip:callee@127.0.0.1:${peer.port}`);
  await peer.send(responseText(prack, 200), a.port);
  await peer.send(ringing, a.port); // a retransmission
  await peer.send(responseText(invite, 183, { toTag: 'r', lines: [contact(peer), 'Require: 100rel', 'RSeq: 9'] }), a.port); // a gap
  await peer.send(responseText(invite, 183, { toTag: 'r', lines: [contact(peer), 'Require: 100rel', 'RSeq: 8'], body: ANSWER }), a.port);
  await until(() => peer.count(isRequest('PRACK')) === 2);
  await settle(50);
  const pracks = peer.all.filter((e) => isRequest('PRACK')(e.message)).map((e) => (e.message as SipRequest).headers.rack);
  expect(pracks).toEqual([`7 ${seq} INVITE`, `8 ${seq} INVITE`]);
  expect(seen).toEqual([7, 8]);
  // The answer came in the reliable 183: offer/answer is done before the 2xx (RFC 3262 §5).
  const early = [...a.ua.dialogs()][0]!;
  expect(early.remoteSdp).toBe(ANSWER);
  await peer.send(responseText(invite, 200, { toTag: 'r', lines: [contact(peer)], body: ANSWER }), a.port);
  await call;
});

test('an offerless INVITE: the offer in the 2xx is answered by the answer hook, in the ACK (RFC 3261 §13.2.1)', async () => {
  const { a, peer, target } = await setup();
  const offers: string[] = [];
  const call = a.ua.invite(target, { sdpHooks: { answer: (_d, offer) => (offers.push(offer), ANSWER) } });
  const invite = await nextInvite(peer);
  expect(invite.content ?? '').toBe('');
  await peer.send(responseText(invite, 200, { toTag: 'o', lines: [contact(peer)], body: OFFER }), a.port);
  const dialog = await call;
  const ack = (await peer.next(isRequest('ACK'))).message as SipRequest;
  expect(ack.content).toBe(ANSWER);
  expect(ack.headers['content-type']).toBe('application/sdp');
  expect(offers).toEqual([OFFER]);
  expect(dialog.localSdp).toBe(ANSWER);
  expect(dialog.remoteSdp).toBe(OFFER);
});

test('a final non-2xx rejects with ERR_REJECTED and the response; early dialogs end', async () => {
  const { a, peer, target } = await setup();
  const call = a.ua.invite(target, { sdp: OFFER });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 180, { toTag: 'b', lines: [contact(peer)] }), a.port);
  await until(() => a.ua.size === 1);
  await peer.send(responseText(invite, 486, { toTag: 'b' }), a.port);
  await expect(call).rejects.toMatchObject({ code: 'ERR_REJECTED', response: { status: 486 } });
  expect(a.ua.size).toBe(0);
});

test('AbortSignal: CANCEL after the provisional; the 487 rejects with ERR_ABORTED (RFC 3261 §9.1)', async () => {
  const { a, peer, target } = await setup();
  const controller = new AbortController();
  const call = a.ua.invite(target, { sdp: OFFER, signal: controller.signal });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 180, { toTag: 'c', lines: [contact(peer)] }), a.port);
  await until(() => a.ua.size === 1);
  controller.abort();
  const cancel = (await peer.next(isRequest('CANCEL'))).message as SipRequest;
  expect(cancel.headers.via?.[0]?.params.branch).toBe(invite.headers.via?.[0]?.params.branch);
  await peer.send(responseText(cancel, 200), a.port);
  await peer.send(responseText(invite, 487, { toTag: 'c' }), a.port);
  await expect(call).rejects.toMatchObject({ code: 'ERR_ABORTED', response: { status: 487 } });
  expect(a.ua.size).toBe(0);
});

test('a 2xx that crosses the CANCEL is ACKed and the call ended with BYE (RFC 3261 §9.1, §15)', async () => {
  const { a, peer, target } = await setup();
  const controller = new AbortController();
  const call = a.ua.invite(target, { sdp: OFFER, signal: controller.signal });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 180, { toTag: 'x', lines: [contact(peer)] }), a.port);
  await until(() => a.ua.size === 1);
  controller.abort();
  await peer.next(isRequest('CANCEL'));
  await peer.send(responseText(invite, 200, { toTag: 'x', lines: [contact(peer)], body: ANSWER }), a.port);
  await expect(call).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  await peer.next(isRequest('ACK'));
  const bye = (await peer.next(isRequest('BYE'))).message as SipRequest;
  expect(bye.headers.to?.params.tag).toBe('x');
});

test('422: the INVITE is sent again with Session-Expires and Min-SE at the Min-SE asked for, a new CSeq, same Call-ID and From tag (RFC 4028 §7.4)', async () => {
  const { a, peer, target } = await setup({ sessionTimer: { expires: 90 } });
  const call = a.ua.invite(target, { sdp: OFFER });
  const first = await nextInvite(peer);
  expect(first.headers['session-expires']).toBe('90');
  expect(first.headers['min-se']).toBe('90');
  await peer.send(responseText(first, 422, { toTag: 'z', lines: ['Min-SE: 300'] }), a.port);
  const second = await nextInvite(peer);
  expect(second.headers['session-expires']).toBe('300');
  expect(second.headers['min-se']).toBe('300');
  expect(second.headers.cseq?.seq).toBe(first.headers.cseq!.seq + 1);
  expect(second.headers['call-id']).toBe(first.headers['call-id']);
  expect(second.headers.from?.params.tag).toBe(first.headers.from?.params.tag);
  expect(second.headers.to?.params.tag).toBeUndefined();
  await peer.send(responseText(second, 200, { toTag: 'z', lines: [contact(peer), 'Session-Expires: 300;refresher=uac', 'Require: timer'], body: ANSWER }), a.port);
  const dialog = await call;
  expect(dialog.sessionTimer).toEqual({ interval: 300, refresher: 'local' });
});

test('a 2xx that leaves the session timer to the UAS: refresher=uas is the peer', async () => {
  const { a, peer, target } = await setup();
  const call = a.ua.invite(target, { sdp: OFFER });
  const invite = await nextInvite(peer);
  await peer.send(responseText(invite, 200, { toTag: 's', lines: [contact(peer), 'Session-Expires: 1200;refresher=uas', 'Require: timer'], body: ANSWER }), a.port);
  const dialog = await call;
  expect(dialog.sessionTimer).toEqual({ interval: 1200, refresher: 'remote' });
  expect(dialog.peerTimer).toBe(true);
});

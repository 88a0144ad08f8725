// The UAS side against a raw UDP caller: what goes on the wire for INVITE, CANCEL, BYE, PRACK,
// in-dialog requests, unknown dialogs and out-of-order CSeqs (real sockets, real time: no SIP
// timer runs to completion here; the timer-driven behaviour is in reliability.test.ts).
import type { SipRequest } from '@sipts/core';
import type { IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, RawCaller, RawPeer, closeAll, endpoint, isRequest, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

async function setup(ua = {}): Promise<{ caller: RawCaller; calls: IncomingCall[]; b: Awaited<ReturnType<typeof endpoint>> }> {
  const b = await endpoint({ ua });
  const peer = await RawPeer.create();
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (call) => calls.push(call));
  return { caller: new RawCaller(peer, b.port), calls, b };
}

test('INVITE with Record-Route: the UAS route set keeps their order, the BYE follows it to the first hop (RFC 3261 §12.1.1)', async () => {
  const { caller, calls } = await setup();
  const rr = `Record-Route: <sip:127.0.0.1:${caller.peer.port};lr>, <sip:far.invalid;lr>`;
  await caller.send(caller.request('INVITE', [rr], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  expect(call.offer).toBe(OFFER);
  const accepted = call.accept({ sdp: ANSWER });
  const ok = await caller.response('INVITE', 200);
  // §12.1.1: the 2xx copies Record-Route and carries our Contact and To tag.
  expect(ok.headers['record-route']?.map((r) => r.uri.host)).toEqual(['127.0.0.1', 'far.invalid']);
  expect(ok.headers.contact).toHaveLength(1);
  expect(ok.content).toBe(ANSWER);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  expect(dialog.routeSet).toEqual([`<sip:127.0.0.1:${caller.peer.port};lr>`, '<sip:far.invalid;lr>']);
  expect(dialog.remoteTarget).toBe(`sip:caller@127.0.0.1:${caller.peer.port}`);
  expect(dialog.id).toBe(`${caller.callId} ${ok.headers.to?.params.tag} ${caller.fromTag}`);
  void dialog.bye();
  const bye = (await caller.peer.next(isRequest('BYE'))).message as SipRequest;
  expect(bye.uri).toBe(`sip:caller@127.0.0.1:${caller.peer.port}`);
  expect(bye.headers.route?.map((r) => r.uri.host)).toEqual(['127.0.0.1', 'far.invalid']);
  expect(bye.headers.cseq?.seq).toBe(dialog.localSeq);
});

test('a request for no dialog gets 481; a lower CSeq than the last one gets 500 (RFC 3261 §12.2.2)', async () => {
  const { caller, calls } = await setup();
  // Unknown dialog: tags nobody has.
  caller.toTag = 'nosuchtag';
  await caller.send(caller.request('BYE'));
  expect((await caller.response('BYE')).status).toBe(481);
  caller.toTag = '';
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  await accepted;
  const lower = caller.cseq - 5;
  await caller.send(caller.request('INFO', [], '', lower));
  const rs = await caller.response('INFO');
  expect(rs.status).toBe(500);
  // A higher one is fine (INFO without a listener: 200, RFC 6086 legacy INFO).
  await caller.send(caller.request('INFO'));
  expect((await caller.response('INFO')).status).toBe(200);
});

test('a CANCEL after the 2xx gets 200 and changes nothing (RFC 3261 §9.2)', async () => {
  const { caller, calls, b } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  const signal = call.signal;
  let cancelled = 0;
  call.on('cancel', () => cancelled++);
  void call.progress(180);
  await caller.response('INVITE', 180);
  const accept = call.accept({ sdp: ANSWER }).catch((e: unknown) => e);
  void accept;
  await caller.send(caller.request('CANCEL'));
  // accept() already answered 200 (no reliable 1xx pending), so this CANCEL is too late: 200, no 487.
  expect((await caller.response('CANCEL')).status).toBe(200);
  expect(cancelled).toBe(0);
  expect(signal.aborted).toBe(false);
  void b;
});

test('CANCEL before the answer: 487, progress/accept reject ERR_CANCELLED, the early dialog ends', async () => {
  const { caller, calls, b } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  let cancelled = 0;
  call.on('cancel', () => cancelled++);
  void call.progress(180);
  await caller.response('INVITE', 180);
  expect(b.ua.size).toBe(1); // the early dialog
  const ended: string[] = [];
  call.dialog?.on('terminated', (r) => ended.push(r.cause));
  await caller.send(caller.request('CANCEL'));
  expect((await caller.response('CANCEL')).status).toBe(200);
  expect((await caller.response('INVITE')).status).toBe(487);
  expect(cancelled).toBe(1);
  expect(call.signal.aborted).toBe(true);
  expect(call.state).toBe('cancelled');
  await expect(call.accept({ sdp: ANSWER })).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  expect(ended).toEqual(['cancelled']);
  expect(b.ua.size).toBe(0);
  expect(b.ua.stats().incoming).toBe(0);
});

test('BYE on the early dialog: 200 to the BYE and 487 to the INVITE (RFC 3261 §15.1.2)', async () => {
  const { caller, calls, b } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  void calls[0]!.progress(183, { sdp: ANSWER });
  await caller.response('INVITE', 183);
  await caller.send(caller.request('BYE'));
  expect((await caller.response('BYE')).status).toBe(200);
  expect((await caller.response('INVITE')).status).toBe(487);
  expect(b.ua.size).toBe(0);
});

test('Require: 100rel with 100rel disabled: 420 with Unsupported; an unknown option too (RFC 3261 §8.2.2.3)', async () => {
  const { caller, calls } = await setup({ rel100: 'disabled' });
  await caller.send(caller.request('INVITE', ['Require: 100rel'], OFFER));
  const rs = await caller.response('INVITE');
  expect(rs.status).toBe(420);
  expect(rs.headers.unsupported).toBe('100rel');
  await caller.send(caller.request('INVITE', ['Require: foo, timer'], OFFER));
  const rs2 = await caller.response('INVITE');
  expect(rs2.status).toBe(420);
  expect(rs2.headers.unsupported).toBe('foo');
  expect(calls).toHaveLength(0);
});

test("rel100 'required' refuses a caller without 100rel: 421 with Require: 100rel (RFC 3262 §3)", async () => {
  const { caller } = await setup({ rel100: 'required' });
  await caller.send(caller.request('INVITE', [], OFFER));
  const rs = await caller.response('INVITE');
  expect(rs.status).toBe(421);
  expect(rs.headers.require).toBe('100rel');
});

test('a reliable 180: Require: 100rel and RSeq; a PRACK with a wrong RAck gets 481, the right one 200 and resolves progress() (RFC 3262 §3)', async () => {
  const { caller, calls } = await setup();
  await caller.send(caller.request('INVITE', ['Require: 100rel'], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  const pracked = call.progress(180);
  const ringing = await caller.response('INVITE', 180);
  expect(ringing.headers.require).toBe('100rel');
  const rseq = Number(ringing.headers.rseq);
  expect(rseq).toBeGreaterThan(0);
  const inviteSeq = ringing.headers.cseq!.seq;
  await caller.send(caller.request('PRACK', [`RAck: ${rseq + 1} ${inviteSeq} INVITE`]));
  expect((await caller.response('PRACK')).status).toBe(481);
  await caller.send(caller.request('PRACK', [`RAck: ${rseq} ${inviteSeq} INVITE`]));
  expect((await caller.response('PRACK')).status).toBe(200);
  const prack = await pracked;
  expect(prack?.method).toBe('PRACK');
  // A second reliable provisional gets the next RSeq.
  void call.progress(183, { reliable: true });
  const next = await caller.response('INVITE', 183);
  expect(Number(next.headers.rseq)).toBe(rseq + 1);
});

test('a reliable 183 with the answer: offer/answer completes at once; the 2xx waits for the PRACK (RFC 3262 §3)', async () => {
  const { caller, calls } = await setup({ rel100: 'preferred' });
  await caller.send(caller.request('INVITE', ['Supported: 100rel'], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  void call.progress(183, { sdp: ANSWER });
  const early = await caller.response('INVITE', 183);
  expect(early.headers.rseq).toBeDefined();
  expect(call.dialog?.remoteSdp).toBe(OFFER);
  expect(call.dialog?.localSdp).toBe(ANSWER);
  const accepted = call.accept({ sdp: ANSWER });
  // No 200 before the PRACK.
  await new Promise((r) => setTimeout(r, 50));
  expect(caller.peer.count((m) => 'status' in m && m.status === 200)).toBe(0);
  await caller.send(caller.request('PRACK', [`RAck: ${early.headers.rseq} ${early.headers.cseq!.seq} INVITE`]));
  expect((await caller.response('PRACK')).status).toBe(200);
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  expect((await accepted).state).toBe('confirmed');
});

test('in-dialog INFO, MESSAGE and NOTIFY go to the dialog\'s request listener, which answers them', async () => {
  const { caller, calls } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  const seen: string[] = [];
  dialog.on('request', (rq, _remote, reply) => {
    seen.push(`${rq.method}:${rq.content ?? ''}`);
    reply.reply({ status: rq.method === 'NOTIFY' ? 202 : 200, reason: 'OK', headers: { ...rq.headers, via: rq.headers.via } } as never);
  });
  await caller.send(caller.request('INFO', ['Info-Package: dtmf', 'Content-Type: application/dtmf-relay'], ''));
  expect((await caller.response('INFO')).status).toBe(200);
  await caller.send(caller.request('MESSAGE'));
  expect((await caller.response('MESSAGE')).status).toBe(200);
  await caller.send(caller.request('NOTIFY', ['Event: refer']));
  expect((await caller.response('NOTIFY')).status).toBe(202);
  expect(seen).toEqual(['INFO:', 'MESSAGE:', 'NOTIFY:']);
});

test('a merged INVITE (same Call-ID, From tag and CSeq by another branch) gets 482 (RFC 3261 §8.2.2.2); maxDialogs gives 503', async () => {
  const { caller, calls } = await setup({ maxDialogs: 1 });
  const text = caller.request('INVITE', [], OFFER);
  await caller.send(text);
  await until(() => calls.length === 1);
  // Same request, new branch: what a fork that came back looks like.
  await caller.send(text.replace(/branch=z9hG4bK[0-9a-f]+/, 'branch=z9hG4bKother'));
  const merged = await caller.response('INVITE', 482);
  expect(merged.status).toBe(482);
  const other = new RawCaller(caller.peer, caller.uaPort);
  await other.send(other.request('INVITE', [], OFFER));
  const busy = await other.response('INVITE', 503);
  expect(busy.headers['retry-after']).toBeDefined();
});

test('target refresh: a re-INVITE and an UPDATE with a new Contact move the remote target (RFC 3261 §12.2.2, RFC 3311 §5.2)', async () => {
  const { caller, calls } = await setup({ sdp: { answer: () => ANSWER } });
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  await caller.send(caller.request('INVITE', [], OFFER).replace(/Contact: <[^>]+>/, `Contact: <sip:moved@127.0.0.1:${caller.peer.port}>`));
  expect((await caller.response('INVITE', 200)).status).toBe(200);
  await caller.send(caller.request('ACK'));
  expect(dialog.remoteTarget).toBe(`sip:moved@127.0.0.1:${caller.peer.port}`);
  await caller.send(caller.request('UPDATE').replace(/Contact: <[^>]+>/, `Contact: <sip:again@127.0.0.1:${caller.peer.port}>`));
  expect((await caller.response('UPDATE')).status).toBe(200);
  expect(dialog.remoteTarget).toBe(`sip:again@127.0.0.1:${caller.peer.port}`);
});

test('OPTIONS outside a dialog: 200 with Allow, Supported and Accept (RFC 3261 §11.2); unknown methods 501', async () => {
  const { caller } = await setup();
  await caller.send(caller.request('OPTIONS'));
  const rs = await caller.response('OPTIONS');
  expect(rs.status).toBe(200);
  expect(String(rs.headers.allow)).toContain('PRACK');
  expect(rs.headers.supported).toBe('100rel, timer');
  expect(rs.headers.accept).toBe('application/sdp');
  await caller.send(caller.request('FOO'));
  expect((await caller.response('FOO')).status).toBe(501);
});

test('one reliable provisional at a time: the second waits for the PRACK of the first (RFC 3262 §3)', async () => {
  const { caller, calls } = await setup();
  await caller.send(caller.request('INVITE', ['Require: 100rel'], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  const first = call.progress(180);
  const second = call.progress(183);
  const ringing = await caller.response('INVITE', 180);
  await new Promise((r) => setTimeout(r, 50));
  expect(caller.peer.count((m) => 'status' in m && m.status === 183)).toBe(0);
  await caller.send(caller.request('PRACK', [`RAck: ${ringing.headers.rseq} ${ringing.headers.cseq!.seq} INVITE`]));
  expect((await first)?.method).toBe('PRACK');
  const progress = await caller.response('INVITE', 183);
  expect(Number(progress.headers.rseq)).toBe(Number(ringing.headers.rseq) + 1);
  await caller.send(caller.request('PRACK', [`RAck: ${progress.headers.rseq} ${progress.headers.cseq!.seq} INVITE`]));
  expect((await second)?.method).toBe('PRACK');
});

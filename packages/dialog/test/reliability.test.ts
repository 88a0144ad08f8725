// What the TU owes on unreliable paths, on fake time (a ManualClock shared by the stack and the
// UA) with real sockets: the UAS 2xx retransmitted T1, 2T1, ... up to T2 until the ACK and a BYE
// after 64*T1 (RFC 3261 §13.3.1.4); reliable provisionals retransmitted until PRACK and 504 after
// 64*T1 (RFC 3262 §3); the callee's BYE waiting for the ACK (§15); the ring timeout.
import { ManualClock } from '@sipts/transaction';
import type { IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, RawCaller, RawPeer, closeAll, endpoint, isRequest, isResponse, settle, until } from './helpers.js';

jest.setTimeout(20000);
afterEach(closeAll);

async function setup(ua = {}): Promise<{ clock: ManualClock; caller: RawCaller; calls: IncomingCall[] }> {
  const clock = new ManualClock();
  const b = await endpoint({ clock, ua });
  const peer = await RawPeer.create();
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (call) => calls.push(call));
  return { clock, caller: new RawCaller(peer, b.port), calls };
}

/** Advances fake time by `ms`, then lets the sockets deliver. */
async function advance(clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await settle(20);
}

const ok200 = isResponse(200, 'INVITE');

test('the 2xx is resent at T1, 2T1, 4T1, then every T2 until the ACK (RFC 3261 §13.3.1.4)', async () => {
  const { clock, caller, calls } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  const sent = (): number => caller.peer.count(ok200);
  expect(sent()).toBe(1);
  await advance(clock, 499);
  expect(sent()).toBe(1);
  await advance(clock, 1); // 500: T1
  expect(sent()).toBe(2);
  await advance(clock, 1000); // 1500: +2T1
  expect(sent()).toBe(3);
  await advance(clock, 2000); // 3500: +4T1
  expect(sent()).toBe(4);
  await advance(clock, 4000); // 7500: +T2 (8T1 capped at 4 s)
  expect(sent()).toBe(5);
  await advance(clock, 4000); // 11500: +T2
  expect(sent()).toBe(6);
  await caller.send(caller.request('ACK'));
  const dialog = await accepted;
  expect(dialog.state).toBe('confirmed');
  await advance(clock, 30000);
  expect(sent()).toBe(6);
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
});

test('no ACK within 64*T1: BYE, the dialog ends (ack-timeout) and accept() rejects ERR_NO_ACK', async () => {
  const { clock, caller, calls } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  const accepted = call.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  const dialog = call.dialog!;
  const ended: string[] = [];
  dialog.on('terminated', (r) => ended.push(r.cause));
  await advance(clock, 31999);
  // 0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s
  expect(caller.peer.count(ok200)).toBe(11);
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
  await advance(clock, 1);
  const bye = await caller.peer.next(isRequest('BYE'));
  expect(bye.message.headers.to?.params.tag).toBe(caller.fromTag);
  await expect(accepted).rejects.toMatchObject({ code: 'ERR_NO_ACK' });
  expect(ended).toEqual(['ack-timeout']);
});

test('a reliable provisional is resent at T1 doubling until its PRACK (RFC 3262 §3)', async () => {
  const { clock, caller, calls } = await setup();
  await caller.send(caller.request('INVITE', ['Require: 100rel'], OFFER));
  await until(() => calls.length === 1);
  const pracked = calls[0]!.progress(180);
  const first = await caller.response('INVITE', 180);
  const ringing = isResponse(180, 'INVITE');
  await advance(clock, 500);
  expect(caller.peer.count(ringing)).toBe(2);
  await advance(clock, 1000);
  expect(caller.peer.count(ringing)).toBe(3);
  await advance(clock, 2000);
  expect(caller.peer.count(ringing)).toBe(4);
  await caller.send(caller.request('PRACK', [`RAck: ${first.headers.rseq} ${first.headers.cseq!.seq} INVITE`]));
  expect((await caller.response('PRACK')).status).toBe(200);
  await pracked;
  await advance(clock, 20000);
  expect(caller.peer.count(ringing)).toBe(4);
});

test('no PRACK within 64*T1: the INVITE is answered 504, progress() rejects ERR_PRACK_TIMEOUT (RFC 3262 §3)', async () => {
  const { clock, caller, calls } = await setup();
  await caller.send(caller.request('INVITE', ['Require: 100rel'], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  const pracked = call.progress(180);
  await caller.response('INVITE', 180);
  const ended: string[] = [];
  call.dialog!.on('terminated', (r) => ended.push(r.cause));
  await advance(clock, 31999);
  // 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s
  expect(caller.peer.count(isResponse(180, 'INVITE'))).toBe(7);
  await advance(clock, 1);
  expect((await caller.response('INVITE', 504)).status).toBe(504);
  await expect(pracked).rejects.toMatchObject({ code: 'ERR_PRACK_TIMEOUT' });
  expect(ended).toEqual(['prack-timeout']);
  expect(call.state).toBe('rejected');
});

test('the callee hangs up before the ACK: the BYE waits for the ACK (RFC 3261 §15)', async () => {
  const { caller, calls } = await setup();
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  const call = calls[0]!;
  void call.accept({ sdp: ANSWER });
  await caller.response('INVITE', 200);
  const bye = call.dialog!.bye();
  await settle(50);
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
  await caller.send(caller.request('ACK'));
  const request = await caller.peer.next(isRequest('BYE'));
  await caller.send(
    `SIP/2.0 200 OK\r\n${request.text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
  );
  expect((await bye)?.status).toBe(200);
});

test('ringTimeout: an INVITE nobody answers gets 408 from the UA', async () => {
  const { clock, caller, calls } = await setup({ ringTimeout: 10000 });
  await caller.send(caller.request('INVITE', [], OFFER));
  await until(() => calls.length === 1);
  await advance(clock, 9999);
  expect(caller.peer.count(isResponse(408))).toBe(0);
  await advance(clock, 1);
  expect((await caller.response('INVITE', 408)).status).toBe(408);
  expect(calls[0]!.state).toBe('rejected');
  expect(calls[0]!.signal.aborted).toBe(true);
});

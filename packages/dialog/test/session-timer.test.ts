// RFC 4028 session timers on fake time: 422 with Min-SE, the interval and refresher in the 2xx,
// refreshes by UPDATE or re-INVITE at half the interval, the BYE when no refresh comes, a refresh
// from the peer restarting the timer, and a 422 to a refresh.
import { ManualClock } from '@sipts/transaction';
import type { SipRequest } from '@sipts/core';
import type { Dialog, IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, RawCaller, RawPeer, closeAll, endpoint, isRequest, responseText, settle, until } from './helpers.js';

jest.setTimeout(20000);
afterEach(closeAll);

async function uas(ua = {}): Promise<{ clock: ManualClock; caller: RawCaller; calls: IncomingCall[] }> {
  const clock = new ManualClock();
  const b = await endpoint({ clock, ua });
  const peer = await RawPeer.create();
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (call) => calls.push(call));
  return { clock, caller: new RawCaller(peer, b.port), calls };
}

async function answered(caller: RawCaller, calls: IncomingCall[], lines: string[]): Promise<{ dialog: Dialog; ok: Awaited<ReturnType<RawCaller['response']>> }> {
  await caller.send(caller.request('INVITE', lines, OFFER));
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  const ok = await caller.response('INVITE', 200);
  await caller.send(caller.request('ACK'));
  return { dialog: await accepted, ok };
}

async function advance(clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await settle(20);
}

test('Session-Expires below our Min-SE: 422 with Min-SE (RFC 4028 §9)', async () => {
  const { caller, calls } = await uas();
  await caller.send(caller.request('INVITE', ['Supported: timer', 'Session-Expires: 60'], OFFER));
  const rs = await caller.response('INVITE');
  expect(rs.status).toBe(422);
  expect(rs.headers['min-se']).toBe('90');
  expect(calls).toHaveLength(0);
});

test('refresher=uac: the 2xx echoes it with Require: timer; without a refresh the UAS sends BYE min(32 s, SE/3) before expiry (RFC 4028 §9, §10)', async () => {
  const { clock, caller, calls } = await uas();
  const { dialog, ok } = await answered(caller, calls, ['Supported: timer', 'Session-Expires: 1800;refresher=uac', 'Min-SE: 90']);
  expect(ok.headers['session-expires']).toBe('1800;refresher=uac');
  expect(ok.headers.require).toBe('timer');
  expect(dialog.sessionTimer).toEqual({ interval: 1800, refresher: 'remote' });
  const ended: string[] = [];
  dialog.on('terminated', (r) => ended.push(r.cause));
  await advance(clock, 1767_999);
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
  await advance(clock, 1);
  await caller.peer.next(isRequest('BYE'));
  expect(ended).toEqual(['session-expired']);
});

test('a refresh from the peer (UPDATE with Session-Expires) restarts the timer', async () => {
  const { clock, caller, calls } = await uas();
  const { dialog } = await answered(caller, calls, ['Supported: timer', 'Session-Expires: 300;refresher=uac']);
  const refreshes: number[] = [];
  dialog.on('refresh', (s) => refreshes.push(s.interval));
  await advance(clock, 150_000);
  await caller.send(caller.request('UPDATE', ['Supported: timer', 'Session-Expires: 300;refresher=uac']));
  const rs = await caller.response('UPDATE');
  expect(rs.status).toBe(200);
  expect(rs.headers['session-expires']).toBe('300;refresher=uac');
  expect(refreshes).toEqual([300]);
  // The first expiry (300 - 32 s after the INVITE) passes without a BYE...
  await advance(clock, 150_000);
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
  // ...the one counted from the refresh does not.
  await advance(clock, 118_000);
  await caller.peer.next(isRequest('BYE'));
});

test('we refresh (refresher=uas chosen by us): an UPDATE at half the interval when the peer allows UPDATE (RFC 4028 §10)', async () => {
  const { clock, caller, calls } = await uas({ sessionTimer: { refresher: 'uas', expires: 600 } });
  const { dialog, ok } = await answered(caller, calls, ['Supported: timer', 'Allow: INVITE, ACK, BYE, UPDATE']);
  expect(ok.headers['session-expires']).toBe('600;refresher=uas');
  expect(dialog.sessionTimer).toEqual({ interval: 600, refresher: 'local' });
  await advance(clock, 299_999);
  expect(caller.peer.count(isRequest('UPDATE'))).toBe(0);
  await advance(clock, 1);
  const update = (await caller.peer.next(isRequest('UPDATE'))).message as SipRequest;
  // Relative to this transaction we are the UAC, and the refresher.
  expect(update.headers['session-expires']).toBe('600;refresher=uac');
  expect(update.content ?? '').toBe('');
  await caller.send(responseText(update, 200, { lines: ['Session-Expires: 600;refresher=uac', 'Require: timer'] }));
  await settle(20);
  await advance(clock, 299_999);
  expect(caller.peer.count(isRequest('UPDATE'))).toBe(1);
  await advance(clock, 1);
  await caller.peer.next(isRequest('UPDATE'));
  expect(caller.peer.count(isRequest('BYE'))).toBe(0);
});

test('we refresh by re-INVITE, offering the current session again, when the peer does not allow UPDATE', async () => {
  const { clock, caller, calls } = await uas({ sessionTimer: { refresher: 'uas', expires: 600 } });
  await answered(caller, calls, ['Supported: timer', 'Allow: INVITE, ACK, BYE']);
  await advance(clock, 300_000);
  const reinvite = (await caller.peer.next(isRequest('INVITE'))).message as SipRequest;
  expect(reinvite.content).toBe(ANSWER);
  expect(reinvite.headers['session-expires']).toBe('600;refresher=uac');
});

test('a caller without session-timer support: the UAS refreshes (refresher=uas, no Require: timer)', async () => {
  const { caller, calls } = await uas();
  const { dialog, ok } = await answered(caller, calls, []);
  expect(ok.headers['session-expires']).toBe('1800;refresher=uas');
  expect(ok.headers.require).toBeUndefined();
  expect(dialog.sessionTimer?.refresher).toBe('local');
});

test('sessionTimer: false: no Session-Expires anywhere, Require: timer refused with 420', async () => {
  const { caller, calls } = await uas({ sessionTimer: false });
  const { ok, dialog } = await answered(caller, calls, ['Supported: timer', 'Session-Expires: 1800']);
  expect(ok.headers['session-expires']).toBeUndefined();
  expect(dialog.sessionTimer).toBeUndefined();
  const other = new RawCaller(caller.peer, caller.uaPort);
  await other.send(other.request('INVITE', ['Require: timer', 'Session-Expires: 1800'], OFFER));
  expect((await other.response('INVITE')).status).toBe(420);
});

test('a refresh answered 422 is sent again at the Min-SE asked for (RFC 4028 §10)', async () => {
  const { clock, caller, calls } = await uas({ sessionTimer: { refresher: 'uas', expires: 600 } });
  await answered(caller, calls, ['Supported: timer', 'Allow: INVITE, ACK, BYE, UPDATE']);
  await advance(clock, 300_000);
  const first = (await caller.peer.next(isRequest('UPDATE'))).message as SipRequest;
  await caller.send(responseText(first, 422, { lines: ['Min-SE: 1000'] }));
  const second = (await caller.peer.next(isRequest('UPDATE'))).message as SipRequest;
  expect(second.headers['session-expires']).toBe('1000;refresher=uac');
  expect(second.headers.cseq!.seq).toBe(first.headers.cseq!.seq + 1);
});

test('UA to UA: the caller refreshes, the callee never expires the session', async () => {
  const clock = new ManualClock();
  const b = await endpoint({ clock, ua: { sessionTimer: { expires: 120 } } });
  const a = await endpoint({ clock, ua: { sessionTimer: { expires: 120 } } });
  const accepted: Promise<Dialog>[] = [];
  b.ua.on('invite', (c) => accepted.push(c.accept({ sdp: ANSWER })));
  const caller = await a.ua.invite(b.uri(), { sdp: OFFER });
  await until(() => accepted.length === 1);
  const callee = await accepted[0]!;
  // The UAS chose refresher=uac (its default): the caller refreshes.
  expect(caller.sessionTimer).toEqual({ interval: 120, refresher: 'local' });
  expect(callee.sessionTimer).toEqual({ interval: 120, refresher: 'remote' });
  let refreshes = 0;
  let refreshed = 0;
  callee.on('refresh', () => refreshes++);
  caller.on('refresh', () => refreshed++);
  for (let i = 1; i <= 3; i++) {
    clock.advance(59_999);
    await settle(30);
    expect(refreshes).toBe(i - 1);
    clock.advance(1);
    // Each UPDATE restarts both timers once its 200 is in.
    await until(() => refreshes === i && refreshed === i, 3000, `refresh ${i}`);
  }
  expect(caller.state).toBe('confirmed');
  expect(callee.state).toBe('confirmed');
});

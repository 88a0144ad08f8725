// The pure parts: header scanners (hostile input included), the offer/answer state machine, the
// timer heap, session-timer negotiation, the SDP-hook defaults and the error brand.
import { ManualClock } from '@sipts/transaction';
import type { SipRequest, SipResponse } from '@sipts/core';
import { DialogError, hasToken, isDialogError, parseRAck, parseRSeq, parseSessionExpires } from '@sipts/dialog';
import { OfferAnswer } from '../src/offer-answer.js';
import { TimerHeap, TimerSlot } from '../src/timers.js';
import { decideAsUas, retryIntervalAfter422, sessionTimerDelay, uacState } from '../src/session-timer.js';
import { originLine, resolveAnswer } from '../src/sdp-hooks.js';
import { hasSdp, routeSetOf } from '../src/headers.js';
import { normalizeUaOptions } from '../src/options.js';
import { OFFER, version } from './helpers.js';

test('option-tag lists are matched case-insensitively as whole items', () => {
  expect(hasToken('100rel, timer', 'timer')).toBe(true);
  expect(hasToken(' Timer ,100REL', '100rel')).toBe(true);
  expect(hasToken('timers', 'timer')).toBe(false);
  expect(hasToken('xtimer, ', 'timer')).toBe(false);
  expect(hasToken(undefined, 'timer')).toBe(false);
  expect(hasToken(',,,', 'timer')).toBe(false);
});

test('RSeq, RAck, Session-Expires parse exactly what RFC 3262 §7 and RFC 4028 §4 allow', () => {
  expect(parseRSeq(' 42 ')).toBe(42);
  expect(parseRSeq('0')).toBeUndefined();
  expect(parseRSeq('4294967296')).toBeUndefined();
  expect(parseRSeq('12a')).toBeUndefined();
  expect(parseRAck('776656 1 INVITE')).toEqual({ rseq: 776656, cseq: 1, method: 'INVITE' });
  expect(parseRAck('  1   2\tINVITE ')).toEqual({ rseq: 1, cseq: 2, method: 'INVITE' });
  expect(parseRAck('1 2')).toBeUndefined();
  expect(parseRAck('1 2 INVITE extra')).toBeUndefined();
  expect(parseRAck('x'.repeat(10_000))).toBeUndefined();
  expect(parseSessionExpires('1800;refresher=UAS;foo=bar')).toEqual({ interval: 1800, refresher: 'uas' });
  expect(parseSessionExpires('90')).toEqual({ interval: 90, refresher: undefined });
  expect(parseSessionExpires('0')).toBeUndefined();
  expect(parseSessionExpires('abc;refresher=uac')).toBeUndefined();
  expect(parseSessionExpires('90;refresher=me')).toEqual({ interval: 90, refresher: undefined });
});

test('hasSdp wants application/sdp (parameters allowed) and a body', () => {
  const m = (type: unknown, content: string): SipRequest => ({ method: 'X', uri: 'sip:a@b', headers: { 'content-type': type }, content });
  expect(hasSdp(m('application/sdp', 'v=0'))).toBe(true);
  expect(hasSdp(m('Application/SDP; charset=utf-8', 'v=0'))).toBe(true);
  expect(hasSdp(m('application/sdpx', 'v=0'))).toBe(false);
  expect(hasSdp(m('application/sdp', ''))).toBe(false);
  expect(hasSdp(m(undefined, 'v=0'))).toBe(false);
});

test('route sets are written back as strings of their own, reversed for the UAC', () => {
  const rr = [
    { uri: { schema: 'sip', host: 'p1.example', params: { lr: null }, headers: {} }, params: {} },
    { uri: { schema: 'sip', host: 'p2.example', port: 5070, params: { lr: null }, headers: {} }, params: {} },
  ];
  expect(routeSetOf(rr, false)).toEqual(['<sip:p1.example;lr>', '<sip:p2.example:5070;lr>']);
  expect(routeSetOf(rr, true)).toEqual(['<sip:p2.example:5070;lr>', '<sip:p1.example;lr>']);
  expect(routeSetOf(undefined, true)).toEqual([]);
});

test('offer/answer: one offer at a time, commit on answer, rollback of the carrying transaction only', () => {
  const oa = new OfferAnswer();
  expect(oa.initial).toBe(true);
  oa.offerSent('A1', 'INVITE', 1);
  expect(oa.incomingOfferStatus()).toBe(491);
  expect(oa.canOffer()).toBe(false);
  oa.answerReceived('B1');
  expect([oa.state, oa.localSdp, oa.remoteSdp, oa.initial]).toEqual(['idle', 'A1', 'B1', false]);
  oa.offerReceived('B2', 'UPDATE', 7);
  expect(oa.incomingOfferStatus()).toBe(500);
  oa.rollback('INVITE', 7); // another transaction: no effect
  expect(oa.state).toBe('remote-offer');
  oa.rollback('UPDATE', 7);
  expect([oa.state, oa.localSdp, oa.remoteSdp]).toEqual(['idle', 'A1', 'B1']);
  oa.offerReceived('B3', 'INVITE', 8);
  oa.answerSent('A3');
  expect([oa.localSdp, oa.remoteSdp]).toEqual(['A3', 'B3']);
  oa.answerSent('ignored'); // nothing outstanding
  expect(oa.localSdp).toBe('A3');
});

test('the timer heap fires in due order, reschedules and cancels, with one clock timer', () => {
  const clock = new ManualClock();
  const heap = new TimerHeap(clock, (e) => {
    throw e;
  });
  const fired: string[] = [];
  const owner = (name: string) => ({ onTimer: (kind: number) => fired.push(`${name}${kind}@${clock.now()}`) });
  const a = new TimerSlot(owner('a'));
  const b = new TimerSlot(owner('b'));
  const c = new TimerSlot(owner('c'));
  heap.schedule(a, 1, 300);
  heap.schedule(b, 2, 100);
  heap.schedule(c, 3, 200);
  heap.schedule(a, 4, 50); // moved earlier
  heap.cancel(c);
  expect(heap.size).toBe(2);
  expect(clock.pending()).toBe(1);
  clock.advance(1000);
  expect(fired).toEqual(['a4@50', 'b2@100']);
  expect(heap.size).toBe(0);
  // An owner that throws does not stop the others.
  const errors: unknown[] = [];
  const heap2 = new TimerHeap(clock, (e) => errors.push(e));
  heap2.schedule(new TimerSlot({ onTimer: () => { throw new Error('x'); } }), 1, 10);
  heap2.schedule(new TimerSlot(owner('d')), 1, 20);
  clock.advance(100);
  expect(errors).toHaveLength(1);
  expect(fired).toContain('d1@1020');
});

test('session-timer negotiation as UAS and UAC (RFC 4028 §7, §9, §10)', () => {
  const config = normalizeUaOptions({}).sessionTimer;
  const rq = (headers: Record<string, string>): SipRequest => ({ method: 'INVITE', uri: 'sip:a@b', headers });
  expect(decideAsUas(rq({ supported: 'timer', 'session-expires': '60' }), config)).toEqual({ kind: 'reject', minSE: 90 });
  expect(decideAsUas(rq({ supported: 'timer', 'session-expires': '60', 'min-se': '120' }), config)).toEqual({ kind: 'reject', minSE: 120 });
  // Lowered to our preference, never below the request's Min-SE, never raised.
  expect(decideAsUas(rq({ supported: 'timer', 'session-expires': '7200' }), config)).toEqual({ kind: 'accept', interval: 1800, refresher: 'uac', require: true });
  expect(decideAsUas(rq({ supported: 'timer', 'session-expires': '7200', 'min-se': '3600' }), config)).toEqual({ kind: 'accept', interval: 3600, refresher: 'uac', require: true });
  expect(decideAsUas(rq({ supported: 'timer', 'session-expires': '600;refresher=uas' }), config)).toEqual({ kind: 'accept', interval: 600, refresher: 'uas', require: true });
  // A UAC that does not support timers cannot refresh, and cannot be sent 422 (above 90 s).
  expect(decideAsUas(rq({ 'session-expires': '100' }), config)).toEqual({ kind: 'accept', interval: 100, refresher: 'uas', require: false });
  expect(decideAsUas(rq({}), undefined)).toEqual({ kind: 'none' });
  const rs = (headers: Record<string, string>): SipResponse => ({ status: 200, reason: 'OK', headers });
  expect(uacState(rs({ 'session-expires': '900;refresher=uac' }), 1800)).toEqual({ interval: 900, refresher: 'local' });
  expect(uacState(rs({ 'session-expires': '900;refresher=uas' }), 1800)).toEqual({ interval: 900, refresher: 'remote' });
  expect(uacState(rs({}), 1800)).toEqual({ interval: 1800, refresher: 'local' });
  expect(uacState(rs({}), undefined)).toBeUndefined();
  expect(retryIntervalAfter422({ status: 422, reason: '', headers: { 'min-se': '300' } }, 90)).toBe(300);
  expect(retryIntervalAfter422({ status: 422, reason: '', headers: { 'min-se': '60' } }, 90)).toBeUndefined();
  expect(sessionTimerDelay({ interval: 1800, refresher: 'local' })).toBe(900_000);
  expect(sessionTimerDelay({ interval: 1800, refresher: 'remote' })).toBe(1_768_000);
  expect(sessionTimerDelay({ interval: 90, refresher: 'remote' })).toBe(60_000);
});

test('the default answer: the current session for a repeated offer (same o= line), 488 otherwise; a throwing hook is 500', async () => {
  expect(originLine(OFFER)).toBe('o=- 1 1 IN IP4 127.0.0.1');
  expect(originLine('v=0\no=x 1 2 IN IP4 h\ns=-')).toBe('o=x 1 2 IN IP4 h');
  expect(originLine('v=0')).toBe('');
  const session = { localSdp: 'LOCAL', remoteSdp: OFFER };
  const ctx = { method: 'INVITE', initial: false };
  const report: unknown[] = [];
  expect(resolveAnswer({}, session, undefined, {}, OFFER, ctx, (e) => report.push(e))).toBe('LOCAL');
  expect(resolveAnswer({}, session, undefined, {}, version(OFFER, 2), ctx, (e) => report.push(e))).toEqual({ status: 488 });
  const throwing = { answer: (): string => { throw new Error('boom'); } };
  expect(resolveAnswer({}, session, throwing, {}, OFFER, ctx, (e) => report.push(e))).toEqual({ status: 500 });
  await expect(resolveAnswer({}, session, { answer: () => Promise.reject(new Error('late')) }, {}, OFFER, ctx, (e) => report.push(e))).resolves.toEqual({ status: 500 });
  expect(resolveAnswer({}, session, { answer: () => ({ status: 606 }) }, {}, OFFER, ctx, (e) => report.push(e))).toEqual({ status: 606 });
  expect(resolveAnswer({}, session, { answer: () => ({ status: 200 }) }, {}, OFFER, ctx, (e) => report.push(e))).toEqual({ status: 488 });
  expect(report).toHaveLength(2);
});

test('DialogError: literal code, response, cause, brand across copies', () => {
  const e = new DialogError('ERR_REJECTED', 'no', { response: { status: 486, reason: 'Busy', headers: {} }, cause: 'x' });
  expect(e.code).toBe('ERR_REJECTED');
  expect(e.response?.status).toBe(486);
  expect(e.cause).toBe('x');
  expect(e).toBeInstanceOf(Error);
  const foreign = Object.assign(new Error('copy'), { [Symbol.for('@sipts/dialog.DialogError')]: true });
  expect(isDialogError(foreign)).toBe(true);
  expect(foreign instanceof DialogError).toBe(true);
  expect(isDialogError(new Error('x'))).toBe(false);
});

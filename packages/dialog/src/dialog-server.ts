// Requests arriving within a dialog (RFC 3261 §12.2.2): the CSeq check (500 when lower than the
// last one), BYE (§15.1.2), re-INVITE (§14.2, with 491 / 500 + Retry-After for glare and
// overlap), UPDATE (RFC 3311 §5.2), PRACK handed to the early dialog's INVITE (RFC 3262), and
// everything else (INFO, MESSAGE, NOTIFY, REFER, OPTIONS...) passed to the application.
import { randomInt } from 'node:crypto';
import type { ServerReply } from '@sipts/core';
import { makeResponse } from '@sipts/message';
import type { Remote, SipHeaders, SipRequest, SipResponse } from '@sipts/message';
import { contactUri, sdpOf } from './headers.js';
import type { OfferAnswer } from './offer-answer.js';
import type { NormalizedSessionTimer } from './options.js';
import type { CancelTarget, EarlyServer, PendingInvite } from './roles.js';
import type { AnswerOutcome } from './sdp-hooks.js';
import { addResponseTimerHeaders, decideAsUas, uasState } from './session-timer.js';
import type { SdpContext, SessionTimerState, TerminationReason } from './types.js';

/** What this file needs of a dialog (the Dialog class implements it). */
export interface ServerSideDialog extends CancelTarget {
  readonly state: 'early' | 'confirmed' | 'terminated';
  readonly outgoing: boolean;
  readonly oa: OfferAnswer;
  readonly early: EarlyServer | undefined;
  remoteSeq: number;
  remoteTarget: string;
  serverInvite: PendingInvite | undefined;
  readonly clientInvitePending: boolean;
  readonly sessionConfig: NormalizedSessionTimer | undefined;
  decorate(rs: SipResponse, contact: boolean): SipResponse;
  learnPeer(headers: SipHeaders): void;
  answerOffer(offer: string, context: SdpContext): AnswerOutcome | Promise<AnswerOutcome>;
  makeOffer(context: SdpContext): string | undefined | Promise<string | undefined>;
  receiveAck(ack: SipRequest): void;
  startAckWait(response: SipResponse, reply: ServerReply, seq: number, waiter: undefined): void;
  startSessionTimer(state: SessionTimerState): void;
  terminate(reason: TerminationReason): void;
  trackInvite(reply: ServerReply, target: CancelTarget | undefined): void;
  report(error: unknown): void;
  sessionChanged(): void;
  /** Hands the request to the application's `request` listeners; false when there are none. */
  emitRequest(request: SipRequest, remote: Remote, reply: ServerReply): boolean;
}

/** RFC 3261 §14.2, RFC 3311 §5.2: 500 with a Retry-After between 0 and 10 seconds. */
function retryLater(rq: SipRequest, reason: string): SipResponse {
  return makeResponse(rq, 500, reason, { headers: { 'retry-after': String(randomInt(0, 11)) } });
}

function refuse(rq: SipRequest, reply: ServerReply, status: 491 | 500): void {
  reply.reply(status === 491 ? makeResponse(rq, 491) : retryLater(rq, 'Offer Pending'));
}

/** The request in dialog `d` (its id matched). ACK never gets a response. */
export function receiveInDialog(d: ServerSideDialog, rq: SipRequest, remote: Remote, reply: ServerReply): void {
  const method = rq.method;
  if (method === 'ACK') {
    d.receiveAck(rq);
    return;
  }
  if (d.state === 'terminated') {
    reply.reply(makeResponse(rq, 481));
    return;
  }
  const seq = rq.headers.cseq?.seq ?? 0;
  // RFC 3261 §12.2.2: a request with a CSeq lower than the last one is out of order.
  if (d.remoteSeq >= 0 && seq < d.remoteSeq) {
    reply.reply(makeResponse(rq, 500, 'CSeq Out of Order'));
    return;
  }
  d.remoteSeq = seq;
  switch (method) {
    case 'BYE':
      receiveBye(d, rq, reply);
      return;
    case 'INVITE':
      void receiveReinvite(d, rq, reply, seq).catch((e: unknown) => failed(d, rq, reply, e));
      return;
    case 'UPDATE':
      void receiveUpdate(d, rq, reply, seq).catch((e: unknown) => failed(d, rq, reply, e));
      return;
    case 'PRACK':
      if (d.early !== undefined) d.early.receivePrack(rq, reply);
      else reply.reply(makeResponse(rq, 481));
      return;
    default:
      if (!d.emitRequest(rq, remote, reply)) answerUnhandled(d, rq, reply);
  }
}

function failed(d: ServerSideDialog, rq: SipRequest, reply: ServerReply, e: unknown): void {
  d.report(e);
  if (!reply.finalSent) reply.reply(makeResponse(rq, 500));
}

/** RFC 3261 §15.1.2: 200 to the BYE; a pending INVITE of the peer's gets 487. */
function receiveBye(d: ServerSideDialog, rq: SipRequest, reply: ServerReply): void {
  reply.reply(makeResponse(rq, 200));
  if (d.state === 'early' && d.early !== undefined) d.early.earlyBye();
  d.terminate({ cause: 'remote-bye' });
}

/** No listener: OPTIONS and legacy INFO get 200, INFO for an Info Package 469 (RFC 6086 §4.2.2), others 501. */
function answerUnhandled(d: ServerSideDialog, rq: SipRequest, reply: ServerReply): void {
  if (rq.method === 'OPTIONS') reply.reply(d.decorate(makeResponse(rq, 200), false));
  else if (rq.method === 'INFO') reply.reply(makeResponse(rq, rq.headers['info-package'] === undefined ? 200 : 469));
  else reply.reply(makeResponse(rq, 501));
}

/** The offer/answer and session-timer checks an offer-carrying request must pass; false: answered already. */
function admitOffer(d: ServerSideDialog, rq: SipRequest, reply: ServerReply, offer: string | undefined, needsOffer: boolean): boolean {
  if (offer !== undefined || needsOffer) {
    // RFC 3311 §5.2, RFC 6337 §3.1: our own offer outstanding is glare (491); the peer's
    // unanswered one means this request overlaps it (500 + Retry-After).
    const status = d.oa.incomingOfferStatus();
    if (status !== 0) {
      refuse(rq, reply, status);
      return false;
    }
  }
  return true;
}

async function receiveReinvite(d: ServerSideDialog, rq: SipRequest, reply: ServerReply, seq: number): Promise<void> {
  if (d.state === 'early') {
    // §14.2: an INVITE while the initial one is in progress: 491 when ours, 500 when theirs.
    reply.reply(d.outgoing ? makeResponse(rq, 491) : retryLater(rq, 'INVITE Pending'));
    return;
  }
  if (d.serverInvite !== undefined) {
    reply.reply(retryLater(rq, 'INVITE Pending'));
    return;
  }
  if (d.clientInvitePending) {
    reply.reply(makeResponse(rq, 491));
    return;
  }
  const offer = sdpOf(rq);
  if (!admitOffer(d, rq, reply, offer, true)) return;
  const timer = decideAsUas(rq, d.sessionConfig);
  if (timer.kind === 'reject') {
    reply.reply(makeResponse(rq, 422, undefined, { headers: { 'min-se': String(timer.minSE) } }));
    return;
  }
  // RFC 3261 §12.2.2: a target refresh request replaces the remote target.
  const target = contactUri(rq);
  if (target !== undefined) d.remoteTarget = target;
  d.learnPeer(rq.headers);
  const pending: PendingInvite = { request: rq, reply };
  d.serverInvite = pending;
  d.trackInvite(reply, d);
  let body: string;
  const context: SdpContext = { method: 'INVITE', request: rq, initial: false };
  if (offer !== undefined) {
    d.oa.offerReceived(offer, 'INVITE', seq);
    const outcome = await d.answerOffer(offer, context);
    if (d.serverInvite !== pending) return; // CANCELled or the dialog ended meanwhile
    if (typeof outcome !== 'string') {
      d.oa.rollback('INVITE', seq);
      endPending(d, reply);
      reply.reply(makeResponse(rq, outcome.status, outcome.reason, { headers: outcome.headers }));
      return;
    }
    body = outcome;
  } else {
    // No offer: ours goes in the 2xx, the answer comes in the ACK (RFC 3261 §14.2).
    const made = await d.makeOffer(context);
    if (d.serverInvite !== pending) return;
    if (made === undefined) {
      endPending(d, reply);
      reply.reply(makeResponse(rq, 488));
      return;
    }
    d.oa.offerSent(made, 'INVITE', seq);
    body = made;
  }
  endPending(d, reply);
  const rs = d.decorate(makeResponse(rq, 200, undefined, { headers: { 'content-type': 'application/sdp' }, content: body }), true);
  addResponseTimerHeaders(rs.headers, timer);
  reply.reply(rs);
  if (offer !== undefined) {
    d.oa.answerSent(body);
    d.sessionChanged();
  }
  d.startAckWait(rs, reply, seq, undefined);
  const state = uasState(timer);
  if (state !== undefined) d.startSessionTimer(state);
}

function endPending(d: ServerSideDialog, reply: ServerReply): void {
  d.serverInvite = undefined;
  d.trackInvite(reply, undefined);
}

async function receiveUpdate(d: ServerSideDialog, rq: SipRequest, reply: ServerReply, seq: number): Promise<void> {
  const offer = sdpOf(rq);
  if (!admitOffer(d, rq, reply, offer, false)) return;
  const timer = decideAsUas(rq, d.sessionConfig);
  if (timer.kind === 'reject') {
    reply.reply(makeResponse(rq, 422, undefined, { headers: { 'min-se': String(timer.minSE) } }));
    return;
  }
  // RFC 3311 §5.2: UPDATE is a target refresh request.
  const target = contactUri(rq);
  if (target !== undefined) d.remoteTarget = target;
  d.learnPeer(rq.headers);
  let answer: string | undefined;
  if (offer !== undefined) {
    d.oa.offerReceived(offer, 'UPDATE', seq);
    const outcome = await d.answerOffer(offer, { method: 'UPDATE', request: rq, initial: d.oa.initial });
    if (d.state === 'terminated') return;
    if (typeof outcome !== 'string') {
      d.oa.rollback('UPDATE', seq);
      reply.reply(makeResponse(rq, outcome.status, outcome.reason, { headers: outcome.headers }));
      return;
    }
    answer = outcome;
  }
  const rs = d.decorate(makeResponse(rq, 200), true);
  if (answer !== undefined) {
    rs.headers['content-type'] = 'application/sdp';
    rs.content = answer;
  }
  addResponseTimerHeaders(rs.headers, timer);
  reply.reply(rs);
  if (answer !== undefined) {
    d.oa.answerSent(answer);
    d.sessionChanged();
  }
  const state = uasState(timer);
  if (state !== undefined && d.state === 'confirmed') d.startSessionTimer(state);
}

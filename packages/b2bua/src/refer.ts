// REFER (RFC 3515) on a leg of a bridged call. The application's onRefer hook decides: refuse
// (403 by default, and without a hook), or accept: 202, a NOTIFY "100 Trying" (§2.4.4), then the
// B2BUA calls the target itself with an INVITE without SDP; the new leg's offer goes to the
// transferee (the other leg) in a re-INVITE whose answer goes back in the new leg's ACK (RFC 3725
// flow I), and the transferor gets a NOTIFY with the final status as a sipfrag body. On success
// the new leg takes the transferor's place in the bridge and the transferor's dialog is ended with
// BYE; on failure the call goes on as it was.
import type { ServerReply } from '@sipts/core';
import { isDialogError } from '@sipts/dialog';
import type { Dialog, SdpRefusal as DialogRefusal } from '@sipts/dialog';
import { makeResponse, parseUri } from '@sipts/message';
import type { SipHeaders, SipRequest } from '@sipts/message';
import { B2buaError } from './errors.js';
import { SIPFRAG_TYPE, copyHeaders, sdpOf, sipfrag, splitReferTo, uriText } from './headers.js';
import type { Leg } from './leg.js';
import type { CallCore } from './roles.js';
import type { ReferDecision, ReferRequest } from './types.js';

/** RFC 3515 §2.4.5: NOTIFY with the status line of the new call as a sipfrag body. */
function notify(dialog: Dialog, status: number, reason: string, final: boolean): void {
  if (dialog.state === 'terminated') return;
  const headers: SipHeaders = { event: 'refer', 'subscription-state': final ? 'terminated;reason=noresource' : 'active;expires=60' };
  dialog.request('NOTIFY', { headers, body: sipfrag(status, reason), contentType: SIPFRAG_TYPE }).catch(() => undefined);
}

/** A REFER on `from`: asks the hook, then transfers or refuses. */
export function handleRefer(call: CallCore, from: Leg, rq: SipRequest, reply: ServerReply): void {
  const referTo = rq.headers['refer-to'];
  if (typeof referTo !== 'object' || referTo === null || referTo.uri === undefined) {
    // RFC 3515 §2.4.1: exactly one Refer-To.
    reply.reply(makeResponse(rq, 400, 'Missing Refer-To'));
    return;
  }
  const hook = call.options.onRefer;
  if (hook === undefined) {
    call.host.count('transfersRefused');
    reply.reply(makeResponse(rq, 403));
    return;
  }
  const { uri, replaces } = splitReferTo(uriText(referTo.uri));
  const refer: ReferRequest = { call, from: call.slotOf(from), request: rq, referTo: uri, replaces };
  let decision: ReferDecision | Promise<ReferDecision>;
  try {
    decision = hook(refer);
  } catch (e) {
    call.host.report(new B2buaError('ERR_HOOK', 'onRefer threw', { cause: e }));
    reply.reply(makeResponse(rq, 500));
    return;
  }
  Promise.resolve(decision).then(
    (d) => decide(call, from, rq, reply, uri, d),
    (e: unknown) => {
      call.host.report(new B2buaError('ERR_HOOK', 'onRefer rejected', { cause: e }));
      reply.reply(makeResponse(rq, 500));
    },
  );
}

function decide(call: CallCore, from: Leg, rq: SipRequest, reply: ServerReply, referTo: string, decision: ReferDecision): void {
  if (typeof decision !== 'object' || decision === null || decision.action !== 'accept') {
    const status = decision?.action === 'reject' && decision.status !== undefined && decision.status >= 400 && decision.status <= 699 ? decision.status : 403;
    call.host.count('transfersRefused');
    reply.reply(makeResponse(rq, status, decision?.action === 'reject' ? decision.reason : undefined));
    return;
  }
  const transferor = from.live;
  const transferee = call.peerOf(from);
  const peer = transferee?.live;
  if (call.state !== 'answered' || transferor === undefined || transferee === undefined || peer === undefined || peer.state !== 'confirmed') {
    call.host.count('transfersRefused');
    reply.reply(makeResponse(rq, 481));
    return;
  }
  const target = decision.target ?? referTo;
  const parsed = parseUri(target);
  if (parsed === undefined || (parsed.schema.toLowerCase() !== 'sip' && parsed.schema.toLowerCase() !== 'sips')) {
    call.host.count('transfersRefused');
    reply.reply(makeResponse(rq, 400, 'Bad Refer-To'));
    return;
  }
  call.host.count('transfers');
  reply.reply(makeResponse(rq, 202));
  notify(transferor, 100, 'Trying', false);
  const leg = call.newLeg(target);
  const headers: SipHeaders = copyHeaders(rq.headers, ['referred-by'], {}) ?? {};
  if (decision.headers !== undefined) for (const name of Object.keys(decision.headers)) headers[name] = decision.headers[name];
  const forward = call.relayedHeaders(rq, from, 'INVITE', true, headers);
  // RFC 3725 flow I: the new leg offers in its 2xx; the transferee answers it through a re-INVITE.
  const thirdParty = async (_dialog: Dialog, offer: string): Promise<string | DialogRefusal> => {
    const mapped = await settle(call.mapSdp(call.options.onOffer, offer, leg, 'INVITE', undefined, false));
    if (typeof mapped !== 'string') return mapped;
    const live = transferee.live;
    if (live === undefined) return { status: 487 };
    let rs;
    try {
      rs = await live.reinvite({ sdp: mapped, headers: call.relayedHeaders(undefined, leg, 'INVITE', false) });
    } catch (e) {
      return { status: isDialogError(e) && e.code === 'ERR_REQUEST_PENDING' ? 491 : 500 };
    }
    const answer = sdpOf(rs);
    if (rs.status >= 300 || answer === undefined) return { status: rs.status >= 300 ? rs.status : 488 };
    return settle(call.mapSdp(call.options.onAnswer, answer, transferee, 'INVITE', rs, false));
  };
  call.host.ua
    .invite(target, {
      headers: forward,
      from: peer.remoteUri,
      fromName: peer.remoteName,
      callId: leg.callId,
      sdpHooks: { answer: thirdParty },
      onProgress: (rs, dialog) => {
        if (dialog !== undefined) leg.setState('early', rs.status);
      },
    })
    .then(
      (dialog) => {
        leg.setState('confirmed', 200);
        if (call.state !== 'answered' || from.ended) {
          void dialog.bye().catch(() => undefined);
          leg.end('local-bye');
          notify(transferor, 487, 'Request Terminated', true);
          return;
        }
        call.replaceLeg(from, leg);
        leg.attach(dialog);
        call.host.trackDialog(leg, true);
        notify(transferor, 200, 'OK', true);
        // The transferor is out of the bridge: its dialog ends (RFC 5589 §6.1 leaves the BYE to it; we do not wait).
        call.host.trackDialog(from, false);
        from.end('transferred');
        void transferor.bye().catch(() => undefined);
      },
      (e: unknown) => {
        const rs = isDialogError(e) ? e.response : undefined;
        leg.end(rs !== undefined ? 'rejected' : 'error', rs?.status);
        notify(transferor, rs?.status ?? 503, rs?.reason ?? 'Service Unavailable', true);
      },
    );
}

async function settle(value: string | DialogRefusal | Promise<string | DialogRefusal>): Promise<string | DialogRefusal> {
  return typeof value === 'string' ? value : await value;
}

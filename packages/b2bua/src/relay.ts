// In-dialog traffic from one leg to the other once the call is bridged. An offer (re-INVITE,
// UPDATE) goes through onOffer to the other leg in a request of the same method, and that leg's
// answer comes back through onAnswer as ours (a failure comes back with its status and reason);
// a re-INVITE without SDP is relayed without SDP and the other leg's offer goes back in our 2xx,
// the answer in its ACK goes on in ours (RFC 3261 §14.1, RFC 3264). Other requests (INFO,
// MESSAGE, NOTIFY, OPTIONS, extension methods) are sent on the other leg with their body and the
// relayed headers, and its final response comes back as the answer.
import type { ServerReply } from '@sipts/core';
import { isDialogError } from '@sipts/dialog';
import type { SdpContext, SdpRefusal as DialogRefusal } from '@sipts/dialog';
import { makeResponse } from '@sipts/message';
import type { SipRequest, SipResponse } from '@sipts/message';
import { sdpOf } from './headers.js';
import type { Leg } from './leg.js';
import type { CallCore, OfferlessRelay } from './roles.js';

type HookResult = string | DialogRefusal;

const NOT_ACCEPTABLE: DialogRefusal = { status: 488 };

async function settle(value: string | DialogRefusal | Promise<string | DialogRefusal>): Promise<HookResult> {
  return typeof value === 'string' ? value : await value;
}

/** A refusal carrying the other leg's (`to`'s) final status, reason phrase and relayed headers. */
function refusalFrom(call: CallCore, rs: SipResponse, to: Leg, method: string): DialogRefusal {
  return { status: rs.status, reason: rs.reason, headers: call.relayedHeaders(rs, to, method, false) };
}

/** What a failed reinvite()/update() on the other leg means for this one. */
function refusalFor(call: CallCore, e: unknown): DialogRefusal {
  if (isDialogError(e)) {
    // RFC 3261 §14.1 glare on the other leg, or its offer in progress: this one retries later.
    if (e.code === 'ERR_REQUEST_PENDING' || e.code === 'ERR_INVALID_STATE') return { status: 491 };
    if (e.code === 'ERR_TERMINATED') return { status: 481 };
  }
  call.host.report(e);
  return { status: 500 };
}

/**
 * An offer in a re-INVITE or UPDATE on `from`: relayed to the other leg; resolves with the answer
 * for `from` (the other leg's, through onAnswer) or a refusal.
 */
export async function relayOffer(call: CallCore, from: Leg, offer: string, context: SdpContext): Promise<HookResult> {
  const to = call.peerOf(from);
  const peer = to?.live;
  const method = context.method;
  if (to === undefined || peer === undefined || (method !== 'INVITE' && method !== 'UPDATE')) return NOT_ACCEPTABLE;
  const mapped = await settle(call.mapSdp(call.options.onOffer, offer, from, method, context.request, false));
  if (typeof mapped !== 'string') return mapped;
  const headers = call.relayedHeaders(context.request, from, method, false);
  call.host.count('relayed');
  let rs: SipResponse;
  try {
    rs = method === 'INVITE' ? await peer.reinvite({ sdp: mapped, headers }) : await peer.update({ sdp: mapped, headers });
  } catch (e) {
    return refusalFor(call, e);
  }
  if (rs.status >= 300) return refusalFrom(call, rs, to, method);
  const answer = sdpOf(rs);
  if (answer === undefined) return { status: 500, reason: 'No Answer From The Other Leg' };
  return settle(call.mapSdp(call.options.onAnswer, answer, to, method, rs, false));
}

/**
 * A re-INVITE without SDP on `from` (its peer wants our offer in the 2xx): the other leg gets a
 * re-INVITE without SDP, and its offer (from its 2xx, through takeOfferless) is ours. undefined:
 * no offer came (488 to `from`).
 */
export function relayOfferless(call: CallCore, from: Leg, context: SdpContext): Promise<string | undefined> | string | undefined {
  const to = call.peerOf(from);
  const peer = to?.live;
  if (to === undefined || peer === undefined || peer.state !== 'confirmed' || call.offerless !== undefined) return undefined;
  const headers = call.relayedHeaders(context.request, from, 'INVITE', false);
  call.host.count('relayed');
  return new Promise<string | undefined>((resolve) => {
    const relay: OfferlessRelay = { from, to, resolve };
    call.offerless = relay;
    const done = (): void => {
      // No offer came in the other leg's 2xx (a failure, or a 2xx without SDP).
      if (call.offerless !== relay) return;
      call.offerless = undefined;
      resolve(undefined);
    };
    peer.reinvite({ headers }).then(done, (e: unknown) => {
      refusalFor(call, e);
      done();
    });
  });
}

/**
 * The other leg's 2xx to our offerless re-INVITE carries its offer: it goes into `relay.from`'s
 * 2xx, and the answer in `relay.from`'s ACK is the answer our ACK carries (RFC 3261 §14.1).
 */
export async function takeOfferless(call: CallCore, relay: OfferlessRelay, offer: string, rs: SipResponse): Promise<HookResult> {
  call.offerless = undefined;
  const mapped = await settle(call.mapSdp(call.options.onOffer, offer, relay.to, 'INVITE', rs, false));
  if (typeof mapped !== 'string') {
    relay.resolve(undefined);
    return mapped;
  }
  const ack = call.waitAck(relay.from);
  relay.resolve(mapped);
  const carrier = await ack;
  const answer = sdpOf(carrier);
  if (answer === undefined) return NOT_ACCEPTABLE;
  return settle(call.mapSdp(call.options.onAnswer, answer, relay.from, 'ACK', carrier, false));
}

/** Any other in-dialog request on `from` (INFO, MESSAGE, NOTIFY, OPTIONS...): relayed as it is. */
export function relayRequest(call: CallCore, from: Leg, rq: SipRequest, reply: ServerReply): void {
  const to = call.peerOf(from);
  const peer = to?.live;
  if (to === undefined || peer === undefined) {
    reply.reply(makeResponse(rq, 481));
    return;
  }
  const headers = call.relayedHeaders(rq, from, rq.method, false);
  const type = rq.headers['content-type'];
  const body = rq.content;
  call.host.count('relayed');
  peer
    .request(rq.method, { headers, body: body === '' ? undefined : body, contentType: typeof type === 'string' ? type : undefined })
    .then(
      (rs) => {
        const out = makeResponse(rq, rs.status, rs.reason, { headers: call.relayedHeaders(rs, to, rq.method, false) });
        const content = rs.content;
        if (typeof content === 'string' && content !== '') {
          out.content = content;
          const ct = rs.headers['content-type'];
          if (typeof ct === 'string') out.headers['content-type'] = ct;
        }
        reply.reply(out);
      },
      (e: unknown) => {
        call.host.report(e);
        reply.reply(makeResponse(rq, 500));
      },
    );
}

// Requests built from other requests, the way RFC 3261 words them: the CANCEL of §9.1 and the
// ACK for a non-2xx final response of §17.1.1.3. The transaction layer sends both; a UA or a
// proxy that needs one asks the transaction (it never builds its own copy).
import type { SipHeaders, SipRequest, SipResponse } from './types.js';

/** To, From and Call-ID when present (exactOptionalPropertyTypes: no `undefined` values). */
function copyIds(into: SipHeaders, from: SipHeaders, to: SipHeaders['to']): SipHeaders {
  if (to) into.to = to;
  if (from.from) into.from = from.from;
  if (typeof from['call-id'] === 'string') into['call-id'] = from['call-id'];
  return into;
}

function topViaOnly(h: SipHeaders): NonNullable<SipHeaders['via']> {
  const via: unknown = h.via;
  if (Array.isArray(via)) return via.slice(0, 1);
  return typeof via === 'object' && via !== null ? [via as NonNullable<SipHeaders['via']>[number]] : [];
}

/**
 * RFC 3261 §17.1.1.3: the ACK for a non-2xx final response. Request-URI, Call-ID and From of
 * the INVITE, To of the response, a single Via equal to the INVITE's top Via, the INVITE's CSeq
 * number with method ACK, and the INVITE's Route header fields.
 */
export function ackFor(invite: SipRequest, response: SipResponse): SipRequest {
  const h = invite.headers;
  const headers = copyIds({ via: topViaOnly(h) }, h, response.headers.to);
  headers.cseq = { seq: h.cseq ? h.cseq.seq : 0, method: 'ACK' };
  headers['max-forwards'] = 70;
  if (h.route && h.route.length > 0) headers.route = h.route;
  return { method: 'ACK', uri: invite.uri, version: '2.0', headers, content: '' };
}

/**
 * RFC 3261 §9.1: CANCEL for a pending request. Request-URI, Call-ID, To, From and CSeq number
 * of the request, a single Via equal to its top Via (same branch), its Route header fields.
 */
export function cancelFor(request: SipRequest): SipRequest {
  const h = request.headers;
  const headers = copyIds({ via: topViaOnly(h) }, h, h.to);
  headers.cseq = { seq: h.cseq ? h.cseq.seq : 0, method: 'CANCEL' };
  headers['max-forwards'] = 70;
  if (h.route && h.route.length > 0) headers.route = h.route;
  return { method: 'CANCEL', uri: request.uri, version: '2.0', headers, content: '' };
}

// Messages the transaction layer builds itself: the 100 Trying of §17.2.1, the ACK for a
// non-2xx final of §17.1.1.3, the CANCEL of §9.1, and the responses it reports or sends on the
// TU's behalf (408, 487, 500, 503).
import type { SipHeaders, SipRequest, SipResponse } from '@sipts/message';

/** Copies To, From and Call-ID when present (exactOptionalPropertyTypes: no `undefined` values). */
function copyIds(into: SipHeaders, from: SipHeaders, to: SipHeaders['to']): SipHeaders {
  if (to) into.to = to;
  if (from.from) into.from = from.from;
  if (typeof from['call-id'] === 'string') into['call-id'] = from['call-id'];
  return into;
}

const reasons: Record<number, string> = {
  100: 'Trying',
  408: 'Request Timeout',
  487: 'Request Terminated',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
};

/**
 * A response to `request` in the manner of `makeResponse`: Via list (copied, so a TU may shift
 * it), From, To, Call-ID and CSeq of the request. RFC 3261 §8.2.6.1: a 100 copies Timestamp.
 */
export function responseTo(request: SipRequest, status: number, extra?: SipHeaders): SipResponse {
  const h = request.headers;
  const headers = copyIds({ via: h.via ? h.via.slice() : [] }, h, h.to);
  if (h.cseq) headers.cseq = h.cseq;
  if (status === 100 && typeof h.timestamp === 'string') headers.timestamp = h.timestamp;
  if (extra) Object.assign(headers, extra);
  return { status, reason: reasons[status] ?? '', version: '2.0', headers, content: '' };
}

/**
 * RFC 3261 §17.1.1.3: the ACK for a non-2xx final response. Request-URI, Call-ID and From of
 * the INVITE, To of the response, a single Via equal to the INVITE's top Via, the INVITE's CSeq
 * number with method ACK, and the INVITE's Route header fields.
 */
export function ackFor(invite: SipRequest, response: SipResponse): SipRequest {
  const h = invite.headers;
  const headers = copyIds({ via: h.via ? h.via.slice(0, 1) : [] }, h, response.headers.to);
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
  const headers = copyIds({ via: h.via ? h.via.slice(0, 1) : [] }, h, h.to);
  headers.cseq = { seq: h.cseq ? h.cseq.seq : 0, method: 'CANCEL' };
  headers['max-forwards'] = 70;
  if (h.route && h.route.length > 0) headers.route = h.route;
  return { method: 'CANCEL', uri: request.uri, version: '2.0', headers, content: '' };
}

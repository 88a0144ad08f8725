// RFC 3261 §16.7 response aggregation: which final response of a forked request goes upstream.
import { defaultReason, makeResponse } from '@sipts/message';
import type { AuthHeader, SipRequest, SipResponse } from '@sipts/message';

/** Lower is better within the 4xx class: responses that let the caller resubmit (§16.7 step 6). */
function preference4xx(status: number): number {
  switch (status) {
    case 401:
    case 407:
      return 0;
    case 415:
    case 420:
    case 484:
      return 1;
    default:
      return 2;
  }
}

/**
 * §16.7 step 6: a 6xx if any; otherwise the lowest class present, preferring 401, 407, 415,
 * 420 and 484 within 4xx; the earliest received wins ties. Returns undefined for an empty list.
 */
export function selectBest(responses: readonly SipResponse[]): SipResponse | undefined {
  let best: SipResponse | undefined;
  for (const rs of responses) {
    if (best === undefined || better(rs.status, best.status)) best = rs;
  }
  return best;
}

function better(candidate: number, current: number): boolean {
  const cc = Math.floor(candidate / 100);
  const bc = Math.floor(current / 100);
  if (bc === 6) return false;
  if (cc === 6) return true;
  if (cc !== bc) return cc < bc;
  if (cc === 4) return preference4xx(candidate) < preference4xx(current);
  return false;
}

/**
 * §16.7 steps 6 and 7 applied to the stored final responses of one context: the response to
 * send upstream (its top Via already removed by the caller). 401/407 get every WWW-Authenticate
 * and Proxy-Authenticate value of the other 401/407 responses; a lone 503 becomes 500; an empty
 * context yields 408 (every branch timed out without a response).
 */
export function aggregate(rq: SipRequest, responses: readonly SipResponse[]): SipResponse {
  const best = selectBest(responses);
  if (best === undefined) return makeResponse(rq, 408, undefined, { toTag: true });
  if (best.status === 503) {
    // §16.7 step 6: a 503 from downstream says nothing about this proxy's availability.
    return { ...best, status: 500, reason: defaultReason(500), headers: { ...best.headers } };
  }
  if (best.status !== 401 && best.status !== 407) return best;
  let www: AuthHeader[] | undefined;
  let proxyAuth: AuthHeader[] | undefined;
  for (const rs of responses) {
    if (rs.status !== 401 && rs.status !== 407) continue;
    const w = rs.headers['www-authenticate'];
    if (w !== undefined && w.length > 0) (www ??= []).push(...w);
    const p = rs.headers['proxy-authenticate'];
    if (p !== undefined && p.length > 0) (proxyAuth ??= []).push(...p);
  }
  const headers = { ...best.headers };
  if (www !== undefined) headers['www-authenticate'] = www;
  if (proxyAuth !== undefined) headers['proxy-authenticate'] = proxyAuth;
  return { ...best, headers };
}

// The 200 to a REGISTER (RFC 3261 §10.3 step 8): every current binding with the seconds it has
// left, the Date, and what the extensions add: Path echoed (RFC 3327 §5.3), Require: outbound
// and Flow-Timer (RFC 5626 §6), pub-gruu / temp-gruu (RFC 5627 §5.2).
import { makeResponse } from '@sipts/message';
import type { NameAddr, SipRequest, SipResponse } from '@sipts/message';
import { httpDate } from './contact.js';
import { callIdTag, type GruuCodec } from './gruu.js';
import type { RegisterPlan, Refusal } from './register-request.js';
import type { Binding } from './types.js';

export interface OkSettings {
  now: number;
  gruu: GruuCodec | undefined;
  /** Flow-Timer seconds for an outbound flow over a datagram / stream transport (0: none). */
  flowTimer: { datagram: number; stream: number };
}

function contactOf(b: Binding, plan: RegisterPlan, s: OkSettings): NameAddr {
  const params: Record<string, string | null> = {};
  for (const name in b.params) params[name] = b.params[name] as string | null;
  params['expires'] = String(Math.max(0, Math.ceil((b.expiresAt - s.now) / 1000)));
  if (s.gruu !== undefined && plan.supportsGruu && b.instance !== undefined) {
    // RFC 5627 §5.2: both GRUUs of the instance, quoted (they carry parameters).
    params['pub-gruu'] = `"${s.gruu.publicGruu(plan.aorUri, b.instance)}"`;
    params['temp-gruu'] = `"${s.gruu.temporaryGruu(plan.aorUri, { aor: b.aor, instance: b.instance, callIdTag: callIdTag(b.callId) })}"`;
  }
  const out: NameAddr = { uri: b.contact, params };
  if (b.name !== undefined) out.name = b.name;
  return out;
}

export function okResponse(rq: SipRequest, plan: RegisterPlan, bindings: readonly Binding[], s: OkSettings): SipResponse {
  const rs = makeResponse(rq, 200, 'OK');
  const h = rs.headers;
  if (bindings.length > 0) {
    // Highest q first, then the most recent, as lookups order them.
    const sorted = bindings.slice().sort((a, b) => b.q - a.q || b.updatedAt - a.updatedAt);
    h.contact = sorted.map((b) => contactOf(b, plan, s));
  }
  h['date'] = httpDate(s.now);
  if (plan.path !== undefined && plan.supportsPath) h.path = plan.path;
  if (plan.outbound) {
    h['require'] = 'outbound';
    // RFC 5626 §6: a registrar that is the first hop tells the UA how often to send keep-alives.
    if (plan.path === undefined) {
      const seconds = plan.source.protocol === 'UDP' ? s.flowTimer.datagram : s.flowTimer.stream;
      if (seconds > 0) h['flow-timer'] = String(seconds);
    }
  }
  h['supported'] = 'path, outbound, gruu';
  return rs;
}

export function refusalResponse(rq: SipRequest, refusal: Refusal): SipResponse {
  const rs = makeResponse(rq, refusal.status, refusal.reason);
  if (refusal.headers !== undefined) for (const [name, value] of Object.entries(refusal.headers)) rs.headers[name] = value;
  return rs;
}

// RFC 3261 §10.3 steps 2, 5, 6 and the extensions' checks, on one REGISTER: from the request to
// either a plan (the AOR, the bindings to write, what the 200 must say) or the response that
// refuses it. Nothing is stored here; every string kept in a planned binding is a flat copy.
import type { NameAddr, RouteAddr, SipRequest, SipUri, Via } from '@sipts/message';
import { stringifyUri } from '@sipts/message';
import { aorKey, contactKey, deltaSeconds, flat, hasOptionTag, instanceOf, optionTags, qValue, regIdOf, uriOf } from './contact.js';
import { isBehindNat, type NatMode } from './nat.js';
import type { Binding, FlowAddress } from './types.js';

/** Option tags this registrar supports (RFC 3327, RFC 5626, RFC 5627). */
export const SUPPORTED_TAGS = ['path', 'outbound', 'gruu'] as const;

/** Caps on what one binding may hold (network input: see the README's limits table). */
export interface BindingLimits {
  /** Characters of a Contact URI. Default 1024. */
  maxContactLength: number;
  /** Parameters of a Contact (other than expires). Default 16. */
  maxContactParams: number;
  /** Characters of a Contact parameter name or value. Default 256. */
  maxParamLength: number;
  /** Path entries. Default 10. */
  maxPathEntries: number;
  /** Characters of one Path URI. Default 512. */
  maxPathLength: number;
  /** Characters of the Call-ID. Default 256. */
  maxCallIdLength: number;
  /** Characters of the User-Agent kept (longer ones are cut). Default 128. */
  maxUserAgentLength: number;
}

/** The params of a Contact that has none, shared (bindings are never modified in place). */
const NO_PARAMS: Record<string, string | null> = Object.freeze({}) as Record<string, string | null>;

export const DEFAULT_LIMITS: BindingLimits = {
  maxContactLength: 1024,
  maxContactParams: 16,
  maxParamLength: 256,
  maxPathEntries: 10,
  maxPathLength: 512,
  maxCallIdLength: 256,
  maxUserAgentLength: 128,
};

export interface PlanSettings {
  useDomain: boolean;
  defaultExpires: number;
  minExpires: number;
  maxExpires: number;
  nat: NatMode;
  pathWithoutSupport: 'reject' | 'store';
  limits: BindingLimits;
}

/** A REGISTER refused before the store is asked: status, reason and extra headers. */
export interface Refusal {
  status: number;
  reason: string;
  headers?: Record<string, string> | undefined;
}

export interface RegisterPlan {
  aor: string;
  /** The To URI (for GRUUs). */
  aorUri: SipUri;
  callId: string;
  cseq: number;
  /** No Contact: a query (RFC 3261 §10.3 step 6 does not apply). */
  query: boolean;
  removeAll: boolean;
  bindings: Binding[];
  /** The request's Path, echoed in the 200 when the UA supports path. */
  path: RouteAddr[] | undefined;
  supportsPath: boolean;
  supportsGruu: boolean;
  /** RFC 5626 processing applied to a Contact: the 200 carries Require: outbound. */
  outbound: boolean;
  /** The flow-bound bindings of this REGISTER use the connection it came on. */
  source: FlowAddress;
}

function refuse(status: number, reason: string, headers?: Record<string, string>): Refusal {
  return { status, reason, headers };
}

/** The transport names, shared by every binding instead of a string each. */
const PROTOCOLS: Record<string, string> = { UDP: 'UDP', TCP: 'TCP', TLS: 'TLS', WS: 'WS', WSS: 'WSS', SCTP: 'SCTP' };

/** The remote comes from the transport (socket addresses), not from the message text. */
function copyFlow(remote: FlowAddress): FlowAddress {
  const upper = remote.protocol.toUpperCase();
  const out: FlowAddress = { protocol: PROTOCOLS[upper] ?? flat(upper), address: remote.address, port: remote.port };
  if (remote.local !== undefined) out.local = { address: remote.local.address, port: remote.local.port };
  return out;
}

/** A request must be reached over its flow when it came over WebSocket or names an unreachable host. */
function needsFlow(contact: SipUri, source: FlowAddress): boolean {
  const p = source.protocol;
  return p === 'WS' || p === 'WSS' || contact.host.toLowerCase().endsWith('.invalid');
}

/**
 * Checks a REGISTER and plans its bindings. `now` is the time every expiry is counted from.
 */
export function planRegister(rq: SipRequest, remote: FlowAddress, now: number, s: PlanSettings): RegisterPlan | Refusal {
  // RFC 3261 §10.3 step 2 / §8.2.2.3: an extension we do not know in Require is refused.
  const required = optionTags(rq.headers['require']);
  const unsupported = required.filter((t) => !(SUPPORTED_TAGS as readonly string[]).includes(t));
  if (unsupported.length > 0) return refuse(420, 'Bad Extension', { unsupported: unsupported.join(', ') });

  const to = rq.headers.to;
  const aorUri = uriOf(to?.uri);
  const aor = aorKey(aorUri, s.useDomain);
  // §10.3 step 5: an AOR that is not valid for this registrar.
  if (aorUri === undefined || aor === undefined) return refuse(404, 'Not Found');
  const callIdRaw = rq.headers['call-id'];
  const cseq = rq.headers.cseq?.seq;
  if (typeof callIdRaw !== 'string' || callIdRaw === '' || typeof cseq !== 'number') return refuse(400, 'Missing Call-ID or CSeq');
  if (callIdRaw.length > s.limits.maxCallIdLength) return refuse(400, 'Call-ID Too Long');
  const supported = rq.headers['supported'];
  const supportsPath = hasOptionTag(supported, 'path');
  const supportsOutbound = hasOptionTag(supported, 'outbound');
  const supportsGruu = hasOptionTag(supported, 'gruu');
  const source = copyFlow(remote);

  // RFC 3327 §5.3: a Path from a UA that did not say it supports path.
  const path = rq.headers.path;
  let pathUris: string[] | undefined;
  if (path !== undefined && path.length > 0) {
    if (!supportsPath && s.pathWithoutSupport === 'reject') return refuse(420, 'Bad Extension', { unsupported: 'path' });
    if (path.length > s.limits.maxPathEntries) return refuse(400, 'Too Many Path Entries');
    pathUris = [];
    for (const entry of path) {
      const text = stringifyUri(entry.uri);
      if (text.length > s.limits.maxPathLength) return refuse(400, 'Path Too Long');
      pathUris.push(flat(text));
    }
  }

  // One plan object, filled in place: no object spreads on the hot path.
  const plan: RegisterPlan = {
    aor: flat(aor),
    aorUri,
    callId: flat(callIdRaw),
    cseq,
    query: false,
    removeAll: false,
    bindings: [],
    path,
    supportsPath,
    supportsGruu,
    outbound: false,
    source,
  };
  const contacts = rq.headers.contact;
  if (contacts === undefined || (Array.isArray(contacts) && contacts.length === 0)) {
    plan.query = true;
    return plan;
  }
  const expiresHeader = rq.headers['expires'];
  if (contacts === '*') {
    // §10.3 step 6: `*` only with Expires: 0 (and alone: the parser refuses `*` among others).
    if (deltaSeconds(expiresHeader, -1) !== 0) return refuse(400, 'Invalid Contact * (needs Expires: 0)');
    plan.removeAll = true;
    return plan;
  }

  // RFC 5626 §6: one reg-id per REGISTER.
  let regIds = 0;
  for (const c of contacts) if (c.params['reg-id'] !== undefined && c.params['+sip.instance'] !== undefined) regIds++;
  if (regIds > 1) return refuse(400, 'Multiple reg-id Contacts');

  const userAgentRaw = rq.headers['user-agent'];
  const ctx: ContactContext = {
    plan,
    fallback: deltaSeconds(expiresHeader, s.defaultExpires),
    via: rq.headers.via?.[0],
    userAgent: typeof userAgentRaw === 'string' && userAgentRaw !== '' ? flat(userAgentRaw.slice(0, s.limits.maxUserAgentLength)) : undefined,
    now,
    supportsOutbound,
    pathUris,
  };
  for (const c of contacts) {
    const refused = planContact(c, ctx, s);
    if (refused !== undefined) return refused;
  }
  return plan;
}

interface ContactContext {
  plan: RegisterPlan;
  fallback: number;
  via: Via | undefined;
  userAgent: string | undefined;
  now: number;
  supportsOutbound: boolean;
  pathUris: string[] | undefined;
}

/** Plans the binding of one Contact into `ctx.plan`; returns the refusal when it is refused. */
function planContact(c: NameAddr, ctx: ContactContext, s: PlanSettings): Refusal | undefined {
  const plan = ctx.plan;
  const uri = uriOf(c.uri);
  if (uri === undefined || uri.host === '') return refuse(400, 'Invalid Contact');
  const contactText = typeof c.uri === 'string' ? c.uri : stringifyUri(c.uri);
  if (contactText.length > s.limits.maxContactLength) return refuse(400, 'Contact Too Long');
  // §10.3 step 6: the Contact's expires parameter, else the Expires header, else our default;
  // §10.2.1.1: 0 < expires < Min-Expires is refused with 423, longer than our maximum shortened.
  let expires = c.params['expires'] !== undefined ? deltaSeconds(c.params['expires'], s.defaultExpires) : ctx.fallback;
  if (expires > 0 && expires < s.minExpires) return refuse(423, 'Interval Too Brief', { 'min-expires': String(s.minExpires) });
  if (expires > s.maxExpires) expires = s.maxExpires;

  let params: Record<string, string | null> = NO_PARAMS;
  let count = 0;
  for (const name in c.params) {
    if (name === 'expires') continue;
    const value = c.params[name];
    if (value === undefined) continue;
    if (++count > s.limits.maxContactParams) return refuse(400, 'Too Many Contact Parameters');
    if (name.length > s.limits.maxParamLength || (value !== null && value.length > s.limits.maxParamLength)) return refuse(400, 'Contact Parameter Too Long');
    if (params === NO_PARAMS) params = {};
    params[flat(name)] = value === null ? null : flat(value);
  }
  const instance = instanceOf(params['+sip.instance'], s.limits.maxParamLength);
  const regId = instance === undefined ? undefined : regIdOf(params['reg-id']);
  // RFC 5626 §6: outbound applies to a Contact with +sip.instance and reg-id from a UA that
  // supports outbound. Through proxies, the first hop (the last Path entry) must support it
  // too (its Path URI has `ob`), else 439.
  let outbound = false;
  if (regId !== undefined && ctx.supportsOutbound) {
    const edge = ctx.pathUris?.[ctx.pathUris.length - 1];
    if (edge !== undefined && !(uriOf(edge)?.params['ob'] !== undefined)) return refuse(439, 'First Hop Lacks Outbound Support');
    outbound = true;
  }
  const key = outbound ? `${instance};reg-id=${regId}` : instance !== undefined ? instance : contactKey(uri);
  const binding: Binding = {
    aor: plan.aor,
    key: flat(key),
    contact: flat(contactText),
    params,
    q: qValue(params['q']),
    expiresAt: expires === 0 ? ctx.now : ctx.now + expires * 1000,
    callId: plan.callId,
    cseq: plan.cseq,
    registeredAt: ctx.now,
    updatedAt: ctx.now,
    source: plan.source,
  };
  if (c.name !== undefined && c.name.length <= s.limits.maxParamLength) binding.name = flat(c.name);
  if (ctx.pathUris !== undefined) binding.path = ctx.pathUris;
  if (instance !== undefined) binding.instance = instance;
  if (outbound) binding.regId = regId;
  if (ctx.userAgent !== undefined) binding.userAgent = ctx.userAgent;
  // Reached over the connection the REGISTER came on: an outbound flow from the UA itself, a
  // WebSocket client, a `.invalid` Contact, a client behind NAT (only when no proxy is between:
  // with Path, the edge proxy reaches the UA).
  if (ctx.pathUris === undefined) {
    const viaFlow = needsFlow(uri, plan.source);
    const nat = !outbound && !viaFlow && isBehindNat(s.nat, uri, ctx.via, plan.source);
    if (outbound || nat || viaFlow) binding.flow = plan.source;
    if (nat) binding.nat = true;
  }
  if (outbound) plan.outbound = true;
  plan.bindings.push(binding);
  return undefined;
}

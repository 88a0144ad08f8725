// Request processing a proxy does before and while forwarding: RFC 3261 §16.3 (Max-Forwards,
// loop detection), §16.4 (Route information preprocessing, strict-router fix-up), §16.6 (copy,
// Max-Forwards, Record-Route, the loop-detection branch) and RFC 3327 (Path).
import * as crypto from 'node:crypto';
import type { RouteAddr, SipRequest, SipUri, Via } from '@sipts/message';

/** Host and port of a URI, read without a full parse (the hot path only needs these). */
export interface HostPort {
  host: string;
  port: number | undefined;
  secure: boolean;
}

const CC_AT = 0x40;
const CC_COLON = 0x3a;
const CC_SEMI = 0x3b;
const CC_QUESTION = 0x3f;
const CC_RBRACKET = 0x5d;
const CC_LBRACKET = 0x5b;

/**
 * Host and port of a `sip:`/`sips:` URI string or a parsed SipUri. Returns undefined for other
 * schemes or a URI without a host. A single pass over char codes, no regular expression.
 */
export function uriHostPort(uri: string | SipUri): HostPort | undefined {
  if (typeof uri !== 'string') {
    if (typeof uri !== 'object' || uri === null || typeof uri.host !== 'string') return undefined;
    const schema = (uri.schema ?? 'sip').toLowerCase();
    if (schema !== 'sip' && schema !== 'sips') return undefined;
    return { host: uri.host.toLowerCase(), port: uri.port === undefined ? undefined : +uri.port, secure: schema === 'sips' };
  }
  const colon = uri.indexOf(':');
  if (colon < 3) return undefined;
  const schema = uri.slice(0, colon).toLowerCase();
  if (schema !== 'sip' && schema !== 'sips') return undefined;
  const end = uri.length;
  // The userinfo ends at '@' if one appears before the parameters or headers.
  let start = colon + 1;
  for (let i = start; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (c === CC_AT) {
      start = i + 1;
      break;
    }
    if (c === CC_SEMI || c === CC_QUESTION) break;
  }
  let hostEnd = start;
  if (uri.charCodeAt(start) === CC_LBRACKET) {
    while (hostEnd < end && uri.charCodeAt(hostEnd) !== CC_RBRACKET) hostEnd++;
    if (hostEnd === end) return undefined;
    hostEnd++;
  } else {
    while (hostEnd < end) {
      const c = uri.charCodeAt(hostEnd);
      if (c === CC_COLON || c === CC_SEMI || c === CC_QUESTION) break;
      hostEnd++;
    }
  }
  if (hostEnd === start) return undefined;
  const host = uri.slice(start, hostEnd).toLowerCase();
  let port: number | undefined;
  if (uri.charCodeAt(hostEnd) === CC_COLON) {
    let value = 0;
    let digits = 0;
    for (let i = hostEnd + 1; i < end; i++) {
      const c = uri.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      value = value * 10 + c;
      if (++digits > 5) return undefined;
    }
    if (digits === 0) return undefined;
    port = value;
  }
  return { host, port, secure: schema === 'sips' };
}

/** The names and ports under which this proxy is reached (Route, Record-Route, Path, Via). */
export interface LocalIdentity {
  /** Lower-case host names and addresses (IPv6 with brackets) that mean "this proxy". */
  hosts: ReadonlySet<string>;
  /** Every port a transport of the stack listens on. */
  ports: ReadonlySet<number>;
}

/** Lower case, IPv6 in brackets: the form LocalIdentity keeps. */
export function normalHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** RFC 3261 §16.4: does this host and port name this proxy? A missing port means 5060 (5061 for sips). */
export function isLocalHostPort(hp: HostPort, local: LocalIdentity): boolean {
  if (!local.hosts.has(normalHost(hp.host))) return false;
  return local.ports.has(hp.port ?? (hp.secure ? 5061 : 5060));
}

/** A LocalIdentity from host names (any case, IPv6 with or without brackets) and ports. */
export function localIdentity(hosts: Iterable<string | undefined>, ports: Iterable<number>): LocalIdentity {
  const set = new Set<string>();
  for (const h of hosts) if (typeof h === 'string' && h !== '' && h !== '0.0.0.0' && h !== '::' && h !== '[::]') set.add(normalHost(h));
  return { hosts: set, ports: new Set(ports) };
}

export function isLocalUri(uri: string | SipUri, local: LocalIdentity): boolean {
  const hp = uriHostPort(uri);
  return hp !== undefined && isLocalHostPort(hp, local);
}

/** A flow (RFC 5626): the remote end of a connection or NAT binding and our end of it. */
export interface FlowAddress {
  protocol: string;
  address: string;
  port: number;
  local?: { address: string; port: number } | undefined;
}

/** RFC 5626 §5.3: the flow a token names is the one `remote` arrived on. */
export function isSameFlow(flow: FlowAddress, remote: FlowAddress): boolean {
  if (flow.port !== remote.port || flow.address !== remote.address) return false;
  if (flow.protocol.toUpperCase() !== remote.protocol.toUpperCase()) return false;
  const a = flow.local;
  const b = remote.local;
  // A token minted without our end (or a remote reported without it) matches on the peer alone.
  return a === undefined || b === undefined || a.port === 0 || b.port === 0 || (a.port === b.port && a.address === b.address);
}

/**
 * RFC 3261 §16.4, on receipt, before the application sees the request:
 * - a Request-URI that is a value this proxy placed into Record-Route means the previous hop
 *   was a strict router: the real Request-URI is the last Route value, which is removed;
 * - every Route entry on top that names this proxy is removed: with double Record-Routing
 *   (RFC 5658) a request comes back with two of ours, one per side;
 * - RFC 5626 §5.3: an entry of ours with a flow token is removed when the request arrived on
 *   that very flow (it comes from the client the token names); a flow token naming another
 *   flow stays on top, rewritten to the stack's own form of it (`canonical`), so that the stack
 *   sends the request over that connection.
 * Returns true when a removed entry of ours carried `ob` (RFC 5626 §5.3: the request came from
 * an outbound client through its first hop).
 */
export function preprocessRoute(
  rq: SipRequest,
  local: LocalIdentity,
  flowOf: (uri: SipUri) => FlowAddress | undefined,
  canonical: (uri: SipUri) => SipUri,
  arrival: FlowAddress,
): boolean {
  const route = rq.headers.route;
  if (route !== undefined && route.length > 0 && isLocalUri(rq.uri, local)) {
    const last = route[route.length - 1];
    if (last !== undefined) {
      rq.uri = last.uri;
      rq.headers.route = route.slice(0, -1);
    }
  }
  const current = rq.headers.route;
  if (current === undefined || current.length === 0) return false;
  let ob = false;
  let removed = 0;
  let kept: RouteAddr | undefined;
  for (; removed < current.length; removed++) {
    const top = current[removed] as RouteAddr;
    const uri = top.uri;
    if (typeof uri !== 'object' || uri === null || typeof uri.host !== 'string' || !local.hosts.has(normalHost(uri.host))) break;
    const ourPort = uri.port === undefined || local.ports.has(uri.port);
    const flow = ourPort && uri.user !== undefined && uri.user !== '' ? flowOf(uri) : undefined;
    if (flow !== undefined) {
      if (!isSameFlow(flow, arrival)) {
        kept = { ...top, uri: canonical(uri) };
        break;
      }
    } else if (!isLocalHostPort({ host: uri.host, port: uri.port, secure: uri.schema.toLowerCase() === 'sips' }, local)) {
      break;
    }
    if (uri.params['ob'] !== undefined) ob = true;
  }
  if (kept !== undefined) {
    const rest = current.slice(removed);
    rest[0] = kept;
    rq.headers.route = rest;
  } else if (removed > 0) {
    rq.headers.route = current.slice(removed);
  }
  return ob;
}

const CC_EQUALS = 0x3d;

/** Where the parameters of a `sip:` URI string start (its first ';' after the host), or -1. */
function paramsStart(uri: string): number {
  const end = uri.length;
  let start = uri.indexOf(':') + 1;
  for (let i = start; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (c === CC_AT) {
      start = i + 1;
      break;
    }
    if (c === CC_QUESTION) return -1;
  }
  let i = start;
  if (uri.charCodeAt(i) === CC_LBRACKET) while (i < end && uri.charCodeAt(i) !== CC_RBRACKET) i++;
  for (; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (c === CC_SEMI) return i;
    if (c === CC_QUESTION) return -1;
  }
  return -1;
}

/**
 * A URI parameter (name in lower case): its value, null for a flag, undefined when absent. A
 * single pass over char codes for a string; a parsed URI's params are read as they are.
 */
export function uriParam(uri: string | SipUri, name: string): string | null | undefined {
  if (typeof uri !== 'string') {
    const v = typeof uri === 'object' && uri !== null ? uri.params?.[name] : undefined;
    return v === undefined ? undefined : v === '' ? null : v;
  }
  let at = paramsStart(uri);
  const end = uri.length;
  while (at >= 0 && at < end) {
    const nameStart = at + 1;
    let i = nameStart;
    let equals = -1;
    for (; i < end; i++) {
      const c = uri.charCodeAt(i);
      if (c === CC_SEMI || c === CC_QUESTION) break;
      if (c === CC_EQUALS && equals < 0) equals = i;
    }
    const nameEnd = equals < 0 ? i : equals;
    if (nameEnd - nameStart === name.length && uri.slice(nameStart, nameEnd).toLowerCase() === name) {
      return equals < 0 || equals + 1 === i ? null : uri.slice(equals + 1, i);
    }
    if (i >= end || uri.charCodeAt(i) === CC_QUESTION) break;
    at = i;
  }
  return undefined;
}

/**
 * The transport a URI asks for (RFC 3261 §19.1.1 `transport`, RFC 7118 `ws`, `sips:` meaning
 * TLS, or WSS with `transport=ws`), upper case; undefined when it names none (RFC 3263 picks).
 */
export function uriTransport(uri: string | SipUri): string | undefined {
  const t = uriParam(uri, 'transport');
  const schema = typeof uri === 'string' ? uri.slice(0, 5).toLowerCase() : `${(uri.schema ?? 'sip').toLowerCase()}:`;
  const secure = schema === 'sips:';
  if (typeof t !== 'string' || t === '') return secure ? 'TLS' : undefined;
  const upper = t.toUpperCase();
  if (secure && (upper === 'TCP' || upper === 'TLS')) return 'TLS';
  if (secure && (upper === 'WS' || upper === 'WSS')) return 'WSS';
  return upper;
}

/**
 * RFC 3261 §16.6 step 3: the Max-Forwards the forwarded copy carries, or -1 when the request
 * must not be forwarded (§16.3 step 3: a request arriving with Max-Forwards 0 gets 483).
 * An absent or unreadable value means the default (70, §8.1.1.6), which is then decremented.
 */
export function nextMaxForwards(rq: SipRequest, defaultValue: number): number {
  const raw = rq.headers['max-forwards'];
  if (raw === undefined || raw === null || raw === '') return defaultValue;
  const value = typeof raw === 'number' ? raw : parseInt(String(raw), 10);
  if (!Number.isFinite(value) || value < 0) return defaultValue;
  return value > 0 ? value - 1 : -1;
}

/**
 * A Record-Route or Path entry naming this proxy, with `lr` (RFC 3261 §16.6 step 4, RFC 3327):
 * `transport=` unless UDP and, as @sipts/core's `localUri`, `sips:` for TLS (`transport=tcp`)
 * and WSS (`transport=ws`); `user` is a flow token (RFC 5626 §5.3) when given.
 */
export function localRouteEntry(host: string, port: number, transport?: string, user?: string): RouteAddr {
  const params: Record<string, string | null> = {};
  const protocol = transport === undefined ? 'UDP' : transport.toUpperCase();
  const secure = protocol === 'TLS' || protocol === 'WSS';
  if (protocol !== 'UDP') params['transport'] = protocol === 'TLS' ? 'tcp' : protocol === 'WSS' ? 'ws' : protocol.toLowerCase();
  params['lr'] = null;
  const uri: SipUri = { schema: secure ? 'sips' : 'sip', host, port, params, headers: {} };
  if (user !== undefined) uri.user = user;
  return { uri, params: {} };
}

const LOOP_SEPARATOR = '\n';

function routeText(route: RouteAddr[] | undefined): string {
  if (route === undefined) return '';
  let s = '';
  for (const r of route) {
    const u = r.uri;
    s += `${u.schema}:${u.user ?? ''}@${u.host}:${u.port ?? ''};`;
  }
  return s;
}

// crypto.hash (Node 20.12+, 21.7+) hashes in one call without a Hash object; older 20.x lines
// fall back to createHash.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;
function sha1Base64url(text: string): string {
  return oneShotHash !== undefined ? oneShotHash('sha1', text, 'base64url') : crypto.createHash('sha1').update(text).digest('base64url');
}

/**
 * RFC 3261 §16.6 step 8: the part of the branch that changes when a request is forwarded again
 * in a different way (a spiral) and stays the same when it comes back unchanged (a loop): a hash
 * over the Request-URI, From tag, To tag, Call-ID, CSeq number, Route, Proxy-Require and
 * Proxy-Authorization, as they arrived.
 */
export function loopHash(rq: SipRequest): string {
  const h = rq.headers;
  const uri = typeof rq.uri === 'string' ? rq.uri : `${rq.uri.schema}:${rq.uri.user ?? ''}@${rq.uri.host}:${rq.uri.port ?? ''}`;
  const text =
    uri +
    LOOP_SEPARATOR +
    String(h.from?.params['tag'] ?? '') +
    LOOP_SEPARATOR +
    String(h.to?.params['tag'] ?? '') +
    LOOP_SEPARATOR +
    String(h['call-id'] ?? '') +
    LOOP_SEPARATOR +
    String(h.cseq?.seq ?? '') +
    LOOP_SEPARATOR +
    routeText(h.route) +
    LOOP_SEPARATOR +
    String(h['proxy-require'] ?? '') +
    LOOP_SEPARATOR +
    (h['proxy-authorization'] === undefined ? '' : JSON.stringify(h['proxy-authorization']));
  return sha1Base64url(text).slice(0, 16);
}

/**
 * RFC 3261 §16.3 step 4: the request carries a Via this proxy inserted (sent-by is ours). Returns
 * the Via that was on top when we received the request that time (the one just below ours),
 * so the caller can find that request's context and compare loop hashes; undefined otherwise.
 */
export function viaBelowOurs(rq: SipRequest, local: LocalIdentity): Via | undefined {
  const vias = rq.headers.via;
  if (vias === undefined) return undefined;
  // Any Via may be ours, the top one too (we may be the previous hop, forwarding to ourselves).
  for (let i = 0; i < vias.length - 1; i++) {
    const via = vias[i] as Via;
    if (!local.hosts.has(normalHost(via.host))) continue;
    if (!local.ports.has(via.port ?? (via.protocol.toUpperCase() === 'TLS' ? 5061 : 5060))) continue;
    return vias[i + 1];
  }
  return undefined;
}

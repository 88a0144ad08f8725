// Hand-written scanners for the headers parsed eagerly (RFC 3261 §25.1 grammar), over char
// codes, linear in the input (no regex, no backtracking). They share two module variables:
// `pos`, the scan position each scanner leaves behind, and `base`/`header`, which only decorate
// errors. JavaScript is single-threaded and no scanner calls out, so this is safe and avoids
// allocating a cursor per header.
import {
  BACKSLASH,
  COMMA,
  DQUOTE,
  EQUAL,
  HOST,
  HT,
  LAQUOT,
  PARAM_VALUE,
  RAQUOT,
  SEMI,
  SLASH,
  SP,
  TOKEN,
} from './chars.js';
import { SipParseError } from './errors.js';
import { parseUri, formatHost, stringifyParams, stringifyUri, schemeLength } from './uri.js';
import type { AuthHeader, AuthInfo, CSeq, NameAddr, Params, RouteAddr, Via } from './types.js';

let pos = 0;
let base = 0;
let header = '';

/** Sets what errors report: the header name and the offset of the value in the message. */
export function setErrorContext(name: string, offset: number): void {
  header = name;
  base = offset;
}

function fail(message: string, at: number): never {
  throw new SipParseError('ERR_HEADER_VALUE', `${header || 'header'}: ${message}`, base + at, header || undefined);
}

function skipWs(s: string, p: number, end: number): number {
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c !== SP && c !== HT) break;
    p++;
  }
  return p;
}

function scanToken(s: string, p: number, end: number): number {
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c >= 128 || TOKEN[c] !== 1) break;
    p++;
  }
  return p;
}

/** Index just past the quoted-string starting at `p` (which holds the opening quote). */
function scanQuoted(s: string, p: number, end: number): number {
  p++;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c === DQUOTE) return p + 1;
    // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
    if (c === BACKSLASH) p++;
    p++;
  }
  return fail('unterminated quoted string', end);
}

/**
 * `*( SEMI generic-param )` from `p`; names lower-cased as `sip` does, flags are null.
 * Leaves `pos` after the last parameter (trailing whitespace consumed).
 */
function scanParams(s: string, p: number, end: number, params: Params): void {
  for (;;) {
    p = skipWs(s, p, end);
    if (p >= end || s.charCodeAt(p) !== SEMI) break;
    p = skipWs(s, p + 1, end);
    const nameStart = p;
    let upper = false;
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c >= 128 || TOKEN[c] !== 1) break;
      if (c >= 65 && c <= 90) upper = true;
      p++;
    }
    if (p === nameStart) fail('empty parameter', p);
    const name = upper ? s.slice(nameStart, p).toLowerCase() : s.slice(nameStart, p);
    p = skipWs(s, p, end);
    let value: string | null = null;
    if (p < end && s.charCodeAt(p) === EQUAL) {
      p = skipWs(s, p + 1, end);
      const valueStart = p;
      if (p < end && s.charCodeAt(p) === DQUOTE) {
        p = scanQuoted(s, p, end);
      } else {
        while (p < end) {
          const c = s.charCodeAt(p);
          if (c >= 128 || PARAM_VALUE[c] !== 1) break;
          p++;
        }
      }
      if (p === valueStart) fail('empty parameter value', p);
      value = s.slice(valueStart, p);
    }
    params[name] = value;
  }
  pos = p;
}

// ---- Via (RFC 3261 §20.42) ----

function scanVia(s: string, p: number, end: number): Via {
  p = skipWs(s, p, end);
  let q = scanToken(s, p, end);
  if (q - p !== 3 || (s.charCodeAt(p) | 32) !== 115 || (s.charCodeAt(p + 1) | 32) !== 105 || (s.charCodeAt(p + 2) | 32) !== 112) {
    fail('expected SIP/2.0/transport', p);
  }
  p = skipWs(s, q, end);
  if (s.charCodeAt(p) !== SLASH) fail('expected "/"', p);
  p = skipWs(s, p + 1, end);
  q = scanToken(s, p, end);
  if (q === p) fail('expected protocol version', p);
  const version = s.slice(p, q);
  p = skipWs(s, q, end);
  if (s.charCodeAt(p) !== SLASH) fail('expected "/"', p);
  p = skipWs(s, p + 1, end);
  q = scanToken(s, p, end);
  if (q === p) fail('expected transport', p);
  const protocol = s.slice(p, q);
  p = skipWs(s, q, end);
  if (p === q) fail('expected whitespace before sent-by', p);
  const hostStart = p;
  if (s.charCodeAt(p) === 91) {
    while (p < end && s.charCodeAt(p) !== 93) {
      const c = s.charCodeAt(p);
      if (c !== 91 && c !== 58 && c !== 46 && !((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102))) {
        fail('bad IPv6 reference', p);
      }
      p++;
    }
    if (p >= end) fail('unterminated IPv6 reference', p);
    p++;
  } else {
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c >= 128 || HOST[c] !== 1) break;
      p++;
    }
  }
  if (p === hostStart) fail('expected sent-by host', p);
  const host = s.slice(hostStart, p);
  let port: number | undefined;
  p = skipWs(s, p, end);
  if (p < end && s.charCodeAt(p) === 58) {
    p = skipWs(s, p + 1, end);
    const portStart = p;
    let n = 0;
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      p++;
    }
    if (p === portStart || p - portStart > 5 || n > 65535) fail('bad port', portStart);
    port = n;
  }
  const params: Params = {};
  scanParams(s, p, end, params);
  return { version, protocol, host, port, params };
}

/** Appends the Via values of one header field value to `out`. */
export function scanViaList(s: string, start: number, end: number, out: Via[]): void {
  let p = start;
  for (;;) {
    out.push(scanVia(s, p, end));
    p = pos;
    if (p >= end) return;
    if (s.charCodeAt(p) !== COMMA) fail('unexpected character', p);
    p++;
  }
}

// ---- name-addr / addr-spec (From, To, Contact, Route, Record-Route, Path, Refer-To) ----

function scanNameAddr(s: string, p: number, end: number, inList: boolean): NameAddr {
  p = skipWs(s, p, end);
  let name: string | undefined;
  let uri: string;
  const c0 = s.charCodeAt(p);
  if (c0 === DQUOTE) {
    // The display name keeps its quotes, as in `sip`; stringify writes it back unchanged.
    const q = scanQuoted(s, p, end);
    name = s.slice(p, q);
    p = skipWs(s, q, end);
    if (s.charCodeAt(p) !== LAQUOT) fail('expected "<" after display name', p);
  } else if (c0 !== LAQUOT) {
    // *(token LWS) "<"  or an addr-spec ("scheme:..."). UTF-8 in an unquoted display name is
    // outside the grammar but common; it is accepted (and quoted again by stringify).
    let q = p;
    let last = p;
    let sawSpace = false;
    while (q < end) {
      const c = s.charCodeAt(q);
      if (c >= 128 || TOKEN[c] === 1) {
        q++;
        last = q;
      } else if (c === SP || c === HT) {
        sawSpace = true;
        q++;
      } else break;
    }
    const c = s.charCodeAt(q);
    if (q < end && c === LAQUOT) {
      name = last > p ? s.slice(p, last) : undefined;
      p = q;
    } else if (q < end && c === 58 && !sawSpace && q > p) {
      // addr-spec: RFC 3261 §20 says a URI with ";", "," or "?" needs <>, so ";" and ","
      // end it here (then come header parameters); "?" is kept liberally (RFC 4475 §3.1.2.13).
      const uriStart = p;
      const colon = q;
      q++;
      while (q < end) {
        const ch = s.charCodeAt(q);
        if (ch === SEMI || ch === SP || ch === HT || (inList && ch === COMMA)) break;
        if (ch === LAQUOT || ch === RAQUOT || ch === DQUOTE || ch < 0x20 || ch === 0x7f) fail('bad character in URI', q);
        q++;
      }
      uri = s.slice(uriStart, q);
      if (q === colon + 1 || schemeLength(uri) === 0) fail('bad URI', uriStart);
      const params: Params = {};
      scanParams(s, q, end, params);
      return { name: undefined, uri, params };
    } else {
      return fail('expected name-addr or addr-spec', q);
    }
  }
  // "<" addr-spec ">" ; spaces inside the brackets are tolerated (RFC 4475 §3.1.2.14).
  p = skipWs(s, p + 1, end);
  const uriStart = p;
  while (p < end) {
    const ch = s.charCodeAt(p);
    if (ch === RAQUOT) break;
    if (ch === LAQUOT || ch === DQUOTE || ch < 0x20 || ch === 0x7f) fail('bad character in URI', p);
    p++;
  }
  if (p >= end) fail('missing ">"', p);
  let uriEnd = p;
  while (uriEnd > uriStart && (s.charCodeAt(uriEnd - 1) === SP || s.charCodeAt(uriEnd - 1) === HT)) uriEnd--;
  uri = s.slice(uriStart, uriEnd);
  if (schemeLength(uri) === 0 || uri.indexOf(' ') >= 0 || uri.indexOf('\t') >= 0) fail('bad URI', uriStart);
  const params: Params = {};
  scanParams(s, p + 1, end, params);
  return { name, uri, params };
}

/** One name-addr filling the whole value (From, To, Refer-To). */
export function scanSingleNameAddr(s: string, start: number, end: number): NameAddr {
  const v = scanNameAddr(s, start, end, false);
  if (pos < end) fail('unexpected character', pos);
  return v;
}

export function scanNameAddrList(s: string, start: number, end: number, out: NameAddr[]): void {
  let p = start;
  for (;;) {
    out.push(scanNameAddr(s, p, end, true));
    p = pos;
    if (p >= end) return;
    if (s.charCodeAt(p) !== COMMA) fail('unexpected character', p);
    p++;
  }
}

export function scanRouteList(s: string, start: number, end: number, out: RouteAddr[]): void {
  let p = start;
  for (;;) {
    const at = p;
    const v = scanNameAddr(s, p, end, true);
    const uri = parseUri(v.uri);
    if (uri === undefined) fail('bad URI', at);
    out.push({ name: v.name, uri, params: v.params });
    p = pos;
    if (p >= end) return;
    if (s.charCodeAt(p) !== COMMA) fail('unexpected character', p);
    p++;
  }
}

// ---- CSeq (RFC 3261 §20.16) ----

export function scanCSeq(s: string, start: number, end: number): CSeq {
  let p = skipWs(s, start, end);
  const digitsStart = p;
  let seq = 0;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    p++;
  }
  // RFC 3261 §8.1.1.5: the sequence number is a 32-bit unsigned integer.
  if (p === digitsStart || seq > 0xffffffff) fail('bad sequence number', digitsStart);
  const q = skipWs(s, p, end);
  if (q === p) fail('expected method', q);
  p = scanToken(s, q, end);
  if (p === q || skipWs(s, p, end) !== end) fail('bad method', q);
  return { seq, method: s.slice(q, p) };
}

// ---- Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, RFC 7616) ----

function scanAuthParam(s: string, p: number, end: number, into: Record<string, string>): number {
  const nameStart = p;
  p = scanToken(s, p, end);
  if (p === nameStart) fail('expected auth-param', p);
  const name = s.slice(nameStart, p);
  p = skipWs(s, p, end);
  if (s.charCodeAt(p) !== EQUAL) fail('expected "="', p);
  p = skipWs(s, p + 1, end);
  const valueStart = p;
  if (s.charCodeAt(p) === DQUOTE) {
    p = scanQuoted(s, p, end);
  } else {
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c >= 128 || PARAM_VALUE[c] !== 1) break;
      p++;
    }
    // token68-style trailing "=" padding (base64) is kept with the value
    while (p < end && s.charCodeAt(p) === EQUAL) p++;
  }
  if (p === valueStart) fail('empty auth-param value', p);
  into[name] = s.slice(valueStart, p);
  return skipWs(s, p, end);
}

/** One challenge or credentials: scheme, then comma-separated params (kept as on the wire). */
function scanAuth(s: string, p: number, end: number): AuthHeader {
  p = skipWs(s, p, end);
  const schemeStart = p;
  p = scanToken(s, p, end);
  if (p === schemeStart) fail('expected auth scheme', p);
  const auth: AuthHeader = { scheme: s.slice(schemeStart, p) };
  const q = skipWs(s, p, end);
  if (q >= end) {
    pos = q;
    return auth;
  }
  if (q === p) fail('expected whitespace after scheme', q);
  p = scanAuthParam(s, q, end, auth);
  while (p < end && s.charCodeAt(p) === COMMA) {
    // A comma starts either the next param or the next challenge ("token SP token").
    const next = skipWs(s, p + 1, end);
    const t = scanToken(s, next, end);
    if (skipWs(s, t, end) < end && s.charCodeAt(skipWs(s, t, end)) !== EQUAL) break;
    p = scanAuthParam(s, next, end, auth);
  }
  pos = p;
  return auth;
}

export function scanAuthList(s: string, start: number, end: number, out: AuthHeader[]): void {
  let p = start;
  for (;;) {
    out.push(scanAuth(s, p, end));
    p = pos;
    if (p >= end) return;
    if (s.charCodeAt(p) !== COMMA) fail('unexpected character', p);
    p++;
  }
}

export function scanAuthInfo(s: string, start: number, end: number): AuthInfo {
  const info: AuthInfo = {};
  let p = skipWs(s, start, end);
  p = scanAuthParam(s, p, end, info);
  while (p < end) {
    if (s.charCodeAt(p) !== COMMA) fail('unexpected character', p);
    p = scanAuthParam(s, skipWs(s, p + 1, end), end, info);
  }
  return info;
}

// ---- Public helpers: a header field value in, the parsed shape out ----

function run<T>(name: string, value: string, scan: (s: string, start: number, end: number) => T): T {
  setErrorContext(name, 0);
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === SP || value.charCodeAt(end - 1) === HT)) end--;
  return scan(value, 0, end);
}

/** Parses a Via header field value (one or more comma-separated values). */
export function parseVia(value: string): Via[] {
  return run('via', value, (s, a, b) => {
    const out: Via[] = [];
    scanViaList(s, a, b, out);
    return out;
  });
}

/** Parses one name-addr or addr-spec with its parameters (From, To, Refer-To). */
export function parseNameAddr(value: string): NameAddr {
  return run('from', value, scanSingleNameAddr);
}

/** Parses a Contact value: `*` or a comma-separated list of name-addrs. */
export function parseContact(value: string): '*' | NameAddr[] {
  return run('contact', value, (s, a, b) => {
    const p = skipWs(s, a, b);
    if (b - p === 1 && s.charCodeAt(p) === 42) return '*';
    const out: NameAddr[] = [];
    scanNameAddrList(s, a, b, out);
    return out;
  });
}

/** Parses a Route, Record-Route or Path value; each URI is parsed with parseUri. */
export function parseRoute(value: string): RouteAddr[] {
  return run('route', value, (s, a, b) => {
    const out: RouteAddr[] = [];
    scanRouteList(s, a, b, out);
    return out;
  });
}

export function parseCSeq(value: string): CSeq {
  return run('cseq', value, scanCSeq);
}

/** Parses exactly one challenge or credentials value. */
export function parseAuthHeader(value: string): AuthHeader {
  return run('authorization', value, (s, a, b) => {
    const v = scanAuth(s, a, b);
    if (pos < b) fail('more than one challenge; use parseAuthHeaders', pos);
    return v;
  });
}

/** Parses a WWW-/Proxy-Authenticate or (Proxy-)Authorization value holding several values. */
export function parseAuthHeaders(value: string): AuthHeader[] {
  return run('authorization', value, (s, a, b) => {
    const out: AuthHeader[] = [];
    scanAuthList(s, a, b, out);
    return out;
  });
}

export function parseAuthenticationInfo(value: string): AuthInfo {
  return run('authentication-info', value, scanAuthInfo);
}

// ---- Stringifiers (value only, without the header name) ----

export function stringifyVia(via: Via): string {
  return (
    'SIP/' +
    (via.version || '2.0') +
    '/' +
    via.protocol.toUpperCase() +
    ' ' +
    formatHost(via.host) +
    (typeof via.port === 'number' && via.port > 0 ? ':' + via.port : '') +
    stringifyParams(via.params)
  );
}

/** True when a display name can go out unquoted: tokens separated by single spaces. */
function isPlainDisplayName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === SP) continue;
    if (c >= 128 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** Quotes a display name for the wire (RFC 3261 §25.1 quoted-string). */
export function quoteDisplayName(name: string): string {
  let s = '"';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    s += ch === '"' || ch === '\\' ? '\\' + ch : ch;
  }
  return s + '"';
}

export function stringifyNameAddr(na: NameAddr): string {
  const uri = '<' + stringifyUri(na.uri) + '>' + stringifyParams(na.params);
  const name = na.name;
  if (name === undefined || name === null || name === '') return uri;
  if (name.charCodeAt(0) === DQUOTE && name.length > 1 && name.charCodeAt(name.length - 1) === DQUOTE) {
    return name + ' ' + uri;
  }
  return (isPlainDisplayName(name) ? name : quoteDisplayName(name)) + ' ' + uri;
}

export function stringifyCSeq(cseq: CSeq): string {
  return cseq.seq + ' ' + cseq.method;
}

/** Scheme followed by `name=value` pairs as stored (quoted values keep their quotes). */
export function stringifyAuthHeader(a: AuthHeader | AuthInfo): string {
  let s = '';
  let sep = '';
  for (const name in a) {
    if (name === 'scheme') continue;
    const v = a[name];
    if (v === undefined) continue;
    s += sep + name + '=' + v;
    sep = ', ';
  }
  const scheme = (a as { scheme?: string }).scheme;
  return scheme ? (s ? scheme + ' ' + s : scheme) : s;
}

// Public helpers for single header values, in both directions. Parsing goes through the same
// byte scanners as parse() (scan.ts); the value is turned into codes first.
import * as chars from './chars.js';
import { SipParseError } from './errors.js';
import * as scan from './scan.js';
import * as uriModule from './uri.js';
import type { AuthHeader, AuthInfo, CSeq, NameAddr, RouteAddr, SipHeaders, Via } from './types.js';

const TOKEN = chars.TOKEN;
const formatHost = uriModule.formatHost;
const stringifyParams = uriModule.stringifyParams;
const stringifyUri = uriModule.stringifyUri;
const SP = 32;
const DQUOTE = 34;

function prepare(name: string, value: string): Uint8Array {
  if (typeof value !== 'string') throw new SipParseError('ERR_HEADER_VALUE', `${name}: not a string`, 0, name);
  scan.setContext(0, name);
  return scan.codesOf(value);
}

/** Parses a Via header field value (one or more comma-separated values). */
export function parseVia(value: string): Via[] {
  const out: Via[] = [];
  scan.scanViaList(prepare('via', value), value, 0, out);
  return out;
}

/** Parses one name-addr or addr-spec with its parameters (From, To, Refer-To). */
export function parseNameAddr(value: string): NameAddr {
  return scan.scanNameAddrValue(prepare('from', value), value);
}

/** Parses a Contact value: `*` or a comma-separated list of name-addrs. */
export function parseContact(value: string): '*' | NameAddr[] {
  if (typeof value === 'string' && value.trim() === '*') return '*';
  const out: NameAddr[] = [];
  scan.scanNameAddrList(prepare('contact', value), value, 0, out);
  return out;
}

/** Parses a Route, Record-Route or Path value; each URI is parsed as parseUri does. */
export function parseRoute(value: string): RouteAddr[] {
  const out: RouteAddr[] = [];
  scan.scanRouteList(prepare('route', value), value, 0, out);
  return out;
}

export function parseCSeq(value: string): CSeq {
  const headers: SipHeaders = {};
  scan.scanCSeq(prepare('cseq', value), value, 0, headers);
  return headers.cseq as CSeq;
}

/** Parses exactly one challenge or credentials value. */
export function parseAuthHeader(value: string): AuthHeader {
  return scan.scanAuthValue(prepare('authorization', value), value);
}

/** Parses a WWW-/Proxy-Authenticate or (Proxy-)Authorization value holding several values. */
export function parseAuthHeaders(value: string): AuthHeader[] {
  const out: AuthHeader[] = [];
  scan.scanAuthList(prepare('authorization', value), value, 0, out);
  return out;
}

export function parseAuthenticationInfo(value: string): AuthInfo {
  const info: AuthInfo = {};
  scan.scanAuthInfo(prepare('authentication-info', value), value, 0, info);
  return info;
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
    (Number.isInteger(via.port) ? ':' + via.port : '') +
    stringifyParams(via.params)
  );
}

/** True when a display name can go out unquoted: tokens separated by single spaces. */
function isPlainDisplayName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === SP || c === 9) continue;
    if (c >= 128 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** Quotes a display name for the wire (RFC 3261 §25.1 quoted-string). */
export function quoteDisplayName(name: string): string {
  return scan.quote(name);
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

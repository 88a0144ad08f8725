// parse(): bytes (or a string) in, a SipRequest / SipResponse out, or a SipParseError.
// The header section is decoded as UTF-8 and scanned on its bytes (scan.ts), header names are
// looked up in tables and dispatched on integer ids, the body is cut by Content-Length in
// bytes and then decoded (RFC 3261 §7.4.1, §7.5, §18.3, §20.14).
import { Buffer, isAscii } from 'node:buffer';
import * as chars from './chars.js';
import { SipParseError } from './errors.js';
import * as names from './names.js';
import { badSipHostPort, isSipScheme } from './request-uri.js';
import * as scan from './scan.js';
import type { AuthHeader, NameAddr, RouteAddr, SipHeaders, SipMessage, SipRequest, SipResponse, Via } from './types.js';

// Hot-path bindings copied into module constants: a CJS transform (ts-jest, tsx) turns
// imported bindings into getters.
const TOKEN = chars.TOKEN;
const scanAuthInfo = scan.scanAuthInfo;
const scanAuthList = scan.scanAuthList;
const scanCallId = scan.scanCallId;
const scanCSeq = scan.scanCSeq;
const scanNameAddrList = scan.scanNameAddrList;
const scanNumber = scan.scanNumber;
const scanPos = scan.scanPos;
const scanRaw = scan.scanRaw;
const scanRouteList = scan.scanRouteList;
const scanSingleNameAddr = scan.scanSingleNameAddr;
const scanViaList = scan.scanViaList;
const schemeAt = scan.schemeAt;
const methodAt = scan.methodAt;
const codesOf = scan.codesOf;
const setContext = scan.setContext;
const setHeader = scan.setHeader;
const headerIdAt = names.headerIdAt;
const wireHeaderAt = names.wireHeaderAt;
const HEADER_NAMES = names.HEADER_NAMES;

// Dispatch on header ids (integers), not names: a switch over strings compares them one by
// one. The case labels are literals (a jump table); these constants name them and are checked
// against names.ts when the module loads.
const ID_VIA = 0;
const ID_FROM = 1;
const ID_TO = 2;
const ID_REFER_TO = 21;
const ID_CALL_ID = 3;
const ID_CSEQ = 4;
const ID_CONTACT = 5;
const ID_ROUTE = 6;
const ID_RECORD_ROUTE = 7;
const ID_PATH = 8;
const ID_CONTENT_LENGTH = 9;
const ID_MAX_FORWARDS = 14;
const ID_WWW_AUTHENTICATE = 15;
const ID_PROXY_AUTHENTICATE = 16;
const ID_AUTHORIZATION = 17;
const ID_PROXY_AUTHORIZATION = 18;
const ID_AUTHENTICATION_INFO = 19;
const ID_PROXY_AUTHENTICATION_INFO = 20;
const ID_CONTENT_TYPE = 10;
const ID_SUBJECT = 23;
const ID_USER_AGENT = 30;
const ID_ALLOW = 25;
const ID_SUPPORTED = 24;
const ID_EXPIRES = 28;
for (const [name, id] of Object.entries({ 'via': ID_VIA, 'from': ID_FROM, 'to': ID_TO, 'refer-to': ID_REFER_TO, 'call-id': ID_CALL_ID, 'cseq': ID_CSEQ, 'contact': ID_CONTACT, 'route': ID_ROUTE, 'record-route': ID_RECORD_ROUTE, 'path': ID_PATH, 'content-length': ID_CONTENT_LENGTH, 'max-forwards': ID_MAX_FORWARDS, 'www-authenticate': ID_WWW_AUTHENTICATE, 'proxy-authenticate': ID_PROXY_AUTHENTICATE, 'authorization': ID_AUTHORIZATION, 'proxy-authorization': ID_PROXY_AUTHORIZATION, 'authentication-info': ID_AUTHENTICATION_INFO, 'proxy-authentication-info': ID_PROXY_AUTHENTICATION_INFO, 'content-type': ID_CONTENT_TYPE, 'subject': ID_SUBJECT, 'user-agent': ID_USER_AGENT, 'allow': ID_ALLOW, 'supported': ID_SUPPORTED, 'expires': ID_EXPIRES })) {
  if (names.headerId(name) !== id) throw new Error(`@sipts/message: header id table out of date (${name})`);
}
const HT = 9;
const LF = 10;
const CR = 13;
const SP = 32;

/** Limits shared by parse() and StreamFramer (defaults as in `sip`). */
export interface ParseOptions {
  /** Largest header section (start line to the empty line, in bytes). Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for maxHeaderBytes; read when maxHeaderBytes is not set. */
  maxBytesHeaders?: number | undefined;
  /** Largest body in bytes. Default 604800. */
  maxContentLength?: number | undefined;
}

export const DEFAULT_MAX_HEADER_BYTES = 60480;
export const DEFAULT_MAX_CONTENT_LENGTH = 604800;

export function headerLimit(options: ParseOptions | undefined): number {
  return options?.maxHeaderBytes ?? options?.maxBytesHeaders ?? DEFAULT_MAX_HEADER_BYTES;
}
export function contentLimit(options: ParseOptions | undefined): number {
  return options?.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

export function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** The Content-Length found by the last parseHead() call, -1 when there was none. */
export let headContentLength = -1;
/** Where the last parseHead() call found the empty line (its CR), -1 when it stopped at `len`. */
let headEmptyLine = -1;

function headerError(code: 'ERR_HEADER_SYNTAX' | 'ERR_DUPLICATE_HEADER' | 'ERR_CONTENT_LENGTH', message: string, offset: number, name?: string): never {
  throw new SipParseError(code, message, offset, name);
}

function startLineError(message: string, offset: number): never {
  throw new SipParseError('ERR_START_LINE', message, offset);
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT at p; returns the index after it or -1. */
function versionEnd(b: Uint8Array, p: number): number {
  if (((b[p] as number) | 0x20) !== 115 || ((b[p + 1] as number) | 0x20) !== 105 || ((b[p + 2] as number) | 0x20) !== 112 || b[p + 3] !== 47) {
    return -1;
  }
  p += 4;
  const major = p;
  while ((b[p] as number) >= 48 && (b[p] as number) <= 57) p++;
  if (p === major || b[p] !== 46) return -1;
  const minor = ++p;
  while ((b[p] as number) >= 48 && (b[p] as number) <= 57) p++;
  return p === minor ? -1 : p;
}

function versionString(b: Uint8Array, s: string, start: number, end: number): string {
  return end - start === 3 && b[start] === 50 && b[start + 1] === 46 && b[start + 2] === 48 ? '2.0' : s.slice(start, end);
}

/** Request-URI codes: 1 ends it (SP, CR), 2 is never in a URI (CTLs, DEL, "<", ">", DQUOTE). */
const REQUEST_URI = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) t[c] = 2;
  t[0x7f] = 2;
  t[60] = 2;
  t[62] = 2;
  t[34] = 2;
  t[SP] = 1;
  t[CR] = 1;
  return t;
})();

/** Where the last parseStartLine() call found the CR ending the start line. */
let startLineEnd = -1;

/**
 * Fails the start line [start, ...) that parseStartLine refused. A bare CR or LF before the
 * first CRLF is reported first, whatever else is wrong (it means the line was cut wrongly).
 */
function startLineFail(b: Uint8Array, s: string, start: number, len: number, offset: number, message: string, at: number): never {
  let cr = s.indexOf('\r', start);
  const lf = s.indexOf('\n', start);
  if (lf >= 0 && (cr < 0 || lf < cr)) cr = lf;
  if (b[cr] !== CR || b[cr + 1] !== LF || cr >= len) startLineError('bare CR or LF in the start line', offset + cr);
  return startLineError(message, at);
}

/**
 * Parses the start line from `start` into a fresh message object and leaves the index of its
 * CR in startLineEnd. The line must end in CRLF before `len` (RFC 3261 §7); it is read in one
 * pass, without searching for its end first.
 */
function parseStartLine(b: Uint8Array, s: string, start: number, len: number, offset: number, headers: SipHeaders): SipMessage {
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  const v = versionEnd(b, start);
  if (v > 0) {
    if (b[v] !== SP) startLineFail(b, s, start, len, offset, 'expected SP after SIP-Version', offset + v);
    let p = v + 1;
    let status = 0;
    const digits = p;
    for (;;) {
      const c = b[p] as number;
      if (c < 48 || c > 57) break;
      status = status * 10 + (c - 48);
      p++;
    }
    // Status-Code = 3DIGIT, classes 1xx-6xx (RFC 3261 §21; RFC 4475 §3.1.2.19)
    if (p - digits !== 3 || status < 100 || status > 699) startLineFail(b, s, start, len, offset, 'bad status code', offset + digits);
    let reason = '';
    let cr = p;
    if (b[p] !== CR) {
      if (b[p] !== SP) startLineFail(b, s, start, len, offset, 'expected SP after status code', offset + p);
      // Reason-Phrase: anything but CR and LF
      cr = p + 1;
      while (cr < len && b[cr] !== CR && b[cr] !== LF) cr++;
      reason = s.slice(p + 1, cr);
    }
    if (b[cr] !== CR || b[cr + 1] !== LF || cr >= len) startLineFail(b, s, start, len, offset, 'bare CR or LF in the start line', offset + cr);
    startLineEnd = cr;
    const rs: SipResponse = { status, reason, version: versionString(b, s, start + 4, v), headers, content: '' };
    return rs;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): single SPs,
  // no LWS inside the URI (RFC 4475 §3.1.2.7-10 choices in the README).
  let p = start;
  for (;;) {
    const c = b[p] as number;
    if (TOKEN[c] !== 1) break;
    p++;
  }
  if (p === start || b[p] !== SP) startLineFail(b, s, start, len, offset, 'bad method', offset + p);
  const methodEnd = p;
  const uriStart = ++p;
  for (;;) {
    const k = REQUEST_URI[b[p] as number];
    if (k !== 0) {
      if (k === 1) break;
      startLineFail(b, s, start, len, offset, 'bad character in Request-URI', offset + p);
    }
    p++;
  }
  if (p === uriStart || b[p] !== SP) startLineFail(b, s, start, len, offset, 'bad Request-URI', offset + uriStart);
  const uriEnd = p;
  const schemeLen = schemeAt(b, uriStart, uriEnd);
  if (schemeLen === 0) startLineFail(b, s, start, len, offset, 'Request-URI is not an absolute URI', offset + uriStart);
  if (isSipScheme(b, uriStart, schemeLen)) {
    const bad = badSipHostPort(b, s, uriStart + schemeLen + 1, uriEnd);
    if (bad >= 0) startLineFail(b, s, start, len, offset, 'bad host or port in Request-URI', offset + bad);
  }
  const cr = versionEnd(b, uriEnd + 1);
  if (cr < 0 || b[cr] !== CR || b[cr + 1] !== LF || cr >= len) startLineFail(b, s, start, len, offset, 'bad SIP-Version', offset + uriEnd + 1);
  startLineEnd = cr;
  const rq: SipRequest = {
    method: methodAt(b, s, start, methodEnd),
    uri: s.slice(uriStart, uriEnd),
    version: versionString(b, s, uriEnd + 5, cr),
    headers,
    content: '',
  };
  return rq;
}

/** The lower-cased name of an unknown header starting at `p` (a token). */
function unknownHeaderName(b: Uint8Array, s: string, p: number): string {
  let q = p;
  while (TOKEN[b[q] as number] === 1) q++;
  return s.slice(p, q).toLowerCase();
}

/** Repeated headers combine into one comma-separated value (RFC 3261 §7.3.1); empty ones add nothing. */
function joinValues(prev: unknown, value: string): string {
  if (typeof prev !== 'string' || prev === '') return value;
  return value === '' ? prev : prev + ', ' + value;
}

function appendGeneric(headers: SipHeaders, name: string, value: string): void {
  const prev = headers[name];
  if (prev === undefined) headers[name] = value;
  else if (typeof prev === 'string') headers[name] = joinValues(prev, value);
  else if (name === '__proto__') {
    // Never set the prototype from the network: store an own property of that name.
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    // An inherited name (constructor, toString...): shadow it with an own property.
    headers[name] = value;
  }
}

/**
 * Parses a header section. `s` is the decoded text and `b` its codes at the same indices
 * (see scan.ts), `start` where the start line begins, `len` the index just past the CRLF of
 * the last header line; `b` holds the empty line's CRLF after it. `offset` is added to error
 * offsets. Sets headContentLength.
 */
export function parseHead(b: Uint8Array, s: string, start: number, len: number, offset: number): SipMessage {
  setContext(offset, '');
  // Every line ends in CRLF; CR and LF appear nowhere else (RFC 3261 §7).
  const headers: SipHeaders = {};
  const msg = parseStartLine(b, s, start, len, offset, headers);
  let cr = startLineEnd;
  let contentLength = -1;
  let p = cr + 2;
  // The loop also stops at the empty line (a CRLF starting a line: every line before it was
  // checked to end in CRLF), so a caller that knows only a bound finds the header end here
  // instead of searching for it first.
  while (p < len && !(b[p] === CR && b[p + 1] === LF)) {
    // header-name HCOLON: a common name spelled as senders do, colon included, in one pass;
    // else a token scan and a lookup.
    let q: number;
    let id: number;
    const wire = wireHeaderAt(b, p);
    if (wire >= 0) {
      id = wire >> 5;
      q = p + (wire & 31) + 1;
    } else {
      q = p;
      for (;;) {
        const c = b[q] as number;
        if (TOKEN[c] !== 1) break;
        q++;
      }
      if (q === p) headerError('ERR_HEADER_SYNTAX', 'expected a header name', offset + p);
      id = headerIdAt(b, p, q);
      while (b[q] === SP || b[q] === HT) q++;
      if (b[q] !== 58) headerError('ERR_HEADER_SYNTAX', 'expected ":" after header name', offset + q);
      q++;
    }
    // `v`: past the one SP nearly every header has after the colon, so the value scanners
    // (which accept any LWS) need not call skipLws for it. Error offsets still use `q`.
    let v = q;
    if (b[v] === SP) {
      const n = b[v + 1];
      if (n !== SP && n !== HT && n !== CR) v++;
    }
    const name = id >= 0 ? (HEADER_NAMES[id] as string) : unknownHeaderName(b, s, p);
    setHeader(name);
    switch (id) {
      case 0 /* ID_VIA */: {
        let list = headers.via;
        if (list === undefined) headers.via = list = [] as Via[];
        cr = scanViaList(b, s, v, list);
        break;
      }
      // Named (not keyed) stores throughout: see setParam in scan.ts.
      case 1 /* ID_FROM */:
        if (headers.from !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one from header', offset + p, name);
        headers.from = scanSingleNameAddr(b, s, v);
        cr = scanPos();
        break;
      case 2 /* ID_TO */:
        if (headers.to !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one to header', offset + p, name);
        headers.to = scanSingleNameAddr(b, s, v);
        cr = scanPos();
        break;
      case 21 /* ID_REFER_TO */:
        if (headers['refer-to'] !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one refer-to header', offset + p, name);
        headers['refer-to'] = scanSingleNameAddr(b, s, v);
        cr = scanPos();
        break;
      case 3 /* ID_CALL_ID */:
        if (headers['call-id'] !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one call-id header', offset + p, name);
        cr = scanCallId(b, s, v, headers);
        break;
      case 4 /* ID_CSEQ */:
        if (headers.cseq !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one cseq header', offset + p, name);
        cr = scanCSeq(b, s, v, headers);
        break;
      case 5 /* ID_CONTACT */: {
        const prev = headers.contact;
        let t = q;
        while (b[t] === SP || b[t] === HT) t++;
        let star = false;
        if (b[t] === 42) {
          // RFC 3261 §10.2.2: "*" stands alone ("*" also starts tokens, as in a display name)
          t++;
          while (b[t] === SP || b[t] === HT) t++;
          star = b[t] === CR;
        }
        if (star) {
          if (prev !== undefined) throw new SipParseError('ERR_HEADER_VALUE', 'contact: "*" mixed with other values', offset + q, name);
          headers.contact = '*';
          cr = t;
        } else if (prev === '*') {
          throw new SipParseError('ERR_HEADER_VALUE', 'contact: "*" mixed with other values', offset + q, name);
        } else {
          let list = prev;
          if (list === undefined) headers.contact = list = [] as NameAddr[];
          cr = scanNameAddrList(b, s, v, list);
        }
        break;
      }
      case 6 /* ID_ROUTE */: {
        let list = headers.route;
        if (list === undefined) headers.route = list = [] as RouteAddr[];
        cr = scanRouteList(b, s, q, list);
        break;
      }
      case 7 /* ID_RECORD_ROUTE */: {
        let list = headers['record-route'];
        if (list === undefined) headers['record-route'] = list = [] as RouteAddr[];
        cr = scanRouteList(b, s, q, list);
        break;
      }
      case 8 /* ID_PATH */: {
        let list = headers.path;
        if (list === undefined) headers.path = list = [] as RouteAddr[];
        cr = scanRouteList(b, s, q, list);
        break;
      }
      case 9 /* ID_CONTENT_LENGTH */: {
        // Content-Length = 1*DIGIT (RFC 3261 §20.14); a second, different value is a framing
        // error (RFC 4475 §3.3.9).
        const n = scanNumber(b, v);
        if (n < 0) headerError('ERR_CONTENT_LENGTH', 'bad Content-Length', offset + q, name);
        if (contentLength >= 0 && contentLength !== n) headerError('ERR_CONTENT_LENGTH', 'conflicting Content-Length values', offset + p, name);
        contentLength = n;
        headers['content-length'] = n;
        cr = scanPos();
        break;
      }
      case 14 /* ID_MAX_FORWARDS */: {
        // Max-Forwards = 1*DIGIT, 0-255 (RFC 3261 §20.22, RFC 4475 §3.1.2.4); kept as a string.
        if (headers['max-forwards'] !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one max-forwards header', offset + p, name);
        const n = scanNumber(b, v);
        if (n < 0 || n > 255) throw new SipParseError('ERR_HEADER_VALUE', 'max-forwards: not a number from 0 to 255', offset + q, name);
        cr = scanPos();
        let t = cr;
        while (b[t - 1] === SP || b[t - 1] === HT) t--;
        let f = q;
        while (b[f] === SP || b[f] === HT) f++;
        headers['max-forwards'] = t - f === 2 && b[f] === 55 && b[f + 1] === 48 ? '70' : s.slice(f, t);
        break;
      }
      case 15 /* ID_WWW_AUTHENTICATE */: {
        let list = headers['www-authenticate'];
        if (list === undefined) headers['www-authenticate'] = list = [] as AuthHeader[];
        cr = scanAuthList(b, s, v, list);
        break;
      }
      case 16 /* ID_PROXY_AUTHENTICATE */: {
        let list = headers['proxy-authenticate'];
        if (list === undefined) headers['proxy-authenticate'] = list = [] as AuthHeader[];
        cr = scanAuthList(b, s, v, list);
        break;
      }
      case 17 /* ID_AUTHORIZATION */: {
        let list = headers['authorization'];
        if (list === undefined) headers['authorization'] = list = [] as AuthHeader[];
        cr = scanAuthList(b, s, v, list);
        break;
      }
      case 18 /* ID_PROXY_AUTHORIZATION */: {
        let list = headers['proxy-authorization'];
        if (list === undefined) headers['proxy-authorization'] = list = [] as AuthHeader[];
        cr = scanAuthList(b, s, v, list);
        break;
      }
      case 19 /* ID_AUTHENTICATION_INFO */:
      case 20 /* ID_PROXY_AUTHENTICATION_INFO */: {
        if (headers[name] !== undefined) headerError('ERR_DUPLICATE_HEADER', `more than one ${name} header`, offset + p, name);
        const info: Record<string, string> = {};
        cr = scanAuthInfo(b, s, v, info);
        headers[name] = info;
        break;
      }
      // Common raw headers, with named stores; repeats are joined with ", ".
      case 10 /* ID_CONTENT_TYPE */: {
        const raw = scanRaw(b, s, v);
        const prev = headers['content-type'];
        headers['content-type'] = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      case 23 /* ID_SUBJECT */: {
        const raw = scanRaw(b, s, v);
        const prev = headers.subject;
        headers.subject = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      case 30 /* ID_USER_AGENT */: {
        const raw = scanRaw(b, s, v);
        const prev = headers['user-agent'];
        headers['user-agent'] = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      case 25 /* ID_ALLOW */: {
        const raw = scanRaw(b, s, v);
        const prev = headers.allow;
        headers.allow = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      case 24 /* ID_SUPPORTED */: {
        const raw = scanRaw(b, s, v);
        const prev = headers.supported;
        headers.supported = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      case 28 /* ID_EXPIRES */: {
        const raw = scanRaw(b, s, v);
        const prev = headers.expires;
        headers.expires = joinValues(prev, raw);
        cr = scanPos();
        break;
      }
      default:
        appendGeneric(headers, name, scanRaw(b, s, v));
        cr = scanPos();
    }
    // Scanners stop at a CR; a line ends only with CR LF (RFC 3261 §7, §7.3.1).
    if (b[cr + 1] !== LF) headerError('ERR_HEADER_SYNTAX', 'bare CR in header', offset + cr, name);
    p = cr + 2;
  }
  headContentLength = contentLength;
  headEmptyLine = p < len || (p === len && b[p] === CR && b[p + 1] === LF) ? p : -1;
  return msg;
}

/**
 * Decodes the header section buf[0, headEnd) (headEnd just past the last header line's CRLF)
 * and parses it from `start`. When the text is not ASCII, codes are built from the string.
 */
export function parseHeadBytes(buf: Buffer, start: number, headEnd: number, offset: number): SipMessage {
  const s = buf.toString('utf8', 0, headEnd);
  if (s.length === headEnd) return parseHead(buf, s, start, headEnd, offset);
  // UTF-8 (or invalid bytes) in the header: byte and character indices differ.
  return parseHead(codesOf(s), s, start, s.length, offset);
}

function decodeBody(buf: Buffer, start: number, end: number): string {
  return end > start ? buf.toString('utf8', start, end) : '';
}

/**
 * Parses one whole message, as received in a UDP datagram or a WebSocket message.
 * Without Content-Length the body is the rest of the input (RFC 3261 §18.3 allows that for
 * datagrams); with it, the body is cut after that many bytes and extra octets are ignored
 * (RFC 4475 §3.1.1.8), while a Content-Length beyond the input is an error (§3.1.2.2).
 * Leading CRLFs are skipped (RFC 3261 §7.5).
 * @throws SipParseError
 */
export function parse(input: Uint8Array | string, options?: ParseOptions): SipMessage {
  if (typeof input === 'string') return parseString(input, options);
  if (!(input instanceof Uint8Array)) throw new SipParseError('ERR_START_LINE', 'input must be a Uint8Array or a string', 0);
  const buf = asBuffer(input);
  const len = buf.length;
  const maxHeader = options === undefined ? DEFAULT_MAX_HEADER_BYTES : headerLimit(options);
  const maxContent = options === undefined ? DEFAULT_MAX_CONTENT_LENGTH : contentLimit(options);
  let start = 0;
  while (start < len && (buf[start] === CR || buf[start] === LF)) start++;
  if (len <= ONE_DECODE_LIMIT) {
    // One decode for the whole datagram. When every byte became one UTF-16 unit (ASCII, the
    // usual case) byte and string indices agree: the header end is found on the string and
    // the body is a slice of it.
    // ASCII (the usual case): latin1 decoding is a plain copy, cheaper than UTF-8 decoding even
    // with the (SIMD) check in front. Otherwise UTF-8; when every byte still became one
    // UTF-16 unit, byte and string indices agree as well.
    const ascii = isAscii(buf);
    const s = ascii ? buf.toString('latin1') : buf.toString();
    if (ascii || s.length === len) {
      const msg = parseDatagramHead(buf, s, start, len, maxHeader);
      const he = headEmptyLine;
      const bodyStart = he + 2;
      const cl = checkBody(msg, headContentLength, bodyStart, len, maxContent);
      msg.content = cl === 0 ? '' : s.slice(bodyStart, bodyStart + cl);
      return msg;
    }
  }
  // Search no further than the limit allows, so a huge header line is refused in bounded time.
  const he = len - start <= maxHeader + 4 ? buf.indexOf(HEADER_END, start) : buf.subarray(0, start + maxHeader).indexOf(HEADER_END, start);
  checkHeaderEnd(he, start, len, maxHeader);
  const msg = parseHeadBytes(buf, start, he + 2, 0);
  const bodyStart = he + 4;
  const cl = checkBody(msg, headContentLength, bodyStart, len, maxContent);
  msg.content = decodeBody(buf, bodyStart, bodyStart + cl);
  return msg;
}

/**
 * The header section of a whole datagram decoded to `s` (indices agreeing with `buf`), parsed
 * without searching for the empty line first: parseHead stops at it. Scanners stop at the
 * first CR that does not start a fold, so parsing is bounded by the last such CR in the input
 * (a CRLF at the very end in the usual case). Whenever this fast path does not end cleanly
 * at an empty line within that bound, the message is parsed again the careful way, which
 * reports exactly the error (and its precedence: size limits first) it always did.
 * Leaves the empty line's index in headEmptyLine.
 */
function parseDatagramHead(buf: Buffer, s: string, start: number, len: number, maxHeader: number): SipMessage {
  let bound = len - 2;
  while (bound >= start && !(buf[bound] === CR && buf[bound + 1] === LF && (bound + 2 === len || (buf[bound + 2] !== SP && buf[bound + 2] !== HT)))) bound--;
  if (bound >= start) {
    try {
      const msg = parseHead(buf, s, start, bound + 2, 0);
      const he = headEmptyLine;
      if (he >= 0 && he + 2 - start <= maxHeader) return msg;
    } catch {
      // fall through: the careful path throws the error
    }
  }
  const he = s.indexOf('\r\n\r\n', start);
  checkHeaderEnd(he, start, len, maxHeader);
  const msg = parseHead(buf, s, start, he + 2, 0);
  headEmptyLine = he + 2;
  return msg;
}

/** Datagrams up to this size are decoded in one piece (a UDP datagram is at most 65535). */
const ONE_DECODE_LIMIT = 65535;

function checkHeaderEnd(he: number, start: number, len: number, maxHeader: number): void {
  if (he < 0) {
    if (len - start > maxHeader) throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start + maxHeader);
    throw new SipParseError('ERR_INCOMPLETE', 'no empty line ends the header section', len);
  }
  if (he + 4 - start > maxHeader) throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start + maxHeader);
}

/**
 * The body length in bytes: Content-Length when present (which must fit in the datagram,
 * RFC 4475 §3.1.2.2), else the rest of the datagram, recorded as the message's
 * content-length so it reads like one that carried the header (stringify writes it back).
 */
function checkBody(msg: SipMessage, cl: number, bodyStart: number, len: number, maxContent: number): number {
  if (cl >= 0) {
    if (cl > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, bodyStart);
    if (cl > len - bodyStart) throw new SipParseError('ERR_CONTENT_LENGTH', `Content-Length ${cl} exceeds the ${len - bodyStart} bytes received`, len, 'content-length');
    return cl;
  }
  if (len - bodyStart > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, bodyStart);
  msg.headers['content-length'] = len - bodyStart;
  return len - bodyStart;
}

function parseString(input: string, options: ParseOptions | undefined): SipMessage {
  // Strings are encoded so that limits and Content-Length count bytes (RFC 3261 §20.14).
  return parse(Buffer.from(input, 'utf8'), options);
}

// parse(): bytes (or a string) in, a SipRequest / SipResponse out, or a SipParseError.
// The header end is found on bytes, the header section is decoded as UTF-8 and scanned by
// char code, the body is cut by Content-Length in bytes and then decoded (RFC 3261 §7.4.1,
// §7.5, §18.3, §20.14).
import { Buffer } from 'node:buffer';
import { CR, HT, LF, SP, TOKEN } from './chars.js';
import { SipParseError } from './errors.js';
import {
  scanAuthInfo,
  scanAuthList,
  scanCSeq,
  scanNameAddrList,
  scanRouteList,
  scanSingleNameAddr,
  scanViaList,
  setErrorContext,
} from './headers.js';
import { canonicalHeaderName } from './names.js';
import { schemeLength } from './uri.js';
import type { AuthHeader, NameAddr, RouteAddr, SipHeaders, SipMessage, SipRequest, SipResponse, Via } from './types.js';

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

function headerError(code: 'ERR_HEADER_SYNTAX' | 'ERR_DUPLICATE_HEADER' | 'ERR_CONTENT_LENGTH', message: string, offset: number, name?: string): never {
  throw new SipParseError(code, message, offset, name);
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; returns the index after it or -1. */
function scanVersion(s: string, p: number, end: number): number {
  if (end - p < 7) return -1;
  if ((s.charCodeAt(p) | 32) !== 115 || (s.charCodeAt(p + 1) | 32) !== 105 || (s.charCodeAt(p + 2) | 32) !== 112 || s.charCodeAt(p + 3) !== 47) {
    return -1;
  }
  p += 4;
  const major = p;
  while (p < end && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
  if (p === major || s.charCodeAt(p) !== 46) return -1;
  const minor = ++p;
  while (p < end && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
  return p === minor ? -1 : p;
}

function startLineError(message: string, offset: number): never {
  throw new SipParseError('ERR_START_LINE', message, offset);
}

/** Parses the start line s[0, end) into a fresh message object. */
function parseStartLine(s: string, end: number, headers: SipHeaders): SipMessage {
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  const v = scanVersion(s, 0, end);
  if (v > 0) {
    if (s.charCodeAt(v) !== SP) startLineError('expected SP after SIP-Version', v);
    let p = v + 1;
    let status = 0;
    const digits = p;
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c < 48 || c > 57) break;
      status = status * 10 + (c - 48);
      p++;
    }
    // Status-Code = 3DIGIT; classes 1xx-6xx (RFC 3261 §21)
    if (p - digits !== 3 || status < 100 || status > 699) startLineError('bad status code', digits);
    let reason = '';
    if (p < end) {
      if (s.charCodeAt(p) !== SP) startLineError('expected SP after status code', p);
      reason = s.slice(p + 1, end);
    }
    const rs: SipResponse = { status, reason, version: s.slice(4, v), headers, content: '' };
    return rs;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): single SPs,
  // no LWS inside the URI (RFC 4475 §3.1.2.7-10 choices in the README).
  let p = 0;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c >= 128 || TOKEN[c] !== 1) break;
    p++;
  }
  if (p === 0 || s.charCodeAt(p) !== SP) startLineError('bad method', p);
  const method = s.slice(0, p);
  const uriStart = p + 1;
  const uriEnd = s.indexOf(' ', uriStart);
  if (uriEnd < 0 || uriEnd >= end || uriEnd === uriStart) startLineError('bad Request-URI', uriStart);
  const uri = s.slice(uriStart, uriEnd);
  if (schemeLength(uri) === 0) startLineError('Request-URI is not an absolute URI', uriStart);
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 60 || c === 62 || c === 34) startLineError('bad character in Request-URI', uriStart + i);
  }
  const ve = scanVersion(s, uriEnd + 1, end);
  if (ve !== end) startLineError('bad SIP-Version', uriEnd + 1);
  const rq: SipRequest = { method, uri, version: s.slice(uriEnd + 5, end), headers, content: '' };
  return rq;
}

function appendGeneric(headers: SipHeaders, name: string, value: string): void {
  if (Object.prototype.hasOwnProperty.call(headers, name)) {
    const prev = headers[name];
    headers[name] = typeof prev === 'string' ? prev + ', ' + value : value;
  } else if (name === '__proto__') {
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    headers[name] = value;
  }
}

/**
 * Parses a decoded header section: start line and header lines, each ending in CRLF
 * (the empty line excluded). `offset` is where `s` starts in the input, for errors.
 * Sets headContentLength.
 */
export function parseHead(s: string, offset: number): SipMessage {
  const len = s.length;
  let lf = s.indexOf('\n');
  let cr = s.indexOf('\r');
  // Every line must end in CRLF, and CR / LF may appear nowhere else (RFC 3261 §7).
  if (lf <= 0 || cr !== lf - 1) throw new SipParseError('ERR_START_LINE', 'start line must end in CRLF', offset + Math.max(0, Math.min(cr, lf)));
  const headers: SipHeaders = {};
  const msg = parseStartLine(s, lf - 1, headers);
  let contentLength = -1;
  let p = lf + 1;
  while (p < len) {
    // header-name HCOLON
    let q = p;
    while (q < len) {
      const c = s.charCodeAt(q);
      if (c >= 128 || TOKEN[c] !== 1) break;
      q++;
    }
    if (q === p) headerError('ERR_HEADER_SYNTAX', 'expected a header name', offset + p);
    const nameEnd = q;
    let c = s.charCodeAt(q);
    while (c === SP || c === HT) c = s.charCodeAt(++q);
    if (c !== 58) headerError('ERR_HEADER_SYNTAX', 'expected ":" after header name', offset + q);
    q++;
    c = s.charCodeAt(q);
    while (c === SP || c === HT) c = s.charCodeAt(++q);
    // The value runs to CRLF; lines starting with SP/HT continue it (folding, RFC 3261 §7.3.1:
    // the fold is equivalent to a single SP).
    lf = s.indexOf('\n', q);
    if (cr < q) cr = s.indexOf('\r', q);
    if (cr !== lf - 1) headerError('ERR_HEADER_SYNTAX', 'bare CR or LF in header', offset + Math.min(cr, lf));
    let valueEnd = lf - 1;
    let value: string | undefined;
    let next = lf + 1;
    c = s.charCodeAt(next);
    if (c === SP || c === HT) {
      value = '';
      let segStart = q;
      for (;;) {
        let e = valueEnd;
        while (e > segStart && (s.charCodeAt(e - 1) === SP || s.charCodeAt(e - 1) === HT)) e--;
        if (e > segStart) value = value === '' ? s.slice(segStart, e) : value + ' ' + s.slice(segStart, e);
        c = s.charCodeAt(next);
        if (c !== SP && c !== HT) break;
        segStart = next;
        while (c === SP || c === HT) c = s.charCodeAt(++segStart);
        lf = s.indexOf('\n', segStart);
        cr = s.indexOf('\r', segStart);
        if (cr !== lf - 1) headerError('ERR_HEADER_SYNTAX', 'bare CR or LF in header', offset + Math.min(cr, lf));
        valueEnd = lf - 1;
        next = lf + 1;
      }
    } else {
      while (valueEnd > q && (s.charCodeAt(valueEnd - 1) === SP || s.charCodeAt(valueEnd - 1) === HT)) valueEnd--;
    }
    const name = canonicalHeaderName(s.slice(p, nameEnd));
    // Hot headers are scanned in place (s, q, valueEnd); folded ones from the joined value.
    let vs = s;
    let vStart = q;
    let vEnd = valueEnd;
    if (value !== undefined) {
      vs = value;
      vStart = 0;
      vEnd = value.length;
    }
    setErrorContext(name, value === undefined ? offset : offset + q);
    switch (name) {
      case 'via': {
        const list = headers.via;
        if (list === undefined) {
          const out: Via[] = [];
          scanViaList(vs, vStart, vEnd, out);
          headers.via = out;
        } else scanViaList(vs, vStart, vEnd, list);
        break;
      }
      case 'from':
      case 'to':
      case 'refer-to':
        if (headers[name] !== undefined) headerError('ERR_DUPLICATE_HEADER', `more than one ${name} header`, offset + p, name);
        headers[name] = scanSingleNameAddr(vs, vStart, vEnd);
        break;
      case 'call-id': {
        if (headers['call-id'] !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one call-id header', offset + p, name);
        if (vEnd === vStart) throw new SipParseError('ERR_HEADER_VALUE', 'call-id: empty', offset + q, name);
        for (let i = vStart; i < vEnd; i++) {
          const ch = vs.charCodeAt(i);
          if (ch === SP || ch === HT) throw new SipParseError('ERR_HEADER_VALUE', 'call-id: whitespace inside', offset + q, name);
        }
        headers['call-id'] = vs.slice(vStart, vEnd);
        break;
      }
      case 'cseq':
        if (headers.cseq !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one cseq header', offset + p, name);
        headers.cseq = scanCSeq(vs, vStart, vEnd);
        break;
      case 'contact': {
        const prev = headers.contact;
        if (vEnd - vStart === 1 && vs.charCodeAt(vStart) === 42) {
          // RFC 3261 §10.2.2: "*" stands alone
          if (prev !== undefined) throw new SipParseError('ERR_HEADER_VALUE', 'contact: "*" mixed with other values', offset + q, name);
          headers.contact = '*';
        } else if (prev === '*') {
          throw new SipParseError('ERR_HEADER_VALUE', 'contact: "*" mixed with other values', offset + q, name);
        } else if (prev === undefined) {
          const out: NameAddr[] = [];
          scanNameAddrList(vs, vStart, vEnd, out);
          headers.contact = out;
        } else scanNameAddrList(vs, vStart, vEnd, prev);
        break;
      }
      case 'route':
      case 'record-route':
      case 'path': {
        const prev = headers[name];
        if (prev === undefined) {
          const out: RouteAddr[] = [];
          scanRouteList(vs, vStart, vEnd, out);
          headers[name] = out;
        } else scanRouteList(vs, vStart, vEnd, prev);
        break;
      }
      case 'content-length': {
        // Content-Length = 1*DIGIT (RFC 3261 §20.14); a second, different value is a framing
        // error (RFC 4475 §3.3.9).
        let n = 0;
        if (vEnd === vStart || vEnd - vStart > 15) headerError('ERR_CONTENT_LENGTH', 'bad Content-Length', offset + q, name);
        for (let i = vStart; i < vEnd; i++) {
          const ch = vs.charCodeAt(i);
          if (ch < 48 || ch > 57) headerError('ERR_CONTENT_LENGTH', 'bad Content-Length', offset + q, name);
          n = n * 10 + (ch - 48);
        }
        if (contentLength >= 0 && contentLength !== n) headerError('ERR_CONTENT_LENGTH', 'conflicting Content-Length values', offset + p, name);
        contentLength = n;
        headers['content-length'] = n;
        break;
      }
      case 'max-forwards': {
        // Max-Forwards = 1*DIGIT, 0-255 (RFC 3261 §20.22, RFC 4475 §3.1.2.4); kept as a string.
        if (headers['max-forwards'] !== undefined) headerError('ERR_DUPLICATE_HEADER', 'more than one max-forwards header', offset + p, name);
        let n = 0;
        if (vEnd === vStart) throw new SipParseError('ERR_HEADER_VALUE', 'max-forwards: empty', offset + q, name);
        for (let i = vStart; i < vEnd; i++) {
          const ch = vs.charCodeAt(i);
          if (ch < 48 || ch > 57 || (n = n * 10 + (ch - 48)) > 255) {
            throw new SipParseError('ERR_HEADER_VALUE', 'max-forwards: not a number from 0 to 255', offset + q, name);
          }
        }
        headers['max-forwards'] = vs.slice(vStart, vEnd);
        break;
      }
      case 'www-authenticate':
      case 'proxy-authenticate':
      case 'authorization':
      case 'proxy-authorization': {
        const prev = headers[name];
        if (prev === undefined) {
          const out: AuthHeader[] = [];
          scanAuthList(vs, vStart, vEnd, out);
          headers[name] = out;
        } else scanAuthList(vs, vStart, vEnd, prev);
        break;
      }
      case 'authentication-info':
      case 'proxy-authentication-info':
        if (headers[name] !== undefined) headerError('ERR_DUPLICATE_HEADER', `more than one ${name} header`, offset + p, name);
        headers[name] = scanAuthInfo(vs, vStart, vEnd);
        break;
      default:
        appendGeneric(headers, name, value ?? s.slice(vStart, vEnd));
    }
    p = next;
  }
  headContentLength = contentLength;
  return msg;
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
  const maxHeader = headerLimit(options);
  let start = 0;
  while (start < len && (buf[start] === CR || buf[start] === LF)) start++;
  // Search no further than the limit allows, so a huge header line is refused in bounded time.
  const he = len - start <= maxHeader + 4 ? buf.indexOf(HEADER_END, start) : buf.subarray(0, start + maxHeader).indexOf(HEADER_END, start);
  if (he < 0) {
    if (len - start > maxHeader) throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start + maxHeader);
    throw new SipParseError('ERR_INCOMPLETE', 'no empty line ends the header section', len);
  }
  if (he + 4 - start > maxHeader) throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start + maxHeader);
  const msg = parseHead(buf.toString('utf8', start, he + 2), start);
  const cl = headContentLength;
  const bodyStart = he + 4;
  const maxContent = contentLimit(options);
  if (cl >= 0) {
    if (cl > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, bodyStart);
    if (cl > len - bodyStart) throw new SipParseError('ERR_CONTENT_LENGTH', `Content-Length ${cl} exceeds the ${len - bodyStart} bytes received`, len, 'content-length');
    msg.content = decodeBody(buf, bodyStart, bodyStart + cl);
  } else {
    if (len - bodyStart > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, bodyStart);
    msg.content = decodeBody(buf, bodyStart, len);
    // The body is the rest of the datagram; record its length so the message reads the same
    // as one that carried the header (and stringify writes it back).
    msg.headers['content-length'] = len - bodyStart;
  }
  return msg;
}

function parseString(input: string, options: ParseOptions | undefined): SipMessage {
  const maxHeader = headerLimit(options);
  let start = 0;
  while (start < input.length && (input.charCodeAt(start) === CR || input.charCodeAt(start) === LF)) start++;
  const he = input.indexOf('\r\n\r\n', start);
  if (he < 0) {
    if (input.length - start > maxHeader) throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start + maxHeader);
    throw new SipParseError('ERR_INCOMPLETE', 'no empty line ends the header section', input.length);
  }
  const head = input.slice(start, he + 2);
  // chars <= bytes <= 3 * chars: count bytes only when the character count cannot decide
  const headChars = he + 4 - start;
  if (headChars > maxHeader || (headChars * 3 > maxHeader && Buffer.byteLength(head) + 2 > maxHeader)) {
    throw new SipParseError('ERR_TOO_LARGE', `header section larger than ${maxHeader} bytes`, start);
  }
  const msg = parseHead(head, start);
  const cl = headContentLength;
  const rest = input.slice(he + 4);
  const maxContent = contentLimit(options);
  const restBytes = Buffer.byteLength(rest);
  if (cl >= 0) {
    if (cl > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, he + 4);
    if (cl > restBytes) throw new SipParseError('ERR_CONTENT_LENGTH', `Content-Length ${cl} exceeds the ${restBytes} bytes received`, input.length, 'content-length');
    msg.content = cl === restBytes ? rest : Buffer.from(rest, 'utf8').toString('utf8', 0, cl);
  } else {
    if (restBytes > maxContent) throw new SipParseError('ERR_TOO_LARGE', `body larger than ${maxContent} bytes`, he + 4);
    msg.content = rest;
    msg.headers['content-length'] = restBytes;
  }
  return msg;
}

// `parse` and `stringify` with the API, object shape and output of `require('sip/sdp')`
// (sip@0.0.6), written without its regular expressions: each step below reproduces one of its
// expressions exactly (`/^(\w)=(.*)/` per CRLF-separated line, `split(/\s+/)` for o= and c=,
// its m= expression), and test/compat.test.ts compares both on a corpus and on random input.
// Where sip@0.0.6 threw a TypeError (an m= line its expression does not match, an object it
// cannot write), these throw an SdpError instead.
import { SdpError } from './errors.js';
import { inputText, resolveLimits } from './input.js';
import type { SdpParseOptions } from './types.js';

/** sip's o= object: the whitespace-separated fields by position (undefined when missing). */
export interface SipSdpOrigin {
  username?: string | undefined;
  id?: string | undefined;
  version?: string | undefined;
  nettype?: string | undefined;
  addrtype?: string | undefined;
  address?: string | undefined;
}

/** sip's c= object. */
export interface SipSdpConnection {
  nettype?: string | undefined;
  addrtype?: string | undefined;
  address?: string | undefined;
}

/** sip's media object; other lines of the section appear as `i`, `c`, `b`, `k`, ... (last wins). */
export interface SipSdpMedia {
  media: string;
  port: number;
  /** The `/n` of the port (one digit), 1 when absent. Not written by `stringify` (as in sip). */
  portnum: number;
  proto: string;
  fmt: number[];
  a?: string[] | undefined;
  c?: SipSdpConnection | undefined;
  [type: string]: unknown;
}

/** sip's session object: `m` always, other line types by their letter (last wins; `a` collects). */
export interface SipSdp {
  m: SipSdpMedia[];
  v?: string | undefined;
  o?: SipSdpOrigin | undefined;
  s?: string | undefined;
  c?: SipSdpConnection | undefined;
  t?: string | undefined;
  a?: string[] | undefined;
  [type: string]: unknown;
}

const SP = 0x20;

/** `\w`: [A-Za-z0-9_]. */
function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ECMAScript `\s`: WhiteSpace and LineTerminator code points (ES2023 §22.2.2.9). */
export function isJsWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** `s.split(/\s+/)`: the pieces between runs of whitespace, empty pieces at either end kept. */
export function splitJsWhitespace(s: string): string[] {
  const out: string[] = [];
  let pieceStart = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    if (isJsWhitespace(s.charCodeAt(i))) {
      out.push(s.slice(pieceStart, i));
      i++;
      while (i < n && isJsWhitespace(s.charCodeAt(i))) i++;
      pieceStart = i;
    } else {
      i++;
    }
  }
  out.push(s.slice(pieceStart));
  return out;
}

function parseOrigin(value: string): SipSdpOrigin {
  const t = splitJsWhitespace(value);
  return { username: t[0], id: t[1], version: t[2], nettype: t[3], addrtype: t[4], address: t[5] };
}

function parseConnection(value: string): SipSdpConnection {
  const t = splitJsWhitespace(value);
  return { nettype: t[0], addrtype: t[1], address: t[2] };
}

/**
 * sip's `/^(\w+) +(\d+)(?:\/(\d))? +(\S+) (\d+( +\d+)*)/` on the m= value. Every quantifier
 * there is followed by a character class it cannot match, so the greedy match is the only
 * match and no backtracking is needed. undefined where sip's expression fails (and sip threw).
 */
function parseMedia(v: string): SipSdpMedia | undefined {
  const n = v.length;
  let i = 0;
  while (i < n && isWordChar(v.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const media = v.slice(0, i);
  let j = i;
  while (j < n && v.charCodeAt(j) === SP) j++;
  if (j === i) return undefined;
  const portStart = j;
  while (j < n && isDigit(v.charCodeAt(j))) j++;
  if (j === portStart) return undefined;
  const port = +v.slice(portStart, j);
  let portnum = 1;
  if (v.charCodeAt(j) === 0x2f && j + 1 < n && isDigit(v.charCodeAt(j + 1))) {
    portnum = +v[j + 1]!;
    j += 2;
  }
  const spaces = j;
  while (j < n && v.charCodeAt(j) === SP) j++;
  if (j === spaces) return undefined;
  const protoStart = j;
  while (j < n && !isJsWhitespace(v.charCodeAt(j))) j++;
  if (j === protoStart || v.charCodeAt(j) !== SP) return undefined;
  const proto = v.slice(protoStart, j);
  j++;
  if (!(j < n && isDigit(v.charCodeAt(j)))) return undefined;
  const fmt: number[] = [];
  for (;;) {
    const digitsStart = j;
    while (j < n && isDigit(v.charCodeAt(j))) j++;
    fmt.push(+v.slice(digitsStart, j));
    let k = j;
    while (k < n && v.charCodeAt(k) === SP) k++;
    if (k === j || !(k < n && isDigit(v.charCodeAt(k)))) break;
    j = k;
  }
  return { media, port, portnum, proto, fmt };
}

/** text.indexOf(search, from), or text.length when absent. */
function indexOrEnd(text: string, search: string, from: number): number {
  const i = text.indexOf(search, from);
  return i < 0 ? text.length : i;
}

/**
 * `require('sip/sdp').parse`: the same object for the same text. Also takes UTF-8 bytes, and
 * applies the size and line limits of {@link SdpParseOptions} (sip had none). Lines are split
 * on CRLF only, as in sip. Throws only {@link SdpError}: `ERR_MEDIA` with the line number
 * where sip@0.0.6 threw a TypeError on an m= line.
 */
export function parse(sdp: string | Uint8Array, options?: SdpParseOptions): SipSdp {
  const limits = resolveLimits(options);
  const text = inputText(sdp, limits);
  const root: SipSdp = { m: [] };
  let m: SipSdpMedia | undefined;
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  // The next LF, CR, U+2028 and U+2029 at or after `pos` (n when none): where `(.*)` stops.
  // Each search moves forward only, so the whole parse stays linear.
  let nextLf = -1;
  let nextCr = -1;
  let nextLs = -1;
  let nextPs = -1;
  while (pos <= n) {
    lineNo++;
    if (lineNo > limits.maxLines) {
      throw new SdpError('ERR_TOO_MANY_LINES', `more than maxLines ${limits.maxLines} lines`, { line: lineNo });
    }
    const crlf = text.indexOf('\r\n', pos);
    const end = crlf < 0 ? n : crlf;
    // /^(\w)=(.*)/
    if (end - pos >= 2 && isWordChar(text.charCodeAt(pos)) && text.charCodeAt(pos + 1) === 0x3d) {
      const type = text[pos] as string;
      const from = pos + 2;
      if (nextLf < from) nextLf = indexOrEnd(text, '\n', from);
      if (nextCr < from) nextCr = indexOrEnd(text, '\r', from);
      if (nextLs < from) nextLs = indexOrEnd(text, '\u2028', from);
      if (nextPs < from) nextPs = indexOrEnd(text, '\u2029', from);
      const value = text.slice(from, Math.min(end, nextLf, nextCr, nextLs, nextPs));
      switch (type) {
        case 'm': {
          const parsed = parseMedia(value);
          if (parsed === undefined) {
            throw new SdpError('ERR_MEDIA', `line ${lineNo}: m= line not of the form sip/sdp reads`, { line: lineNo });
          }
          if (m) root.m.push(m);
          m = parsed;
          break;
        }
        case 'a': {
          const o: { a?: string[] | undefined } = m || root;
          if (o.a === undefined) o.a = [];
          o.a.push(value);
          break;
        }
        case 'o':
          (m || root)[type] = parseOrigin(value);
          break;
        case 'c':
          (m || root)[type] = parseConnection(value);
          break;
        default:
          (m || root)[type] = value;
          break;
      }
    }
    if (crlf < 0) break;
    pos = crlf + 2;
  }
  if (m) root.m.push(m);
  return root;
}

// ---- stringify: sip's code, step for step, so that every value is converted as it was ----

type Stringifier = (x: never) => string;

const stringifiers: Record<string, Stringifier | undefined> = {
  o: (o: SipSdpOrigin) =>
    [o.username || '-', o.id, o.version, o.nettype || 'IN', o.addrtype || 'IP4', o.address].join(' '),
  c: (c: SipSdpConnection) => [c.nettype || 'IN', c.addrtype || 'IP4', c.address].join(' '),
  m: (m: SipSdpMedia) => [m.media || 'audio', m.port, m.proto || 'RTP/AVP', m.fmt.join(' ')].join(' '),
};

function stringifyParam(sdp: Record<string, unknown>, type: string, def?: number | string): string {
  if (sdp[type] !== undefined) {
    const write = stringifiers[type];
    const stringifier = (x: unknown): string => type + '=' + (((write && write(x as never)) || x) as string) + '\r\n';
    const value = sdp[type];
    if (Array.isArray(value)) return value.map(stringifier).join('');
    return stringifier(value);
  }
  if (def !== undefined) return type + '=' + def + '\r\n';
  return '';
}

function stringifyUnchecked(sdp: SipSdp): string {
  let s = '';
  s += stringifyParam(sdp, 'v', 0);
  s += stringifyParam(sdp, 'o');
  s += stringifyParam(sdp, 's', '-');
  s += stringifyParam(sdp, 'i');
  s += stringifyParam(sdp, 'u');
  s += stringifyParam(sdp, 'e');
  s += stringifyParam(sdp, 'p');
  s += stringifyParam(sdp, 'c');
  s += stringifyParam(sdp, 'b');
  s += stringifyParam(sdp, 't', '0 0');
  s += stringifyParam(sdp, 'r');
  s += stringifyParam(sdp, 'z');
  s += stringifyParam(sdp, 'k');
  s += stringifyParam(sdp, 'a');
  sdp.m.forEach((m) => {
    s += stringifyParam({ m }, 'm');
    s += stringifyParam(m, 'i');
    s += stringifyParam(m, 'c');
    s += stringifyParam(m, 'b');
    s += stringifyParam(m, 'k');
    s += stringifyParam(m, 'a');
  });
  return s;
}

/**
 * `require('sip/sdp').stringify`: the same text for the same object, in sip's fixed line order
 * (v o s i u e p c b t r z k a, then per medium m i c b k a), CRLF line endings, `v=0`, `s=-`
 * and `t=0 0` when absent. Throws {@link SdpError} `ERR_INVALID_ARGUMENT` (the original error
 * as `cause`) where sip@0.0.6 threw, e.g. without an `m` array or an `fmt` array.
 */
export function stringify(sdp: SipSdp): string {
  if (typeof sdp !== 'object' || sdp === null) {
    throw new SdpError('ERR_INVALID_ARGUMENT', `stringify needs an object, got ${sdp === null ? 'null' : typeof sdp}`);
  }
  try {
    return stringifyUnchecked(sdp);
  } catch (e) {
    if (e instanceof SdpError) throw e;
    throw new SdpError('ERR_INVALID_ARGUMENT', `sip/sdp could not write this object: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

// Byte scanners for the header section (RFC 3261 §25.1 grammar), linear, no regex.
//
// Every scanner reads `b`, an array of codes (the received bytes when the header section is
// ASCII, else one code per UTF-16 unit of `s` with everything >= 0x80 clamped to 0x80), and
// slices values from `s`, the decoded text, at the same indices. Reading bytes is several times
// cheaper than String#charCodeAt. `b` always extends at least two codes past the last CRLF
// (the empty line), so looking two ahead of a CR never reads out of bounds.
//
// Folding (RFC 3261 §7.3.1) is handled where LWS is allowed: skipLws steps over
// CRLF + SP/HT, and the few values that may span a fold are normalised with unfold().
// Scanners leave their end position in `pos`; module state is safe because nothing here
// calls out to user code.
import * as chars from './chars.js';
import type { NameTable } from './chars.js';
import { SipParseError } from './errors.js';
import type { AuthHeader, AuthInfo, NameAddr, Params, RouteAddr, SipHeaders, SipUri, Via } from './types.js';

// Hot-path bindings copied into module constants: a CJS transform (ts-jest, tsx) turns
// imported bindings into getters.
const TOKEN = chars.TOKEN;
const HOST = chars.HOST;
const PARAM_VALUE = chars.PARAM_VALUE;
const SCHEME = chars.SCHEME;
const URI_IN_BRACKETS = chars.URI_IN_BRACKETS;
const makeNameTable = chars.makeNameTable;
const findName = chars.findName;

const HT = 9;
const LF = 10;
const CR = 13;
const SP = 32;
const DQUOTE = 34;
const AMP = 38;
const COMMA = 44;
const DOT = 46;
const SLASH = 47;
const COLON = 58;
const SEMI = 59;
const LAQUOT = 60;
const EQUAL = 61;
const RAQUOT = 62;
const QUESTION = 63;
const AT = 64;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;

let pos = 0;
/** What the last scanAddr found: display name, URI extent, first "@" in the URI (see there). */
let addrName: string | undefined;
let uriFrom = -1;
let uriTo = -1;
let uriFirstAt = -1;
let base = 0;
let header = '';
/** Set when skipLws or a quoted string crossed a fold since the last reset. */
let folded = false;

/** Where `s` starts in the input (for error offsets) and which header is being read. */
export function setContext(offset: number, name: string): void {
  base = offset;
  header = name;
}

export function setHeader(name: string): void {
  header = name;
}

function fail(message: string, at: number): never {
  throw new SipParseError('ERR_HEADER_VALUE', `${header || 'header'}: ${message}`, base + at, header || undefined);
}

/** Codes for a string: one per UTF-16 unit, >= 0x80 clamped to 0x80, plus CRLF CRLF. */
export function codesOf(s: string): Uint8Array {
  const n = s.length;
  const b = new Uint8Array(n + 4);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    b[i] = c < 0x80 ? c : 0x80;
  }
  b[n] = CR;
  b[n + 1] = LF;
  b[n + 2] = CR;
  b[n + 3] = LF;
  return b;
}

/** Replaces each fold (optional WSP, CRLF, WSP run) in a sliced value with one SP. */
function unfold(v: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const cr = v.indexOf('\r', i);
    if (cr < 0) return out + v.slice(i);
    let e = cr;
    while (e > i && (v.charCodeAt(e - 1) === SP || v.charCodeAt(e - 1) === HT)) e--;
    out += v.slice(i, e) + ' ';
    i = cr + 2;
    while (v.charCodeAt(i) === SP || v.charCodeAt(i) === HT) i++;
  }
}

/** A display name as a quoted-string (RFC 3261 §25.1). */
export function quote(name: string): string {
  let out = '"';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out += c === DQUOTE || c === BACKSLASH ? '\\' + name[i] : name[i];
  }
  return out + '"';
}

function sliceValue(s: string, start: number, end: number): string {
  const v = s.slice(start, end);
  return folded ? unfold(v) : v;
}

/**
 * LWS = [*WSP CRLF] 1*WSP; also plain *WSP. Hot callers test the first code themselves
 * (`b[p] === SP || b[p] === HT || b[p] === CR`) and call this only then: the call is not
 * always inlined, and most positions hold no whitespace.
 */
function skipLws(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p];
    if (c === SP || c === HT) p++;
    else if (c === CR && b[p + 1] === LF && (b[p + 2] === SP || b[p + 2] === HT)) {
      folded = true;
      p += 3;
    } else return p;
  }
}

function scanToken(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p] as number;
    if (TOKEN[c] !== 1) return p;
    p++;
  }
}

/** Codes that end a run of ordinary characters inside a quoted-string. */
const QUOTED_STOP = (() => {
  const t = new Uint8Array(256);
  t[DQUOTE] = 1;
  t[BACKSLASH] = 1;
  t[CR] = 1;
  t[LF] = 1;
  return t;
})();

/** Index just past the quoted-string whose opening quote is at `p`. */
function scanQuoted(b: Uint8Array, p: number): number {
  const start = p;
  p++;
  for (;;) {
    let c = b[p] as number;
    // one table test per ordinary character
    while (QUOTED_STOP[c] !== 1) c = b[++p] as number;
    if (c === DQUOTE) return p + 1;
    if (c === BACKSLASH) {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
      const n = b[p + 1];
      if (n === CR || n === LF) fail('unterminated quoted string', start);
      p += 2;
    } else if (c === CR || c === LF) {
      if (c === CR && b[p + 1] === LF && (b[p + 2] === SP || b[p + 2] === HT)) {
        folded = true;
        p += 3;
      } else fail('unterminated quoted string', start);
    } else p++;
  }
}

/** The end of a line's value: `p` must be at optional LWS followed by CRLF. */
function expectEnd(b: Uint8Array, p: number): number {
  const c = b[p];
  // the usual case first: a CRLF that does not start a fold
  if (c === CR && b[p + 1] === LF && b[p + 2] !== SP && b[p + 2] !== HT) return p;
  if (c === SP || c === HT || c === CR) p = skipLws(b, p);
  if (b[p] !== CR) fail('unexpected character', p);
  // a bare CR ends no line (RFC 3261 §7.3.1)
  if (b[p + 1] !== LF) throw new SipParseError('ERR_HEADER_SYNTAX', `${header || 'header'}: bare CR in header`, base + p, header || undefined);
  return p;
}

// ---- Names looked up in place: constants avoid slicing and re-hashing property keys ----

/** Index in its table's list of the name found by the last nameAt(), -1 if unknown. */
let nameIndex = -1;

/**
 * The name at [start, end) as a constant from the table when known (no slice, and the
 * constant is already a property key), matched case-insensitively when `fold`.
 */
function nameAt(table: NameTable, b: Uint8Array, s: string, start: number, end: number, fold: boolean): string {
  const index = findName(table, b, start, end, fold ? 0x20 : 0);
  nameIndex = index;
  if (index >= 0) return table.list[index] as string;
  const v = s.slice(start, end);
  return fold ? v.toLowerCase() : v;
}

// setParam stores each of these by name (case i stores list[i]); commonParamIndex finds them.
const PARAM_NAMES = makeNameTable([
  'branch', 'tag', 'rport', 'received', 'lr', 'transport', 'expires', 'q', 'maddr', 'user', 'ftag',
  'ttl', 'method', 'did', 'ob', 'reg-id', '+sip.instance', 'comp', 'alias',
  'refresher', 'purpose', 'duration', 'reason', 'handling', 'rinstance', 'gr', 'ttag', 'phone-context',
]);

const PARAM_LIST = PARAM_NAMES.list;

// ---- Parameters ----

/**
 * The index in PARAM_NAMES of the parameter name at [i, i + len), else -1 (then nameAt
 * slices it): unrolled compares against constants, cheaper than a table lookup.
 * `m` 0x20 folds case.
 */
function commonParamIndex(b: Uint8Array, i: number, len: number, m: number): number {
  switch (len) {
    case 1:
      // q
      if (((b[i] as number) | m) === 113) return 7;
      return -1;
    case 2:
      // lr
      if (((b[i] as number) | m) === 108 && ((b[i + 1] as number) | m) === 114) return 4;
      // ob
      if (((b[i] as number) | m) === 111 && ((b[i + 1] as number) | m) === 98) return 14;
      // gr
      if (((b[i] as number) | m) === 103 && ((b[i + 1] as number) | m) === 114) return 25;
      return -1;
    case 3:
      // tag
      if (((b[i] as number) | m) === 116 && ((b[i + 1] as number) | m) === 97 && ((b[i + 2] as number) | m) === 103) return 1;
      // ttl
      if (((b[i] as number) | m) === 116 && ((b[i + 1] as number) | m) === 116 && ((b[i + 2] as number) | m) === 108) return 11;
      // did
      if (((b[i] as number) | m) === 100 && ((b[i + 1] as number) | m) === 105 && ((b[i + 2] as number) | m) === 100) return 13;
      return -1;
    case 4:
      // user
      if (((b[i] as number) | m) === 117 && ((b[i + 1] as number) | m) === 115 && ((b[i + 2] as number) | m) === 101 && ((b[i + 3] as number) | m) === 114) return 9;
      // ftag
      if (((b[i] as number) | m) === 102 && ((b[i + 1] as number) | m) === 116 && ((b[i + 2] as number) | m) === 97 && ((b[i + 3] as number) | m) === 103) return 10;
      // comp
      if (((b[i] as number) | m) === 99 && ((b[i + 1] as number) | m) === 111 && ((b[i + 2] as number) | m) === 109 && ((b[i + 3] as number) | m) === 112) return 17;
      // ttag
      if (((b[i] as number) | m) === 116 && ((b[i + 1] as number) | m) === 116 && ((b[i + 2] as number) | m) === 97 && ((b[i + 3] as number) | m) === 103) return 26;
      return -1;
    case 5:
      // rport
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 112 && ((b[i + 2] as number) | m) === 111 && ((b[i + 3] as number) | m) === 114 && ((b[i + 4] as number) | m) === 116) return 2;
      // maddr
      if (((b[i] as number) | m) === 109 && ((b[i + 1] as number) | m) === 97 && ((b[i + 2] as number) | m) === 100 && ((b[i + 3] as number) | m) === 100 && ((b[i + 4] as number) | m) === 114) return 8;
      // alias
      if (((b[i] as number) | m) === 97 && ((b[i + 1] as number) | m) === 108 && ((b[i + 2] as number) | m) === 105 && ((b[i + 3] as number) | m) === 97 && ((b[i + 4] as number) | m) === 115) return 18;
      return -1;
    case 6:
      // branch
      if (((b[i] as number) | m) === 98 && ((b[i + 1] as number) | m) === 114 && ((b[i + 2] as number) | m) === 97 && ((b[i + 3] as number) | m) === 110 && ((b[i + 4] as number) | m) === 99 && ((b[i + 5] as number) | m) === 104) return 0;
      // method
      if (((b[i] as number) | m) === 109 && ((b[i + 1] as number) | m) === 101 && ((b[i + 2] as number) | m) === 116 && ((b[i + 3] as number) | m) === 104 && ((b[i + 4] as number) | m) === 111 && ((b[i + 5] as number) | m) === 100) return 12;
      // reg-id
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 101 && ((b[i + 2] as number) | m) === 103 && ((b[i + 3] as number) | m) === 45 && ((b[i + 4] as number) | m) === 105 && ((b[i + 5] as number) | m) === 100) return 15;
      // reason
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 101 && ((b[i + 2] as number) | m) === 97 && ((b[i + 3] as number) | m) === 115 && ((b[i + 4] as number) | m) === 111 && ((b[i + 5] as number) | m) === 110) return 22;
      return -1;
    case 7:
      // expires
      if (((b[i] as number) | m) === 101 && ((b[i + 1] as number) | m) === 120 && ((b[i + 2] as number) | m) === 112 && ((b[i + 3] as number) | m) === 105 && ((b[i + 4] as number) | m) === 114 && ((b[i + 5] as number) | m) === 101 && ((b[i + 6] as number) | m) === 115) return 6;
      // purpose
      if (((b[i] as number) | m) === 112 && ((b[i + 1] as number) | m) === 117 && ((b[i + 2] as number) | m) === 114 && ((b[i + 3] as number) | m) === 112 && ((b[i + 4] as number) | m) === 111 && ((b[i + 5] as number) | m) === 115 && ((b[i + 6] as number) | m) === 101) return 20;
      return -1;
    case 8:
      // received
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 101 && ((b[i + 2] as number) | m) === 99 && ((b[i + 3] as number) | m) === 101 && ((b[i + 4] as number) | m) === 105 && ((b[i + 5] as number) | m) === 118 && ((b[i + 6] as number) | m) === 101 && ((b[i + 7] as number) | m) === 100) return 3;
      // duration
      if (((b[i] as number) | m) === 100 && ((b[i + 1] as number) | m) === 117 && ((b[i + 2] as number) | m) === 114 && ((b[i + 3] as number) | m) === 97 && ((b[i + 4] as number) | m) === 116 && ((b[i + 5] as number) | m) === 105 && ((b[i + 6] as number) | m) === 111 && ((b[i + 7] as number) | m) === 110) return 21;
      // handling
      if (((b[i] as number) | m) === 104 && ((b[i + 1] as number) | m) === 97 && ((b[i + 2] as number) | m) === 110 && ((b[i + 3] as number) | m) === 100 && ((b[i + 4] as number) | m) === 108 && ((b[i + 5] as number) | m) === 105 && ((b[i + 6] as number) | m) === 110 && ((b[i + 7] as number) | m) === 103) return 23;
      return -1;
    case 9:
      // transport
      if (((b[i] as number) | m) === 116 && ((b[i + 1] as number) | m) === 114 && ((b[i + 2] as number) | m) === 97 && ((b[i + 3] as number) | m) === 110 && ((b[i + 4] as number) | m) === 115 && ((b[i + 5] as number) | m) === 112 && ((b[i + 6] as number) | m) === 111 && ((b[i + 7] as number) | m) === 114 && ((b[i + 8] as number) | m) === 116) return 5;
      // refresher
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 101 && ((b[i + 2] as number) | m) === 102 && ((b[i + 3] as number) | m) === 114 && ((b[i + 4] as number) | m) === 101 && ((b[i + 5] as number) | m) === 115 && ((b[i + 6] as number) | m) === 104 && ((b[i + 7] as number) | m) === 101 && ((b[i + 8] as number) | m) === 114) return 19;
      // rinstance
      if (((b[i] as number) | m) === 114 && ((b[i + 1] as number) | m) === 105 && ((b[i + 2] as number) | m) === 110 && ((b[i + 3] as number) | m) === 115 && ((b[i + 4] as number) | m) === 116 && ((b[i + 5] as number) | m) === 97 && ((b[i + 6] as number) | m) === 110 && ((b[i + 7] as number) | m) === 99 && ((b[i + 8] as number) | m) === 101) return 24;
      return -1;
    case 13:
      // +sip.instance
      if (((b[i] as number) | m) === 43 && ((b[i + 1] as number) | m) === 115 && ((b[i + 2] as number) | m) === 105 && ((b[i + 3] as number) | m) === 112 && ((b[i + 4] as number) | m) === 46 && ((b[i + 5] as number) | m) === 105 && ((b[i + 6] as number) | m) === 110 && ((b[i + 7] as number) | m) === 115 && ((b[i + 8] as number) | m) === 116 && ((b[i + 9] as number) | m) === 97 && ((b[i + 10] as number) | m) === 110 && ((b[i + 11] as number) | m) === 99 && ((b[i + 12] as number) | m) === 101) return 16;
      // phone-context
      if (((b[i] as number) | m) === 112 && ((b[i + 1] as number) | m) === 104 && ((b[i + 2] as number) | m) === 111 && ((b[i + 3] as number) | m) === 110 && ((b[i + 4] as number) | m) === 101 && ((b[i + 5] as number) | m) === 45 && ((b[i + 6] as number) | m) === 99 && ((b[i + 7] as number) | m) === 111 && ((b[i + 8] as number) | m) === 110 && ((b[i + 9] as number) | m) === 116 && ((b[i + 10] as number) | m) === 101 && ((b[i + 11] as number) | m) === 120 && ((b[i + 12] as number) | m) === 116) return 27;
      return -1;
    default:
      return -1;
  }
}


/**
 * `*( SEMI generic-param )` from `p` (RFC 3261 §25.1); names lower-cased as `sip` does,
 * flags null. Returns the position after the last parameter and its trailing LWS.
 */
function scanParams(b: Uint8Array, s: string, p: number, params: Params): number {
  for (;;) {
    let c = b[p] as number;
    if (c !== SEMI) {
      // Usually the end: a CR that does not start a fold, ">" or ",".
      if (c !== SP && c !== HT && !(c === CR && b[p + 1] === LF && (b[p + 2] === SP || b[p + 2] === HT))) return p;
      p = skipLws(b, p);
      if (b[p] !== SEMI) return p;
    }
    p = p + 1;
    c = b[p] as number;
    let index: number;
    let name = '';
    if (c === 98 && b[p + 1] === 114 && b[p + 2] === 97 && b[p + 3] === 110 && b[p + 4] === 99 && b[p + 5] === 104 && TOKEN[b[p + 6] as number] !== 1) {
      // "branch" as (nearly) every Via writes it
      index = 0;
      p += 6;
    } else if (c === 116 && b[p + 1] === 97 && b[p + 2] === 103 && TOKEN[b[p + 3] as number] !== 1) {
      // "tag" (From, To)
      index = 1;
      p += 3;
    } else if (c === 114 && b[p + 1] === 112 && b[p + 2] === 111 && b[p + 3] === 114 && b[p + 4] === 116 && TOKEN[b[p + 5] as number] !== 1) {
      // "rport" (RFC 3581)
      index = 2;
      p += 5;
    } else if (c === 114 && b[p + 1] === 101 && b[p + 2] === 99 && b[p + 3] === 101 && b[p + 4] === 105 && b[p + 5] === 118 && b[p + 6] === 101 && b[p + 7] === 100 && TOKEN[b[p + 8] as number] !== 1) {
      // "received"
      index = 3;
      p += 8;
    } else {
      if (c === SP || c === HT || c === CR) p = skipLws(b, p);
      const nameStart = p;
      p = scanToken(b, p);
      if (p === nameStart) fail('empty parameter', p);
      index = commonParamIndex(b, nameStart, p - nameStart, 0x20);
      if (index < 0) {
        name = nameAt(PARAM_NAMES, b, s, nameStart, p, true);
        index = nameIndex;
      }
    }
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    let value: string | null = null;
    if (b[p] === EQUAL) {
      p = p + 1;
      if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
      const valueStart = p;
      if (b[p] === DQUOTE) {
        folded = false;
        p = scanQuoted(b, p);
        value = sliceValue(s, valueStart, p);
      } else {
        for (;;) {
          c = b[p] as number;
          if (PARAM_VALUE[c] !== 1) break;
          p++;
        }
        if (p === valueStart) fail('empty parameter value', p);
        value = s.slice(valueStart, p);
      }
    }
    // setParam uses `name` only for indices past the named stores (set by nameAt above)
    setParam(params, index, name, value);
  }
}

/**
 * params[name] = value, with named stores for the common names: a keyed store that adds a
 * property with a varying name is several times slower than a named one.
 */
function setParam(params: Params, index: number, name: string, value: string | null): void {
  switch (index) {
    case 0:
      params.branch = value;
      break;
    case 1:
      params.tag = value;
      break;
    case 2:
      params.rport = value;
      break;
    case 3:
      params.received = value;
      break;
    case 4:
      params.lr = value;
      break;
    case 5:
      params.transport = value;
      break;
    case 6:
      params.expires = value;
      break;
    case 7:
      params.q = value;
      break;
    case 8:
      params.maddr = value;
      break;
    case 9:
      params.user = value;
      break;
    case 10:
      params.ftag = value;
      break;
    case 11:
      params.ttl = value;
      break;
    case 12:
      params.method = value;
      break;
    case 13:
      params.did = value;
      break;
    case 14:
      params.ob = value;
      break;
    case 15:
      params['reg-id'] = value;
      break;
    case 16:
      params['+sip.instance'] = value;
      break;
    case 17:
      params.comp = value;
      break;
    case 18:
      params.alias = value;
      break;
    case 19:
      params.refresher = value;
      break;
    case 20:
      params.purpose = value;
      break;
    case 21:
      params.duration = value;
      break;
    case 22:
      params.reason = value;
      break;
    case 23:
      params.handling = value;
      break;
    case 24:
      params.rinstance = value;
      break;
    case 25:
      params.gr = value;
      break;
    case 26:
      params.ttag = value;
      break;
    case 27:
      params['phone-context'] = value;
      break;
    default:
      if (name === '__proto__') Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
      else params[name] = value;
  }
}

// ---- URIs (RFC 3261 §19.1, RFC 3966, RFC 3986) ----

/** Length of the scheme at `start` (excluding the colon), 0 when there is none. */
export function schemeAt(b: Uint8Array, start: number, end: number): number {
  const first = (b[start] as number) | 0x20;
  if (first < 97 || first > 122) return 0;
  let i = start + 1;
  while (i < end) {
    const c = b[i] as number;
    if (SCHEME[c] !== 1) break;
    i++;
  }
  return i < end && b[i] === COLON ? i - start : 0;
}

// URI parameter names keep their case (as in `sip`), so they are matched exactly.
const URI_PARAM_NAMES = PARAM_NAMES;

function uriParams(b: Uint8Array, s: string, i: number, end: number, params: Params): number {
  while (i < end && b[i] === SEMI) {
    const nameStart = ++i;
    while (i < end) {
      const c = b[i];
      if (c === EQUAL || c === SEMI || c === QUESTION) break;
      i++;
    }
    if (i === nameStart) return -1;
    let index = commonParamIndex(b, nameStart, i - nameStart, 0);
    let name: string;
    if (index >= 0) name = PARAM_LIST[index] as string;
    else {
      name = nameAt(URI_PARAM_NAMES, b, s, nameStart, i, false);
      index = nameIndex;
    }
    let value: string | null = null;
    if (b[i] === EQUAL) {
      const valueStart = ++i;
      while (i < end && b[i] !== SEMI && b[i] !== QUESTION) i++;
      if (i === valueStart) return -1;
      value = s.slice(valueStart, i);
    }
    setParam(params, index, name, value);
  }
  return i;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/**
 * A URI occupying s[start, end) exactly; undefined when malformed. `knownAt` -2: the
 * characters are unchecked; otherwise the caller already refused the characters never allowed
 * (a URI inside <>) and found the first "@" (-1: none).
 */
export function uriAt(b: Uint8Array, s: string, start: number, end: number, knownAt = -2): SipUri | undefined {
  const schemeLen = schemeAt(b, start, end);
  if (schemeLen === 0 || start + schemeLen + 1 >= end) return undefined;
  // One pass: characters never in a URI (CTLs, SP, DEL, "<", ">", DQUOTE), and the first "@"
  // (RFC 3261 §19.1.1: "@" cannot appear unescaped in params or headers, so it ends the
  // userinfo, which may itself hold ";", "?", "," and ":").
  let at = knownAt;
  if (at === -2) {
    at = -1;
    for (let j = start + schemeLen + 1; j < end; j++) {
      const c = b[j] as number;
      if (c <= 0x20 || c === 0x7f || c === LAQUOT || c === RAQUOT || c === DQUOTE) return undefined;
      if (c === AT && at < 0) at = j;
    }
  }
  const c0 = (b[start] as number) | 0x20;
  let schema: string;
  if (schemeLen === 3 && c0 === 115 && ((b[start + 1] as number) | 0x20) === 105 && ((b[start + 2] as number) | 0x20) === 112) schema = 'sip';
  else if (schemeLen === 4 && c0 === 115 && ((b[start + 1] as number) | 0x20) === 105 && ((b[start + 2] as number) | 0x20) === 112 && ((b[start + 3] as number) | 0x20) === 115) schema = 'sips';
  else schema = s.slice(start, start + schemeLen).toLowerCase();
  let i = start + schemeLen + 1;
  const params: Params = {};
  const headers: Record<string, string> = {};

  if (schema === 'tel') {
    // RFC 3966: the number goes in `user`, as in the equivalent sip: URI (RFC 3261 §19.1.6).
    const numberStart = i;
    while (i < end && b[i] !== SEMI) i++;
    if (i === numberStart) return undefined;
    const user = s.slice(numberStart, i);
    if (uriParams(b, s, i, end, params) !== end) return undefined;
    return { schema, user, password: undefined, host: '', port: undefined, params, headers };
  }
  if (schema !== 'sip' && schema !== 'sips') {
    return { schema, user: undefined, password: undefined, host: '', port: undefined, params, headers, opaque: s.slice(i, end) };
  }

  let user: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    let colon = -1;
    for (let j = i; j < at; j++) {
      if (b[j] === COLON) {
        colon = j;
        break;
      }
    }
    if (colon >= 0) {
      user = s.slice(i, colon);
      password = s.slice(colon + 1, at);
    } else user = s.slice(i, at);
    if (at === i || colon === i) return undefined;
    i = at + 1;
  }

  const hostStart = i;
  if (b[i] === LBRACKET) {
    // IPv6reference: brackets are kept in `host`
    i++;
    while (i < end && b[i] !== RBRACKET) {
      const c = b[i] as number;
      if (!isHex(c) && c !== COLON && c !== DOT) return undefined;
      i++;
    }
    if (i >= end) return undefined;
    i++;
  } else {
    while (i < end) {
      const c = b[i] as number;
      if (HOST[c] !== 1) break;
      i++;
    }
  }
  if (i === hostStart) return undefined;
  const host = s.slice(hostStart, i);

  let port: number | undefined;
  if (i < end && b[i] === COLON) {
    const portStart = ++i;
    let n = 0;
    while (i < end) {
      const c = b[i] as number;
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    if (i === portStart || i - portStart > 5 || n > 65535) return undefined;
    port = n;
  }

  i = uriParams(b, s, i, end, params);
  if (i < 0) return undefined;

  if (i < end && b[i] === QUESTION) {
    // headers = "?" header *( "&" header ), header = hname "=" hvalue
    i++;
    if (i === end) return undefined;
    while (i < end) {
      const nameStart = i;
      while (i < end && b[i] !== EQUAL && b[i] !== AMP) i++;
      if (i === nameStart || b[i] !== EQUAL) return undefined;
      const name = s.slice(nameStart, i);
      const valueStart = ++i;
      while (i < end && b[i] !== AMP) i++;
      headers[name] = s.slice(valueStart, i);
      if (i < end) {
        i++;
        if (i === end) return undefined;
      }
    }
  }
  if (i !== end) return undefined;
  return { schema, user, password, host, port, params, headers };
}

// ---- Via (RFC 3261 §20.42) ----

function isSip(b: Uint8Array, p: number): boolean {
  return ((b[p] as number) | 0x20) === 115 && ((b[p + 1] as number) | 0x20) === 105 && ((b[p + 2] as number) | 0x20) === 112;
}

function transportAt(b: Uint8Array, s: string, start: number, end: number): string {
  const len = end - start;
  if (len === 3) {
    const c0 = b[start];
    const c1 = b[start + 1];
    const c2 = b[start + 2];
    if (c0 === 85 && c1 === 68 && c2 === 80) return 'UDP';
    if (c0 === 84 && c1 === 67 && c2 === 80) return 'TCP';
    if (c0 === 84 && c1 === 76 && c2 === 83) return 'TLS';
    if (c0 === 87 && c1 === 83 && c2 === 83) return 'WSS';
  } else if (len === 2 && b[start] === 87 && b[start + 1] === 83) return 'WS';
  // Transports are case-insensitive (RFC 3261 §7.3.1) and written upper-case.
  return s.slice(start, end).toUpperCase();
}

function scanVia(b: Uint8Array, s: string, p: number): Via {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  let version: string;
  let protocol: string;
  let q: number;
  if (b[p] === 83 && b[p + 1] === 73 && b[p + 2] === 80 && b[p + 3] === SLASH && b[p + 4] === 50 && b[p + 5] === DOT && b[p + 6] === 48 && b[p + 7] === SLASH) {
    // "SIP/2.0/" as nearly everyone writes it: no LWS to look for
    version = '2.0';
    p += 8;
    q = p;
    for (;;) {
      const c = b[q] as number;
      if (TOKEN[c] !== 1) break;
      q++;
    }
    if (q === p) fail('expected transport', p);
    protocol = transportAt(b, s, p, q);
    p = q;
  } else {
    q = scanToken(b, p);
    if (q - p !== 3 || !isSip(b, p)) fail('expected SIP/2.0/transport', p);
    p = q;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    if (b[p] !== SLASH) fail('expected "/"', p);
    p = p + 1;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    q = scanToken(b, p);
    if (q === p) fail('expected protocol version', p);
    version = q - p === 3 && b[p] === 50 && b[p + 1] === DOT && b[p + 2] === 48 ? '2.0' : s.slice(p, q);
    p = q;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    if (b[p] !== SLASH) fail('expected "/"', p);
    p = p + 1;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    q = scanToken(b, p);
    if (q === p) fail('expected transport', p);
    protocol = transportAt(b, s, p, q);
    p = q;
  }
  if (b[p] === SP) {
    p++;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  } else {
    if (b[p] === HT || b[p] === CR) p = skipLws(b, p);
    if (p === q) fail('expected whitespace before sent-by', p);
  }
  const hostStart = p;
  if (b[p] === LBRACKET) {
    p++;
    while (b[p] !== RBRACKET) {
      const c = b[p] as number;
      if (!isHex(c) && c !== COLON && c !== DOT) fail('bad IPv6 reference', p);
      p++;
    }
    p++;
  } else {
    for (;;) {
      const c = b[p] as number;
      if (HOST[c] !== 1) break;
      p++;
    }
  }
  if (p === hostStart) fail('expected sent-by host', p);
  const host = s.slice(hostStart, p);
  let port: number | undefined;
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  if (b[p] === COLON) {
    p = p + 1;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    const portStart = p;
    let n = 0;
    for (;;) {
      const c = b[p] as number;
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      p++;
    }
    if (p === portStart || p - portStart > 5 || n > 65535) fail('bad port', portStart);
    port = n;
  }
  const params: Params = {};
  pos = scanParams(b, s, p, params);
  return { version, protocol, host, port, params };
}

/** Via values from `p` to the end of the line, appended to `out`. Returns the CR index. */
export function scanViaList(b: Uint8Array, s: string, p: number, out: Via[]): number {
  for (;;) {
    out.push(scanVia(b, s, p));
    p = pos;
    if (b[p] !== COMMA) return expectEnd(b, p);
    p++;
  }
}

// ---- name-addr / addr-spec (From, To, Contact, Route, Record-Route, Path, Refer-To) ----

/**
 * An addr-spec outside <>: 1 ends it (";", SP, HT, CR), 2 is "," (ends it in a list),
 * 3 is never allowed (CTLs, DEL, "<", ">", DQUOTE).
 */
const ADDR_SPEC = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) t[c] = 3;
  t[0x7f] = 3;
  t[LAQUOT] = 3;
  t[RAQUOT] = 3;
  t[DQUOTE] = 3;
  t[SEMI] = 1;
  t[SP] = 1;
  t[HT] = 1;
  t[CR] = 1;
  t[COMMA] = 2;
  return t;
})();

/**
 * A name-addr or addr-spec from `p`: returns its params, leaves the display name in addrName,
 * the URI's extent in uriFrom/uriTo and its first "@" in uriFirstAt (-2: an addr-spec, whose
 * characters are still to be checked), and the end in pos. Callers build the objects, so a
 * Route's URI string is never sliced only to be parsed again.
 */
function scanAddr(b: Uint8Array, s: string, p: number, inList: boolean): Params {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  let name: string | undefined;
  const c0 = b[p];
  if (c0 === DQUOTE) {
    // The display name keeps its quotes, as in `sip`; stringify writes it back unchanged.
    folded = false;
    const q = scanQuoted(b, p);
    name = sliceValue(s, p, q);
    p = q;
    if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
    if (b[p] !== LAQUOT) fail('expected "<" after display name', p);
  } else if (c0 !== LAQUOT) {
    // *(token LWS) "<", or an addr-spec ("scheme:..."). UTF-8 in an unquoted display name is
    // outside the grammar but common: accepted here, quoted again by stringify.
    let q = p;
    let last = p;
    let sawSpace = false;
    let high = 0;
    folded = false;
    for (;;) {
      const c = b[q] as number;
      if (c >= 128 || TOKEN[c] === 1) {
        high |= c;
        q++;
        last = q;
      } else if (c === SP || c === HT || (c === CR && b[q + 1] === LF && (b[q + 2] === SP || b[q + 2] === HT))) {
        sawSpace = true;
        if (b[q] === SP || b[q] === HT || b[q] === CR) q = skipLws(b, q);
      } else break;
    }
    const c = b[q];
    if (c === LAQUOT) {
      if (last > p) {
        name = sliceValue(s, p, last);
        // Non-ASCII is only valid quoted: hold such a name in its quoted form, as stringify
        // writes it, so that it reads the same after a round trip.
        if (high >= 128) name = quote(name);
      }
      p = q;
    } else if (c === COLON && !sawSpace && q > p) {
      // addr-spec: RFC 3261 §20.10 says a URI with ";", "," or "?" needs <>, so ";" and ","
      // end it (then come header parameters); "?" is kept liberally (RFC 4475 §3.1.2.13).
      const uriStart = p;
      q++;
      for (;;) {
        const k = ADDR_SPEC[b[q] as number];
        if (k !== 0) {
          if (k === 1 || (k === 2 && inList)) break;
          if (k !== 2) fail('bad character in URI', q);
        }
        q++;
      }
      const schemeLen = schemeAt(b, uriStart, q);
      if (schemeLen === 0 || q === uriStart + schemeLen + 1) fail('bad URI', uriStart);
      const params: Params = {};
      pos = scanParams(b, s, q, params);
      addrName = undefined;
      uriFrom = uriStart;
      uriTo = q;
      uriFirstAt = -2;
      return params;
    } else {
      return fail('expected name-addr or addr-spec', q);
    }
  }
  // "<" addr-spec ">"; whitespace inside the brackets is tolerated (RFC 4475 §3.1.2.14).
  p = p + 1;
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const uriStart = p;
  let at = -1;
  for (;;) {
    const k = URI_IN_BRACKETS[b[p] as number];
    if (k !== 0) {
      if (k === 1) break;
      if (k !== 3) fail('bad character in URI', p);
      if (at < 0) at = p;
    }
    p++;
  }
  const uriEnd = p;
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  if (b[p] !== RAQUOT) fail('missing ">"', p);
  if (schemeAt(b, uriStart, uriEnd) === 0) fail('bad URI', uriStart);
  const params: Params = {};
  pos = scanParams(b, s, p + 1, params);
  addrName = name;
  uriFrom = uriStart;
  uriTo = uriEnd;
  uriFirstAt = at;
  return params;
}

function scanNameAddr(b: Uint8Array, s: string, p: number, inList: boolean): NameAddr {
  const params = scanAddr(b, s, p, inList);
  return { name: addrName, uri: s.slice(uriFrom, uriTo), params };
}

/** One name-addr filling the line (From, To, Refer-To). Returns the CR index. */
export function scanSingleNameAddr(b: Uint8Array, s: string, p: number): NameAddr {
  const v = scanNameAddr(b, s, p, false);
  pos = expectEnd(b, pos);
  return v;
}

export function scanNameAddrList(b: Uint8Array, s: string, p: number, out: NameAddr[]): number {
  for (;;) {
    out.push(scanNameAddr(b, s, p, true));
    p = pos;
    if (b[p] !== COMMA) return expectEnd(b, p);
    p++;
  }
}

/**
 * URI parameter characters inside "<>" on the single-pass route: 3 in names and values, 2 ("=")
 * in values only, 0 ends either. That is what the bracket scan allows, less the separators;
 * "@" ends both: unescaped it can only end a userinfo (RFC 3261 §19.1.1), which that route
 * leaves to the general one.
 */
const BRACKET_PARAM = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x21; c < 0x100; c++) t[c] = 3;
  for (const c of ';?<>"@') t[c.charCodeAt(0)] = 0;
  t[0x7f] = 0;
  t[EQUAL] = 2; // only in values
  return t;
})();

/**
 * A Route/Record-Route/Path value written the usual way, `<sip:host[:port][;params]>` with an
 * optional user made of host characters, parsed in one pass from `p` (at optional SP/HT).
 * Returns the URI and leaves the index after ">" in pos; undefined for anything else (a
 * display name, LWS inside the brackets, other schemes, IPv6, escapes, URI headers, a
 * malformed value), which the general route (scanAddr, then uriAt) parses or rejects.
 */
function bracketSipUri(b: Uint8Array, s: string, p: number): SipUri | undefined {
  while (b[p] === SP || b[p] === HT) p++;
  if (b[p] !== LAQUOT || ((b[p + 1] as number) | 0x20) !== 115 || ((b[p + 2] as number) | 0x20) !== 105 || ((b[p + 3] as number) | 0x20) !== 112) return undefined;
  let schema: string;
  let i: number;
  if (b[p + 4] === COLON) {
    schema = 'sip';
    i = p + 5;
  } else if (((b[p + 4] as number) | 0x20) === 115 && b[p + 5] === COLON) {
    schema = 'sips';
    i = p + 6;
  } else return undefined;
  let hostStart = i;
  while (HOST[b[i] as number] === 1) i++;
  let user: string | undefined;
  if (b[i] === AT) {
    if (i === hostStart) return undefined;
    user = s.slice(hostStart, i);
    hostStart = ++i;
    while (HOST[b[i] as number] === 1) i++;
  }
  if (i === hostStart) return undefined;
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  if (b[i] === COLON) {
    const portStart = ++i;
    let n = 0;
    for (;;) {
      const c = b[i] as number;
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    if (i === portStart || i - portStart > 5 || n > 65535) return undefined;
    port = n;
  }
  const params: Params = {};
  while (b[i] === SEMI) {
    const nameStart = ++i;
    while (BRACKET_PARAM[b[i] as number] === 3) i++;
    if (i === nameStart) return undefined;
    let index = commonParamIndex(b, nameStart, i - nameStart, 0);
    let name: string;
    if (index >= 0) name = PARAM_LIST[index] as string;
    else {
      name = nameAt(URI_PARAM_NAMES, b, s, nameStart, i, false);
      index = nameIndex;
    }
    let value: string | null = null;
    if (b[i] === EQUAL) {
      const valueStart = ++i;
      while (BRACKET_PARAM[b[i] as number] !== 0) i++;
      if (i === valueStart) return undefined;
      value = s.slice(valueStart, i);
    }
    setParam(params, index, name, value);
  }
  if (b[i] !== RAQUOT) return undefined;
  pos = i + 1;
  return { schema, user, password: undefined, host, port, params, headers: {} };
}

export function scanRouteList(b: Uint8Array, s: string, p: number, out: RouteAddr[]): number {
  for (;;) {
    const at = p;
    let uri = bracketSipUri(b, s, p);
    if (uri !== undefined) {
      const params: Params = {};
      pos = scanParams(b, s, pos, params);
      out.push({ name: undefined, uri, params });
    } else {
      const params = scanAddr(b, s, p, true);
      uri = uriAt(b, s, uriFrom, uriTo, uriFirstAt);
      if (uri === undefined) fail('bad URI', at);
      out.push({ name: addrName, uri, params });
    }
    p = pos;
    if (b[p] !== COMMA) return expectEnd(b, p);
    p++;
  }
}

// ---- CSeq (RFC 3261 §20.16), Content-Length, Max-Forwards, Call-ID ----

const METHOD_LIST: readonly string[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];

/** The index in METHODS of the method at [i, i + len) (exact, upper case), -1 if none: unrolled compares. */
function methodIndex(b: Uint8Array, i: number, len: number): number {
  switch (len) {
    case 3:
      if (b[i] === 65 && b[i + 1] === 67 && b[i + 2] === 75) return 1; // ACK
      if (b[i] === 66 && b[i + 1] === 89 && b[i + 2] === 69) return 2; // BYE
      return -1;
    case 4:
      if (b[i] === 73 && b[i + 1] === 78 && b[i + 2] === 70 && b[i + 3] === 79) return 10; // INFO
      return -1;
    case 5:
      if (b[i] === 80 && b[i + 1] === 82 && b[i + 2] === 65 && b[i + 3] === 67 && b[i + 4] === 75) return 6; // PRACK
      if (b[i] === 82 && b[i + 1] === 69 && b[i + 2] === 70 && b[i + 3] === 69 && b[i + 4] === 82) return 11; // REFER
      return -1;
    case 6:
      if (b[i] === 73 && b[i + 1] === 78 && b[i + 2] === 86 && b[i + 3] === 73 && b[i + 4] === 84 && b[i + 5] === 69) return 0; // INVITE
      if (b[i] === 67 && b[i + 1] === 65 && b[i + 2] === 78 && b[i + 3] === 67 && b[i + 4] === 69 && b[i + 5] === 76) return 3; // CANCEL
      if (b[i] === 78 && b[i + 1] === 79 && b[i + 2] === 84 && b[i + 3] === 73 && b[i + 4] === 70 && b[i + 5] === 89) return 8; // NOTIFY
      if (b[i] === 85 && b[i + 1] === 80 && b[i + 2] === 68 && b[i + 3] === 65 && b[i + 4] === 84 && b[i + 5] === 69) return 13; // UPDATE
      return -1;
    case 7:
      if (b[i] === 79 && b[i + 1] === 80 && b[i + 2] === 84 && b[i + 3] === 73 && b[i + 4] === 79 && b[i + 5] === 78 && b[i + 6] === 83) return 4; // OPTIONS
      if (b[i] === 80 && b[i + 1] === 85 && b[i + 2] === 66 && b[i + 3] === 76 && b[i + 4] === 73 && b[i + 5] === 83 && b[i + 6] === 72) return 9; // PUBLISH
      if (b[i] === 77 && b[i + 1] === 69 && b[i + 2] === 83 && b[i + 3] === 83 && b[i + 4] === 65 && b[i + 5] === 71 && b[i + 6] === 69) return 12; // MESSAGE
      return -1;
    case 8:
      if (b[i] === 82 && b[i + 1] === 69 && b[i + 2] === 71 && b[i + 3] === 73 && b[i + 4] === 83 && b[i + 5] === 84 && b[i + 6] === 69 && b[i + 7] === 82) return 5; // REGISTER
      return -1;
    case 9:
      if (b[i] === 83 && b[i + 1] === 85 && b[i + 2] === 66 && b[i + 3] === 83 && b[i + 4] === 67 && b[i + 5] === 82 && b[i + 6] === 73 && b[i + 7] === 66 && b[i + 8] === 69) return 7; // SUBSCRIBE
      return -1;
    default:
      return -1;
  }
}

/** Reads a method token at [start, end) as a constant when it is a known method. */
export function methodAt(b: Uint8Array, s: string, start: number, end: number): string {
  const index = methodIndex(b, start, end - start);
  return index >= 0 ? (METHOD_LIST[index] as string) : s.slice(start, end);
}

export function scanCSeq(b: Uint8Array, s: string, p: number, headers: SipHeaders): number {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const digitsStart = p;
  let seq = 0;
  for (;;) {
    const c = b[p] as number;
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    p++;
  }
  // RFC 3261 §8.1.1.5: a 32-bit unsigned integer
  if (p === digitsStart || seq > 0xffffffff) fail('bad sequence number', digitsStart);
  const q = skipLws(b, p);
  if (q === p) fail('expected method', q);
  p = scanToken(b, q);
  if (p === q) fail('bad method', q);
  headers.cseq = { seq, method: methodAt(b, s, q, p) };
  return expectEnd(b, p);
}

/** 1*DIGIT up to 15 digits (RFC 3261 §20.14, §20.22); -1 when malformed. Sets pos to the CR. */
export function scanNumber(b: Uint8Array, p: number): number {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const start = p;
  let n = 0;
  for (;;) {
    const c = b[p] as number;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    p++;
  }
  if (p === start || p - start > 15) return -1;
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  if (b[p] !== CR) return -1;
  pos = p;
  return n;
}

export function scanPos(): number {
  return pos;
}

/** Call-ID = word ["@" word]: visible characters, no whitespace (RFC 3261 §20.8). */
export function scanCallId(b: Uint8Array, s: string, p: number, headers: SipHeaders): number {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const start = p;
  for (;;) {
    const c = b[p] as number;
    if (c <= 0x20 || c === 0x7f) break;
    p++;
  }
  if (p === start) fail('empty', p);
  headers['call-id'] = s.slice(start, p);
  return expectEnd(b, p);
}

/** A header kept as its raw value: folds become one SP, trailing whitespace is trimmed. */
export function scanRaw(b: Uint8Array, s: string, p: number): string {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  // The line end by native search: values are long and need no per-character work unless
  // they hold a bare LF (an error) or continue on the next line (folding).
  const cr = s.indexOf('\r', p);
  // The first LF must be the one after that CR: no bare LF inside the value (forward
  // indexOf is a fast builtin; lastIndexOf goes through the runtime).
  if (cr >= 0 && b[cr + 2] !== SP && b[cr + 2] !== HT && s.indexOf('\n', p) === cr + 1) {
    let end = cr;
    while (end > p && (b[end - 1] === SP || b[end - 1] === HT)) end--;
    pos = cr;
    return s.slice(p, end);
  }
  return scanRawFolded(b, s, p);
}

function scanRawFolded(b: Uint8Array, s: string, p: number): string {
  const start = p;
  let end = p;
  for (;;) {
    const c = b[p];
    if (c === CR) {
      if (b[p + 1] !== LF) break;
      if (b[p + 2] === SP || b[p + 2] === HT) {
        p += 3;
        continue;
      }
      pos = p;
      return unfold(s.slice(start, end)).trim();
    }
    if (c === LF) break;
    p++;
    if (c !== SP && c !== HT) end = p;
  }
  throw new SipParseError('ERR_HEADER_SYNTAX', `${header}: bare CR or LF in header`, base + p, header);
}

// ---- Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, RFC 7616) ----

// Digest parameter names (RFC 3261 §25.1, RFC 7616), matched exactly as `sip` keeps names.
const AUTH_NAMES = makeNameTable([
  'realm', 'nonce', 'uri', 'response', 'username', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque',
  'stale', 'domain', 'nextnonce', 'rspauth', 'userhash', 'charset',
]);

/** The index in AUTH_NAMES of the usual digest parameter names (exact), -1 otherwise: unrolled compares. */
function authParamIndex(b: Uint8Array, i: number, len: number): number {
  switch (len) {
    case 2:
      if (b[i] === 110 && b[i + 1] === 99) return 7; // nc
      return -1;
    case 3:
      if (b[i] === 117 && b[i + 1] === 114 && b[i + 2] === 105) return 2; // uri
      if (b[i] === 113 && b[i + 1] === 111 && b[i + 2] === 112) return 6; // qop
      return -1;
    case 5:
      if (b[i] === 114 && b[i + 1] === 101 && b[i + 2] === 97 && b[i + 3] === 108 && b[i + 4] === 109) return 0; // realm
      if (b[i] === 110 && b[i + 1] === 111 && b[i + 2] === 110 && b[i + 3] === 99 && b[i + 4] === 101) return 1; // nonce
      return -1;
    case 6:
      if (b[i] === 99 && b[i + 1] === 110 && b[i + 2] === 111 && b[i + 3] === 110 && b[i + 4] === 99 && b[i + 5] === 101) return 8; // cnonce
      if (b[i] === 111 && b[i + 1] === 112 && b[i + 2] === 97 && b[i + 3] === 113 && b[i + 4] === 117 && b[i + 5] === 101) return 9; // opaque
      return -1;
    case 8:
      if (b[i] === 114 && b[i + 1] === 101 && b[i + 2] === 115 && b[i + 3] === 112 && b[i + 4] === 111 && b[i + 5] === 110 && b[i + 6] === 115 && b[i + 7] === 101) return 3; // response
      if (b[i] === 117 && b[i + 1] === 115 && b[i + 2] === 101 && b[i + 3] === 114 && b[i + 4] === 110 && b[i + 5] === 97 && b[i + 6] === 109 && b[i + 7] === 101) return 4; // username
      return -1;
    case 9:
      if (b[i] === 97 && b[i + 1] === 108 && b[i + 2] === 103 && b[i + 3] === 111 && b[i + 4] === 114 && b[i + 5] === 105 && b[i + 6] === 116 && b[i + 7] === 104 && b[i + 8] === 109) return 5; // algorithm
      return -1;
    default:
      return -1;
  }
}

function scanAuthParam(b: Uint8Array, s: string, p: number, into: Record<string, string>): number {
  return scanAuthParamFrom(b, s, p, scanToken(b, p), into);
}

/** The stores of scanAuthParamFrom's switch, by index. */
const AUTH_KEYS = ['realm', 'nonce', 'uri', 'response', 'username', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque', 'stale', 'domain', 'nextnonce', 'rspauth', 'userhash', 'charset'] as const;

/**
 * The brand a repeated auth-param leaves on its header object: a non-enumerable own property
 * holding the repeated name in lower case (so stringify and JSON never see it).
 */
const DUPLICATE_AUTH_PARAM: unique symbol = Symbol.for('@sipts/message.duplicateAuthParam') as never;

function markDuplicateAuthParam(into: Record<string, string>, name: string): void {
  if (Object.prototype.hasOwnProperty.call(into, DUPLICATE_AUTH_PARAM)) return;
  Object.defineProperty(into, DUPLICATE_AUTH_PARAM, { value: name, enumerable: false, configurable: true });
}

/** An auth-param whose name (a token, maybe empty) is [nameStart, p). */
function scanAuthParamFrom(b: Uint8Array, s: string, nameStart: number, p: number, into: Record<string, string>): number {
  if (p === nameStart) fail('expected auth-param', p);
  let index = authParamIndex(b, nameStart, p - nameStart);
  let name = '';
  if (index < 0) {
    name = nameAt(AUTH_NAMES, b, s, nameStart, p, false);
    index = nameIndex;
  }
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  if (b[p] !== EQUAL) fail('expected "="', p);
  p = p + 1;
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const valueStart = p;
  let value: string;
  if (b[p] === DQUOTE) {
    folded = false;
    p = scanQuoted(b, p);
    value = sliceValue(s, valueStart, p);
  } else {
    for (;;) {
      const c = b[p] as number;
      if (PARAM_VALUE[c] !== 1) break;
      p++;
    }
    // token68-style trailing "=" padding (base64) stays with the value
    while (b[p] === EQUAL) p++;
    if (p === valueStart) fail('empty auth-param value', p);
    value = s.slice(valueStart, p);
  }
  // RFC 7616 §3.4 / RFC 3261 §25.1: each auth-param once. The object keeps one value per name,
  // so a repeat is marked (not thrown: a challenge with a repeated param is still readable) for
  // @sipts/digest to refuse the credentials.
  const key = index >= 0 && index < AUTH_KEYS.length ? (AUTH_KEYS[index] as string) : name;
  if (Object.prototype.hasOwnProperty.call(into, key)) markDuplicateAuthParam(into, key.toLowerCase());
  // named stores for the known names (see setParam)
  switch (index) {
    case 0:
      into.realm = value;
      break;
    case 1:
      into.nonce = value;
      break;
    case 2:
      into.uri = value;
      break;
    case 3:
      into.response = value;
      break;
    case 4:
      into.username = value;
      break;
    case 5:
      into.algorithm = value;
      break;
    case 6:
      into.qop = value;
      break;
    case 7:
      into.nc = value;
      break;
    case 8:
      into.cnonce = value;
      break;
    case 9:
      into.opaque = value;
      break;
    case 10:
      into.stale = value;
      break;
    case 11:
      into.domain = value;
      break;
    case 12:
      into.nextnonce = value;
      break;
    case 13:
      into.rspauth = value;
      break;
    case 14:
      into.userhash = value;
      break;
    case 15:
      into.charset = value;
      break;
    default:
      if (name === '__proto__') Object.defineProperty(into, name, { value, enumerable: true, writable: true, configurable: true });
      else into[name] = value;
  }
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  return p;
}

/** One challenge or credentials: scheme, then comma-separated params (as on the wire). */
function scanAuth(b: Uint8Array, s: string, p: number): AuthHeader {
  if (b[p] === SP || b[p] === HT || b[p] === CR) p = skipLws(b, p);
  const schemeStart = p;
  p = scanToken(b, p);
  if (p === schemeStart) fail('expected auth scheme', p);
  const auth: AuthHeader = { scheme: s.slice(schemeStart, p) };
  const q = skipLws(b, p);
  if (b[q] === CR || b[q] === COMMA) {
    pos = q;
    return auth;
  }
  if (q === p) fail('expected whitespace after scheme', q);
  p = scanAuthParam(b, s, q, auth);
  while (b[p] === COMMA) {
    // A comma starts either the next param or the next challenge ("token LWS token").
    let next = p + 1;
    if (b[next] === SP || b[next] === HT || b[next] === CR) next = skipLws(b, next);
    const nameEnd = scanToken(b, next);
    let t = nameEnd;
    if (b[t] === SP || b[t] === HT || b[t] === CR) t = skipLws(b, t);
    if (b[t] !== EQUAL) break;
    p = scanAuthParamFrom(b, s, next, nameEnd, auth);
  }
  pos = p;
  return auth;
}

export function scanAuthList(b: Uint8Array, s: string, p: number, out: AuthHeader[]): number {
  for (;;) {
    out.push(scanAuth(b, s, p));
    p = pos;
    if (b[p] !== COMMA) return expectEnd(b, p);
    p++;
  }
}

/** Authentication-Info: comma-separated params. Returns the CR index. */
export function scanAuthInfo(b: Uint8Array, s: string, p: number, into: AuthInfo): number {
  p = scanAuthParam(b, s, skipLws(b, p), into);
  while (b[p] === COMMA) p = scanAuthParam(b, s, skipLws(b, p + 1), into);
  return expectEnd(b, p);
}

/** Single-value scanners for the public helpers: the value must fill the line. */
export function scanNameAddrValue(b: Uint8Array, s: string): NameAddr {
  const v = scanNameAddr(b, s, 0, false);
  expectEnd(b, pos);
  return v;
}

export function scanAuthValue(b: Uint8Array, s: string): AuthHeader {
  const v = scanAuth(b, s, 0);
  if (b[pos] === COMMA) fail('more than one value; use parseAuthHeaders', pos);
  expectEnd(b, pos);
  return v;
}

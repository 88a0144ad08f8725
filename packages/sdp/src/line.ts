// One SDP line to its typed form and back (RFC 8866 §5, §9). Reading is lenient where the real
// world is sloppy (runs of spaces or tabs between fields, trailing spaces, leading zeros) and
// keeps such a line's text in `raw`; writing produces the canonical form and refuses anything
// that would not read back as the same value (a line break or NUL anywhere, a space inside a
// token, an out-of-range number). Char-code scanning only: no regular expressions.
import { SdpError, type SdpErrorCode } from './errors.js';
import type {
  SdpAttribute,
  SdpBandwidth,
  SdpConnection,
  SdpLine,
  SdpMedia,
  SdpOrigin,
  SdpTextLine,
  SdpTiming,
  SdpVersionLine,
} from './types.js';

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const COLON = 0x3a;
const EQUALS = 0x3d;
const ZERO = 0x30;
const NINE = 0x39;

/** The largest port of an m= line or a=rtcp (UDP/TCP ports are 16-bit). */
export const MAX_PORT = 65535;
/** Bandwidths up to 15 digits: exact as JavaScript numbers. */
const MAX_BANDWIDTH = 999_999_999_999_999;

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isBlank(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * The fields of text[start, end) separated by runs of SP/HTAB. `canonical` is cleared when the
 * separators are not single spaces or there is leading or trailing whitespace.
 */
interface Fields {
  list: string[];
  canonical: boolean;
}

function splitFields(text: string, start: number, end: number): Fields {
  const list: string[] = [];
  let canonical = true;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (isBlank(c)) {
      // a separator is canonical only as one SP between two fields
      if (c !== SP || i === start || i + 1 >= end || isBlank(text.charCodeAt(i + 1))) canonical = false;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < end && !isBlank(text.charCodeAt(j))) j++;
    list.push(text.slice(i, j));
    i = j;
  }
  if (list.length === 0 && end > start) canonical = false;
  return { list, canonical };
}

/** Decimal digits only, at most `maxDigits` of them after any leading zeros; -1 otherwise. */
function digitsValue(s: string, maxDigits: number): number {
  const n = s.length;
  if (n === 0) return -1;
  let v = 0;
  let significant = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return -1;
    if (v !== 0 || c !== ZERO) significant++;
    if (significant > maxDigits) return -1;
    v = v * 10 + (c - ZERO);
  }
  return v;
}

function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/** A number written without a leading zero ("0" itself is fine). */
function noLeadingZero(s: string): boolean {
  return s.length === 1 || s.charCodeAt(0) !== ZERO;
}

function fail(code: SdpErrorCode, message: string, lineNo: number): never {
  throw new SdpError(code, `line ${lineNo}: ${message}`, { line: lineNo });
}

function parseVersion(text: string, start: number, end: number, lineNo: number): SdpVersionLine {
  const f = splitFields(text, start + 2, end);
  const token = f.list[0];
  const version = f.list.length === 1 && token !== undefined ? digitsValue(token, 9) : -1;
  if (version < 0) fail('ERR_VERSION', 'v= must be a number', lineNo);
  const line: SdpVersionLine = { type: 'v', version };
  if (!f.canonical || !noLeadingZero(token as string)) line.raw = text.slice(start, end);
  return line;
}

function parseOrigin(text: string, start: number, end: number, lineNo: number): SdpOrigin {
  const f = splitFields(text, start + 2, end);
  if (f.list.length !== 6) fail('ERR_ORIGIN', `o= needs 6 fields, found ${f.list.length}`, lineNo);
  const [username, sessionId, sessionVersion, netType, addrType, address] = f.list as [string, string, string, string, string, string];
  const line: SdpOrigin = { type: 'o', username, sessionId, sessionVersion, netType, addrType, address };
  if (!f.canonical) line.raw = text.slice(start, end);
  return line;
}

function parseConnection(text: string, start: number, end: number, lineNo: number): SdpConnection {
  const f = splitFields(text, start + 2, end);
  if (f.list.length !== 3) fail('ERR_CONNECTION', `c= needs 3 fields, found ${f.list.length}`, lineNo);
  const [netType, addrType, full] = f.list as [string, string, string];
  let address = full;
  let ttl: number | undefined;
  let count: number | undefined;
  let canonical = f.canonical;
  // RFC 8866 §5.7: IP4 multicast is <addr>/<ttl>[/<count>], IP6 multicast <addr>[/<count>].
  // Other address types keep the slashes in the address.
  const isIp4 = addrType === 'IP4';
  if (isIp4 || addrType === 'IP6') {
    const slash = full.indexOf('/');
    if (slash >= 0) {
      address = full.slice(0, slash);
      const rest = full.slice(slash + 1);
      const slash2 = rest.indexOf('/');
      const first = slash2 >= 0 ? rest.slice(0, slash2) : rest;
      const second = slash2 >= 0 ? rest.slice(slash2 + 1) : undefined;
      const a = digitsValue(first, 9);
      const b = second === undefined ? 0 : digitsValue(second, 9);
      // the TTL is 0-255 (RFC 8866 §5.7)
      if (a < 0 || b < 0 || address.length === 0 || (isIp4 && a > 255) || (!isIp4 && second !== undefined)) {
        fail('ERR_CONNECTION', `bad multicast suffix in c= address '${full}'`, lineNo);
      }
      if (!noLeadingZero(first) || (second !== undefined && !noLeadingZero(second))) canonical = false;
      if (isIp4) {
        ttl = a;
        if (second !== undefined) count = b;
      } else {
        count = a;
      }
    }
  }
  const line: SdpConnection = { type: 'c', netType, addrType, address };
  if (ttl !== undefined) line.ttl = ttl;
  if (count !== undefined) line.count = count;
  if (!canonical) line.raw = text.slice(start, end);
  return line;
}

function parseBandwidth(text: string, start: number, end: number, lineNo: number): SdpBandwidth {
  let colon = -1;
  for (let i = start + 2; i < end; i++) {
    if (text.charCodeAt(i) === COLON) {
      colon = i;
      break;
    }
  }
  if (colon < 0) fail('ERR_BANDWIDTH', 'b= must be <bwtype>:<bandwidth>', lineNo);
  const type = splitFields(text, start + 2, colon);
  const value = splitFields(text, colon + 1, end);
  const bwtype = type.list[0];
  const amount = value.list[0];
  const bandwidth = value.list.length === 1 && amount !== undefined ? digitsValue(amount, 15) : -1;
  if (type.list.length !== 1 || bwtype === undefined || bandwidth < 0) {
    fail('ERR_BANDWIDTH', 'b= must be <bwtype>:<bandwidth> with a decimal bandwidth', lineNo);
  }
  const line: SdpBandwidth = { type: 'b', bwtype, bandwidth };
  if (!type.canonical || !value.canonical || !noLeadingZero(amount as string)) line.raw = text.slice(start, end);
  return line;
}

function parseTiming(text: string, start: number, end: number, lineNo: number): SdpTiming {
  const f = splitFields(text, start + 2, end);
  const [startTime, stopTime] = f.list;
  if (f.list.length !== 2 || startTime === undefined || stopTime === undefined || !allDigits(startTime) || !allDigits(stopTime)) {
    fail('ERR_TIMING', 't= must be two decimal times', lineNo);
  }
  const line: SdpTiming = { type: 't', start: startTime, stop: stopTime };
  if (!f.canonical) line.raw = text.slice(start, end);
  return line;
}

/** An m= line: the media section without its lines. */
export function parseMediaLine(text: string, start: number, end: number, lineNo: number): SdpMedia {
  const f = splitFields(text, start + 2, end);
  if (f.list.length < 3) fail('ERR_MEDIA', 'm= needs <media> <port> <proto> <fmt> ...', lineNo);
  const media = f.list[0] as string;
  const portField = f.list[1] as string;
  const proto = f.list[2] as string;
  let canonical = f.canonical;
  const slash = portField.indexOf('/');
  const portText = slash >= 0 ? portField.slice(0, slash) : portField;
  const port = digitsValue(portText, 5);
  if (port < 0 || port > MAX_PORT) fail('ERR_MEDIA', `bad port '${portField}' in m=`, lineNo);
  if (!noLeadingZero(portText)) canonical = false;
  let portCount: number | undefined;
  if (slash >= 0) {
    const countText = portField.slice(slash + 1);
    portCount = digitsValue(countText, 5);
    if (portCount < 0) fail('ERR_MEDIA', `bad port count '${portField}' in m=`, lineNo);
    if (!noLeadingZero(countText)) canonical = false;
  }
  const m: SdpMedia = { media, port, portCount, proto, formats: f.list.slice(3), lines: [] };
  if (!canonical) m.raw = text.slice(start, end);
  return m;
}

/**
 * The attribute in text[start, end); `colon` is the index of the first ':' after "a=" when it
 * lies before `end`, else -1 (the caller finds it, so a long run of lines without a colon is
 * not searched again for every line).
 */
function parseAttribute(text: string, start: number, end: number, colon: number): SdpAttribute {
  const nameEnd = colon >= 0 ? colon : end;
  let nameStart = start + 2;
  let nameStop = nameEnd;
  while (nameStart < nameStop && isBlank(text.charCodeAt(nameStart))) nameStart++;
  while (nameStop > nameStart && isBlank(text.charCodeAt(nameStop - 1))) nameStop--;
  const attribute: SdpAttribute = {
    type: 'a',
    name: text.slice(nameStart, nameStop),
    value: colon >= 0 ? text.slice(colon + 1, end) : undefined,
  };
  if (nameStart !== start + 2 || nameStop !== nameEnd) attribute.raw = text.slice(start, end);
  return attribute;
}

/**
 * One line text[start, end) (no line ending; the caller has refused NUL and bare CR). An m=
 * line gives an SdpMedia with no lines yet. `colon` as for parseAttribute (ignored for
 * other types).
 */
export function parseLine(text: string, start: number, end: number, lineNo: number, colon: number): SdpLine | SdpMedia {
  const letter = text.charCodeAt(start);
  if (end - start < 2 || text.charCodeAt(start + 1) !== EQUALS || !isAsciiLetter(letter)) {
    fail('ERR_LINE_SYNTAX', 'not a <type>=<value> line', lineNo);
  }
  switch (letter) {
    case 0x61: // a
      return parseAttribute(text, start, end, colon);
    case 0x6d: // m
      return parseMediaLine(text, start, end, lineNo);
    case 0x63: // c
      return parseConnection(text, start, end, lineNo);
    case 0x62: // b
      return parseBandwidth(text, start, end, lineNo);
    case 0x6f: // o
      return parseOrigin(text, start, end, lineNo);
    case 0x74: // t
      return parseTiming(text, start, end, lineNo);
    case 0x76: // v
      return parseVersion(text, start, end, lineNo);
    case 0x73: // s
    case 0x69: // i
    case 0x75: // u
    case 0x65: // e
    case 0x70: // p
    case 0x6b: // k
    case 0x72: // r
    case 0x7a: // z
      return { type: text[start] as SdpTextLine['type'], value: text.slice(start + 2, end) };
    default:
      return { type: 'unknown', letter: text[start] as string, value: text.slice(start + 2, end) };
  }
}

/** Parses one whole line given as a string (used to check `raw`); undefined when it is not one. */
export function parseOneLine(raw: string): SdpLine | SdpMedia | undefined {
  if (raw.indexOf('\n') >= 0 || raw.indexOf('\r') >= 0 || raw.indexOf('\0') >= 0) return undefined;
  try {
    return parseLine(raw, 0, raw.length, 1, raw.indexOf(':', 2));
  } catch {
    return undefined;
  }
}

// ---- writing ----

function invalid(message: string, lineNo: number): never {
  throw new SdpError('ERR_INVALID_VALUE', `line ${lineNo}: ${message}`, { line: lineNo });
}

// One character class, tested once per value: a linear scan with nothing to backtrack into, and
// in our measurements the cheapest way to look at every character of every value (a charCodeAt
// loop, three indexOf calls per value, or counting line ends in the output all cost more).
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

/** Text that may stand anywhere in a line: a string without CR, LF or NUL. */
function text(value: unknown, what: string, lineNo: number): string {
  if (typeof value !== 'string') invalid(`${what} must be a string`, lineNo);
  if (LINE_BREAK_OR_NUL.test(value)) invalid(`${what} contains a line break or NUL`, lineNo);
  return value;
}

/** A field between spaces: non-empty, without SP, HTAB, CR, LF or NUL. */
function token(value: unknown, what: string, lineNo: number): string {
  if (typeof value !== 'string' || value.length === 0) invalid(`${what} must be a non-empty string`, lineNo);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === SP || c === HTAB || c === CR || c === LF || c === NUL) {
      invalid(`${what} must not contain spaces, line breaks or NUL`, lineNo);
    }
  }
  return value;
}

function integer(value: unknown, what: string, lineNo: number, max: number): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    invalid(`${what} must be an integer from 0 to ${max}`, lineNo);
  }
  return String(value);
}

function digits(value: unknown, what: string, lineNo: number): string {
  if (typeof value !== 'string' || !allDigits(value)) invalid(`${what} must be a string of decimal digits`, lineNo);
  return value;
}

/** The canonical text of an m= line. */
export function writeMediaLine(m: SdpMedia, lineNo: number): string {
  let out = 'm=' + token(m.media, 'media', lineNo) + ' ' + integer(m.port, 'port', lineNo, MAX_PORT);
  if (m.portCount !== undefined) out += '/' + integer(m.portCount, 'portCount', lineNo, 99999);
  out += ' ' + token(m.proto, 'proto', lineNo);
  const formats = m.formats;
  if (!Array.isArray(formats)) invalid('formats must be an array', lineNo);
  for (let i = 0; i < formats.length; i++) out += ' ' + token(formats[i], 'format', lineNo);
  return out;
}

/** The canonical text of a line. */
export function writeLine(line: SdpLine, lineNo: number): string {
  if (typeof line !== 'object' || line === null) invalid('a line must be an object', lineNo);
  switch (line.type) {
    case 'a': {
      const name = text(line.name, 'attribute name', lineNo);
      if (name.indexOf(':') >= 0 || (name.length > 0 && (isBlank(name.charCodeAt(0)) || isBlank(name.charCodeAt(name.length - 1))))) {
        invalid(`attribute name '${name}' must not contain ':' or begin or end with a space`, lineNo);
      }
      return line.value === undefined ? 'a=' + name : 'a=' + name + ':' + text(line.value, 'attribute value', lineNo);
    }
    case 'c': {
      let address = token(line.address, 'connection address', lineNo);
      if (line.ttl !== undefined) address += '/' + integer(line.ttl, 'ttl', lineNo, 255);
      if (line.count !== undefined) address += '/' + integer(line.count, 'count', lineNo, 999999999);
      return 'c=' + token(line.netType, 'netType', lineNo) + ' ' + token(line.addrType, 'addrType', lineNo) + ' ' + address;
    }
    case 'o':
      return (
        'o=' +
        token(line.username, 'username', lineNo) +
        ' ' +
        token(line.sessionId, 'sessionId', lineNo) +
        ' ' +
        token(line.sessionVersion, 'sessionVersion', lineNo) +
        ' ' +
        token(line.netType, 'netType', lineNo) +
        ' ' +
        token(line.addrType, 'addrType', lineNo) +
        ' ' +
        token(line.address, 'address', lineNo)
      );
    case 'b': {
      const bwtype = token(line.bwtype, 'bwtype', lineNo);
      if (bwtype.indexOf(':') >= 0) invalid('bwtype must not contain ":"', lineNo);
      return 'b=' + bwtype + ':' + integer(line.bandwidth, 'bandwidth', lineNo, MAX_BANDWIDTH);
    }
    case 't':
      return 't=' + digits(line.start, 'start', lineNo) + ' ' + digits(line.stop, 'stop', lineNo);
    case 'v':
      return 'v=' + integer(line.version, 'version', lineNo, 999999999);
    case 's':
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'k':
    case 'r':
    case 'z':
      return line.type + '=' + text(line.value, `${line.type}= value`, lineNo);
    case 'unknown': {
      const letter = line.letter;
      if (typeof letter !== 'string' || letter.length !== 1 || !isAsciiLetter(letter.charCodeAt(0))) {
        invalid('an unknown line needs a one-letter type', lineNo);
      }
      return letter + '=' + text(line.value, `${letter}= value`, lineNo);
    }
    default:
      return invalid(`unknown line type '${String((line as { type: unknown }).type)}'`, lineNo);
  }
}

/**
 * What stringifySdp writes for a line: its `raw` text while the fields still say what `raw`
 * says (read back and compared in canonical form), else the canonical text.
 */
export function writeLineOrRaw(line: SdpLine, lineNo: number): string {
  const canonical = writeLine(line, lineNo);
  const raw = (line as { raw?: unknown }).raw;
  if (typeof raw !== 'string') return canonical;
  const again = parseOneLine(raw);
  if (again === undefined || 'media' in again) return canonical;
  return writeLine(again, lineNo) === canonical ? raw : canonical;
}

/** writeLineOrRaw for an m= line. */
export function writeMediaLineOrRaw(m: SdpMedia, lineNo: number): string {
  const canonical = writeMediaLine(m, lineNo);
  const raw: unknown = m.raw;
  if (typeof raw !== 'string') return canonical;
  const again = parseOneLine(raw);
  if (again === undefined || !('media' in again)) return canonical;
  return writeMediaLine(again, lineNo) === canonical ? raw : canonical;
}

import { findName, makeNameTable } from './chars.js';

// Header names: wire spelling -> lower-case long name (compact forms expanded), and back.
// One null-prototype table answers the spellings seen on the wire (canonical, lower, upper,
// compact) without allocating; anything else is lower-cased once.

/** Long names with their canonical wire spelling (RFC 3261 §20 and common extensions). */
const CANONICAL = [
  'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Route', 'Record-Route', 'Path',
  'Content-Length', 'Content-Type', 'Content-Encoding', 'Content-Disposition',
  'Content-Language', 'Max-Forwards', 'WWW-Authenticate', 'Proxy-Authenticate',
  'Authorization', 'Proxy-Authorization', 'Authentication-Info', 'Proxy-Authentication-Info',
  'Refer-To', 'Referred-By', 'Subject', 'Supported', 'Allow', 'Allow-Events', 'Event',
  'Expires', 'Min-Expires', 'User-Agent', 'Server', 'Accept', 'Accept-Encoding',
  'Accept-Language', 'Accept-Contact', 'Reject-Contact', 'Request-Disposition', 'Require',
  'Proxy-Require', 'Unsupported', 'Session-Expires', 'Min-SE', 'Timestamp', 'Date', 'Warning',
  'Retry-After', 'Organization', 'Priority', 'Reply-To', 'In-Reply-To', 'Alert-Info',
  'Call-Info', 'Error-Info', 'MIME-Version', 'P-Asserted-Identity', 'P-Preferred-Identity',
  'Privacy', 'RSeq', 'RAck', 'Subscription-State', 'SIP-ETag', 'SIP-If-Match', 'Reason',
  'Identity', 'Replaces', 'Join', 'Service-Route', 'Security-Client', 'Security-Server',
  'Security-Verify', 'History-Info', 'Diversion', 'Remote-Party-ID', 'P-Charging-Vector',
  'Flow-Timer', 'Target-Dialog', 'Recv-Info', 'Info-Package', 'Geolocation',
] as const;

/**
 * Compact forms: RFC 3261 §7.3.3 (i m e l c f s k t v), RFC 6665 (o, u), RFC 3515 (r),
 * RFC 3892 (b), RFC 3841 (a, j, d), RFC 4028 (x), RFC 8224 (y).
 */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', u: 'allow-events',
  r: 'refer-to', b: 'referred-by', a: 'accept-contact', j: 'reject-contact',
  d: 'request-disposition', x: 'session-expires', y: 'identity',
};

const LOOKUP: Record<string, string> = Object.create(null) as Record<string, string>;
const PRETTY: Record<string, string> = Object.create(null) as Record<string, string>;
for (const name of CANONICAL) {
  const lower = name.toLowerCase();
  LOOKUP[name] = lower;
  LOOKUP[lower] = lower;
  LOOKUP[name.toUpperCase()] = lower;
  PRETTY[lower] = name;
}
for (const letter in COMPACT) {
  LOOKUP[letter] = COMPACT[letter] as string;
  LOOKUP[letter.toUpperCase()] = COMPACT[letter] as string;
}

// Internalised copies (object keys are), so `===` against literals is a pointer compare.
const intern = (x: string): string => Object.keys({ [x]: 0 })[0] as string;

/** Every known lower-case long name; a header's id is its index here (parse dispatches on it). */
export const HEADER_NAMES: readonly string[] = CANONICAL.map((n) => intern(n.toLowerCase()));

/** The id of a known lower-case long name, -1 otherwise. */
export function headerId(name: string): number {
  return HEADER_NAMES.indexOf(name);
}

const NAME_TABLE = makeNameTable(HEADER_NAMES);
const COMPACT_BY_CODE: number[] = [];
for (const letter in COMPACT) COMPACT_BY_CODE[letter.charCodeAt(0)] = headerId(COMPACT[letter] as string);

/**
 * The id of the header name at [start, end) of the codes `b` (token characters only), read
 * in place; -1 when it is not a known name. OR-ing 0x20 lower-cases letters and leaves every
 * other token character unchanged or outside the names compared against.
 */
export function headerIdAt(b: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const compact = COMPACT_BY_CODE[(b[start] as number) | 0x20];
    return compact === undefined ? -1 : compact;
  }
  return findName(NAME_TABLE, b, start, end, 0x20);
}

/** The lower-case long name for a header name as written on the wire. */
export function canonicalHeaderName(raw: string): string {
  const known = LOOKUP[raw];
  if (known !== undefined) return known;
  const lower = raw.toLowerCase();
  return LOOKUP[lower] ?? lower;
}

// Unknown names seen by stringify are cached, up to a bound (names come from the network).
const prettyCache = new Map<string, string>();

/** The wire spelling for a lower-case header name: `call-id` -> `Call-ID`, `x-foo` -> `X-Foo`. */
export function prettyHeaderName(name: string): string {
  const known = PRETTY[name];
  if (known !== undefined) return known;
  let cached = prettyCache.get(name);
  if (cached !== undefined) return cached;
  let s = '';
  let up = true;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    s += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  cached = s;
  if (prettyCache.size < 1024) prettyCache.set(name, cached);
  return cached;
}

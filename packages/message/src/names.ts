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
 * The id of the header name at [i, i + len) when it is one of the names most messages carry,
 * else -1 (then the hashed table answers): a switch on the length and the first letter, then
 * unrolled compares against constants. Case-insensitive (RFC 3261 §7.3.1).
 */
function commonHeaderId(b: Uint8Array, i: number, len: number): number {
  const c0 = (b[i] as number) | 0x20;
  switch (len) {
    case 2:
      if (c0 === 116 && ((b[i + 1] as number) | 0x20) === 111) return 2; // to
      return -1;
    case 3:
      if (c0 === 118 && ((b[i + 1] as number) | 0x20) === 105 && ((b[i + 2] as number) | 0x20) === 97) return 0; // via
      return -1;
    case 4:
      if (c0 === 102 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 111 && ((b[i + 3] as number) | 0x20) === 109) return 1; // from
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 115 && ((b[i + 2] as number) | 0x20) === 101 && ((b[i + 3] as number) | 0x20) === 113) return 4; // cseq
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 116 && ((b[i + 3] as number) | 0x20) === 104) return 8; // path
      if (c0 === 100 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 116 && ((b[i + 3] as number) | 0x20) === 101) return 44; // date
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 115 && ((b[i + 2] as number) | 0x20) === 101 && ((b[i + 3] as number) | 0x20) === 113) return 58; // rseq
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 99 && ((b[i + 3] as number) | 0x20) === 107) return 59; // rack
      return -1;
    case 5:
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 117 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 101) return 6; // route
      if (c0 === 97 && ((b[i + 1] as number) | 0x20) === 108 && ((b[i + 2] as number) | 0x20) === 108 && ((b[i + 3] as number) | 0x20) === 111 && ((b[i + 4] as number) | 0x20) === 119) return 25; // allow
      if (c0 === 101 && ((b[i + 1] as number) | 0x20) === 118 && ((b[i + 2] as number) | 0x20) === 101 && ((b[i + 3] as number) | 0x20) === 110 && ((b[i + 4] as number) | 0x20) === 116) return 27; // event
      return -1;
    case 6:
      if (c0 === 115 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 114 && ((b[i + 3] as number) | 0x20) === 118 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 114) return 31; // server
      if (c0 === 97 && ((b[i + 1] as number) | 0x20) === 99 && ((b[i + 2] as number) | 0x20) === 99 && ((b[i + 3] as number) | 0x20) === 101 && ((b[i + 4] as number) | 0x20) === 112 && ((b[i + 5] as number) | 0x20) === 116) return 32; // accept
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 97 && ((b[i + 3] as number) | 0x20) === 115 && ((b[i + 4] as number) | 0x20) === 111 && ((b[i + 5] as number) | 0x20) === 110) return 63; // reason
      return -1;
    case 7:
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 108 && ((b[i + 3] as number) | 0x20) === 108 && ((b[i + 4] as number) | 0x20) === 45 && ((b[i + 5] as number) | 0x20) === 105 && ((b[i + 6] as number) | 0x20) === 100) return 3; // call-id
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 97 && ((b[i + 5] as number) | 0x20) === 99 && ((b[i + 6] as number) | 0x20) === 116) return 5; // contact
      if (c0 === 115 && ((b[i + 1] as number) | 0x20) === 117 && ((b[i + 2] as number) | 0x20) === 98 && ((b[i + 3] as number) | 0x20) === 106 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 99 && ((b[i + 6] as number) | 0x20) === 116) return 23; // subject
      if (c0 === 101 && ((b[i + 1] as number) | 0x20) === 120 && ((b[i + 2] as number) | 0x20) === 112 && ((b[i + 3] as number) | 0x20) === 105 && ((b[i + 4] as number) | 0x20) === 114 && ((b[i + 5] as number) | 0x20) === 101 && ((b[i + 6] as number) | 0x20) === 115) return 28; // expires
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 113 && ((b[i + 3] as number) | 0x20) === 117 && ((b[i + 4] as number) | 0x20) === 105 && ((b[i + 5] as number) | 0x20) === 114 && ((b[i + 6] as number) | 0x20) === 101) return 38; // require
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 105 && ((b[i + 3] as number) | 0x20) === 118 && ((b[i + 4] as number) | 0x20) === 97 && ((b[i + 5] as number) | 0x20) === 99 && ((b[i + 6] as number) | 0x20) === 121) return 57; // privacy
      if (c0 === 119 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 114 && ((b[i + 3] as number) | 0x20) === 110 && ((b[i + 4] as number) | 0x20) === 105 && ((b[i + 5] as number) | 0x20) === 110 && ((b[i + 6] as number) | 0x20) === 103) return 45; // warning
      return -1;
    case 8:
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 102 && ((b[i + 3] as number) | 0x20) === 101 && ((b[i + 4] as number) | 0x20) === 114 && ((b[i + 5] as number) | 0x20) === 45 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 111) return 21; // refer-to
      return -1;
    case 9:
      if (c0 === 115 && ((b[i + 1] as number) | 0x20) === 117 && ((b[i + 2] as number) | 0x20) === 112 && ((b[i + 3] as number) | 0x20) === 112 && ((b[i + 4] as number) | 0x20) === 111 && ((b[i + 5] as number) | 0x20) === 114 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 101 && ((b[i + 8] as number) | 0x20) === 100) return 24; // supported
      if (c0 === 116 && ((b[i + 1] as number) | 0x20) === 105 && ((b[i + 2] as number) | 0x20) === 109 && ((b[i + 3] as number) | 0x20) === 101 && ((b[i + 4] as number) | 0x20) === 115 && ((b[i + 5] as number) | 0x20) === 116 && ((b[i + 6] as number) | 0x20) === 97 && ((b[i + 7] as number) | 0x20) === 109 && ((b[i + 8] as number) | 0x20) === 112) return 43; // timestamp
      return -1;
    case 10:
      if (c0 === 117 && ((b[i + 1] as number) | 0x20) === 115 && ((b[i + 2] as number) | 0x20) === 101 && ((b[i + 3] as number) | 0x20) === 114 && ((b[i + 4] as number) | 0x20) === 45 && ((b[i + 5] as number) | 0x20) === 97 && ((b[i + 6] as number) | 0x20) === 103 && ((b[i + 7] as number) | 0x20) === 101 && ((b[i + 8] as number) | 0x20) === 110 && ((b[i + 9] as number) | 0x20) === 116) return 30; // user-agent
      return -1;
    case 11:
      if (c0 === 109 && ((b[i + 1] as number) | 0x20) === 105 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 45 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 120 && ((b[i + 6] as number) | 0x20) === 112 && ((b[i + 7] as number) | 0x20) === 105 && ((b[i + 8] as number) | 0x20) === 114 && ((b[i + 9] as number) | 0x20) === 101 && ((b[i + 10] as number) | 0x20) === 115) return 29; // min-expires
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 102 && ((b[i + 3] as number) | 0x20) === 101 && ((b[i + 4] as number) | 0x20) === 114 && ((b[i + 5] as number) | 0x20) === 114 && ((b[i + 6] as number) | 0x20) === 101 && ((b[i + 7] as number) | 0x20) === 100 && ((b[i + 8] as number) | 0x20) === 45 && ((b[i + 9] as number) | 0x20) === 98 && ((b[i + 10] as number) | 0x20) === 121) return 22; // referred-by
      if (c0 === 117 && ((b[i + 1] as number) | 0x20) === 110 && ((b[i + 2] as number) | 0x20) === 115 && ((b[i + 3] as number) | 0x20) === 117 && ((b[i + 4] as number) | 0x20) === 112 && ((b[i + 5] as number) | 0x20) === 112 && ((b[i + 6] as number) | 0x20) === 111 && ((b[i + 7] as number) | 0x20) === 114 && ((b[i + 8] as number) | 0x20) === 116 && ((b[i + 9] as number) | 0x20) === 101 && ((b[i + 10] as number) | 0x20) === 100) return 40; // unsupported
      return -1;
    case 12:
      if (c0 === 114 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 99 && ((b[i + 3] as number) | 0x20) === 111 && ((b[i + 4] as number) | 0x20) === 114 && ((b[i + 5] as number) | 0x20) === 100 && ((b[i + 6] as number) | 0x20) === 45 && ((b[i + 7] as number) | 0x20) === 114 && ((b[i + 8] as number) | 0x20) === 111 && ((b[i + 9] as number) | 0x20) === 117 && ((b[i + 10] as number) | 0x20) === 116 && ((b[i + 11] as number) | 0x20) === 101) return 7; // record-route
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 110 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 45 && ((b[i + 8] as number) | 0x20) === 116 && ((b[i + 9] as number) | 0x20) === 121 && ((b[i + 10] as number) | 0x20) === 112 && ((b[i + 11] as number) | 0x20) === 101) return 10; // content-type
      if (c0 === 109 && ((b[i + 1] as number) | 0x20) === 97 && ((b[i + 2] as number) | 0x20) === 120 && ((b[i + 3] as number) | 0x20) === 45 && ((b[i + 4] as number) | 0x20) === 102 && ((b[i + 5] as number) | 0x20) === 111 && ((b[i + 6] as number) | 0x20) === 114 && ((b[i + 7] as number) | 0x20) === 119 && ((b[i + 8] as number) | 0x20) === 97 && ((b[i + 9] as number) | 0x20) === 114 && ((b[i + 10] as number) | 0x20) === 100 && ((b[i + 11] as number) | 0x20) === 115) return 14; // max-forwards
      if (c0 === 97 && ((b[i + 1] as number) | 0x20) === 108 && ((b[i + 2] as number) | 0x20) === 108 && ((b[i + 3] as number) | 0x20) === 111 && ((b[i + 4] as number) | 0x20) === 119 && ((b[i + 5] as number) | 0x20) === 45 && ((b[i + 6] as number) | 0x20) === 101 && ((b[i + 7] as number) | 0x20) === 118 && ((b[i + 8] as number) | 0x20) === 101 && ((b[i + 9] as number) | 0x20) === 110 && ((b[i + 10] as number) | 0x20) === 116 && ((b[i + 11] as number) | 0x20) === 115) return 26; // allow-events
      if (c0 === 111 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 103 && ((b[i + 3] as number) | 0x20) === 97 && ((b[i + 4] as number) | 0x20) === 110 && ((b[i + 5] as number) | 0x20) === 105 && ((b[i + 6] as number) | 0x20) === 122 && ((b[i + 7] as number) | 0x20) === 97 && ((b[i + 8] as number) | 0x20) === 116 && ((b[i + 9] as number) | 0x20) === 105 && ((b[i + 10] as number) | 0x20) === 111 && ((b[i + 11] as number) | 0x20) === 110) return 47; // organization
      return -1;
    case 13:
      if (c0 === 97 && ((b[i + 1] as number) | 0x20) === 117 && ((b[i + 2] as number) | 0x20) === 116 && ((b[i + 3] as number) | 0x20) === 104 && ((b[i + 4] as number) | 0x20) === 111 && ((b[i + 5] as number) | 0x20) === 114 && ((b[i + 6] as number) | 0x20) === 105 && ((b[i + 7] as number) | 0x20) === 122 && ((b[i + 8] as number) | 0x20) === 97 && ((b[i + 9] as number) | 0x20) === 116 && ((b[i + 10] as number) | 0x20) === 105 && ((b[i + 11] as number) | 0x20) === 111 && ((b[i + 12] as number) | 0x20) === 110) return 17; // authorization
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 111 && ((b[i + 3] as number) | 0x20) === 120 && ((b[i + 4] as number) | 0x20) === 121 && ((b[i + 5] as number) | 0x20) === 45 && ((b[i + 6] as number) | 0x20) === 114 && ((b[i + 7] as number) | 0x20) === 101 && ((b[i + 8] as number) | 0x20) === 113 && ((b[i + 9] as number) | 0x20) === 117 && ((b[i + 10] as number) | 0x20) === 105 && ((b[i + 11] as number) | 0x20) === 114 && ((b[i + 12] as number) | 0x20) === 101) return 39; // proxy-require
      return -1;
    case 14:
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 110 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 45 && ((b[i + 8] as number) | 0x20) === 108 && ((b[i + 9] as number) | 0x20) === 101 && ((b[i + 10] as number) | 0x20) === 110 && ((b[i + 11] as number) | 0x20) === 103 && ((b[i + 12] as number) | 0x20) === 116 && ((b[i + 13] as number) | 0x20) === 104) return 9; // content-length
      return -1;
    case 15:
      if (c0 === 115 && ((b[i + 1] as number) | 0x20) === 101 && ((b[i + 2] as number) | 0x20) === 115 && ((b[i + 3] as number) | 0x20) === 115 && ((b[i + 4] as number) | 0x20) === 105 && ((b[i + 5] as number) | 0x20) === 111 && ((b[i + 6] as number) | 0x20) === 110 && ((b[i + 7] as number) | 0x20) === 45 && ((b[i + 8] as number) | 0x20) === 101 && ((b[i + 9] as number) | 0x20) === 120 && ((b[i + 10] as number) | 0x20) === 112 && ((b[i + 11] as number) | 0x20) === 105 && ((b[i + 12] as number) | 0x20) === 114 && ((b[i + 13] as number) | 0x20) === 101 && ((b[i + 14] as number) | 0x20) === 115) return 41; // session-expires
      return -1;
    case 16:
      if (c0 === 119 && ((b[i + 1] as number) | 0x20) === 119 && ((b[i + 2] as number) | 0x20) === 119 && ((b[i + 3] as number) | 0x20) === 45 && ((b[i + 4] as number) | 0x20) === 97 && ((b[i + 5] as number) | 0x20) === 117 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 104 && ((b[i + 8] as number) | 0x20) === 101 && ((b[i + 9] as number) | 0x20) === 110 && ((b[i + 10] as number) | 0x20) === 116 && ((b[i + 11] as number) | 0x20) === 105 && ((b[i + 12] as number) | 0x20) === 99 && ((b[i + 13] as number) | 0x20) === 97 && ((b[i + 14] as number) | 0x20) === 116 && ((b[i + 15] as number) | 0x20) === 101) return 15; // www-authenticate
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 110 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 45 && ((b[i + 8] as number) | 0x20) === 101 && ((b[i + 9] as number) | 0x20) === 110 && ((b[i + 10] as number) | 0x20) === 99 && ((b[i + 11] as number) | 0x20) === 111 && ((b[i + 12] as number) | 0x20) === 100 && ((b[i + 13] as number) | 0x20) === 105 && ((b[i + 14] as number) | 0x20) === 110 && ((b[i + 15] as number) | 0x20) === 103) return 11; // content-encoding
      return -1;
    case 18:
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 111 && ((b[i + 3] as number) | 0x20) === 120 && ((b[i + 4] as number) | 0x20) === 121 && ((b[i + 5] as number) | 0x20) === 45 && ((b[i + 6] as number) | 0x20) === 97 && ((b[i + 7] as number) | 0x20) === 117 && ((b[i + 8] as number) | 0x20) === 116 && ((b[i + 9] as number) | 0x20) === 104 && ((b[i + 10] as number) | 0x20) === 101 && ((b[i + 11] as number) | 0x20) === 110 && ((b[i + 12] as number) | 0x20) === 116 && ((b[i + 13] as number) | 0x20) === 105 && ((b[i + 14] as number) | 0x20) === 99 && ((b[i + 15] as number) | 0x20) === 97 && ((b[i + 16] as number) | 0x20) === 116 && ((b[i + 17] as number) | 0x20) === 101) return 16; // proxy-authenticate
      return -1;
    case 19:
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 114 && ((b[i + 2] as number) | 0x20) === 111 && ((b[i + 3] as number) | 0x20) === 120 && ((b[i + 4] as number) | 0x20) === 121 && ((b[i + 5] as number) | 0x20) === 45 && ((b[i + 6] as number) | 0x20) === 97 && ((b[i + 7] as number) | 0x20) === 117 && ((b[i + 8] as number) | 0x20) === 116 && ((b[i + 9] as number) | 0x20) === 104 && ((b[i + 10] as number) | 0x20) === 111 && ((b[i + 11] as number) | 0x20) === 114 && ((b[i + 12] as number) | 0x20) === 105 && ((b[i + 13] as number) | 0x20) === 122 && ((b[i + 14] as number) | 0x20) === 97 && ((b[i + 15] as number) | 0x20) === 116 && ((b[i + 16] as number) | 0x20) === 105 && ((b[i + 17] as number) | 0x20) === 111 && ((b[i + 18] as number) | 0x20) === 110) return 18; // proxy-authorization
      if (c0 === 112 && ((b[i + 1] as number) | 0x20) === 45 && ((b[i + 2] as number) | 0x20) === 97 && ((b[i + 3] as number) | 0x20) === 115 && ((b[i + 4] as number) | 0x20) === 115 && ((b[i + 5] as number) | 0x20) === 101 && ((b[i + 6] as number) | 0x20) === 114 && ((b[i + 7] as number) | 0x20) === 116 && ((b[i + 8] as number) | 0x20) === 101 && ((b[i + 9] as number) | 0x20) === 100 && ((b[i + 10] as number) | 0x20) === 45 && ((b[i + 11] as number) | 0x20) === 105 && ((b[i + 12] as number) | 0x20) === 100 && ((b[i + 13] as number) | 0x20) === 101 && ((b[i + 14] as number) | 0x20) === 110 && ((b[i + 15] as number) | 0x20) === 116 && ((b[i + 16] as number) | 0x20) === 105 && ((b[i + 17] as number) | 0x20) === 116 && ((b[i + 18] as number) | 0x20) === 121) return 55; // p-asserted-identity
      if (c0 === 99 && ((b[i + 1] as number) | 0x20) === 111 && ((b[i + 2] as number) | 0x20) === 110 && ((b[i + 3] as number) | 0x20) === 116 && ((b[i + 4] as number) | 0x20) === 101 && ((b[i + 5] as number) | 0x20) === 110 && ((b[i + 6] as number) | 0x20) === 116 && ((b[i + 7] as number) | 0x20) === 45 && ((b[i + 8] as number) | 0x20) === 100 && ((b[i + 9] as number) | 0x20) === 105 && ((b[i + 10] as number) | 0x20) === 115 && ((b[i + 11] as number) | 0x20) === 112 && ((b[i + 12] as number) | 0x20) === 111 && ((b[i + 13] as number) | 0x20) === 115 && ((b[i + 14] as number) | 0x20) === 105 && ((b[i + 15] as number) | 0x20) === 116 && ((b[i + 16] as number) | 0x20) === 105 && ((b[i + 17] as number) | 0x20) === 111 && ((b[i + 18] as number) | 0x20) === 110) return 12; // content-disposition
      return -1;
    default:
      return -1;
  }
}

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
  const id = commonHeaderId(b, start, len);
  return id >= 0 ? id : findName(NAME_TABLE, b, start, end, 0x20);
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

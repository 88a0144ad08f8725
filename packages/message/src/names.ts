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

/**
 * When the bytes at `p` are one of the common header names in its canonical spelling
 * directly followed by ":" (as nearly every sender writes them), returns
 * (id << 5) | name length; else -1, and the caller scans the token and looks it up. One
 * compare per byte, where the token scan and the lookup read each byte three times.
 * Generated by tools/gen/wire-header-names.mjs from CANONICAL; a test checks every entry.
 */
export function wireHeaderAt(b: Uint8Array, p: number): number {
  switch (b[p]) {
    case 86: // "V"
      return b[p + 1] === 105 && b[p + 2] === 97 && b[p + 3] === 58 ? 3 : -1; // Via
    case 70: // "F"
      return b[p + 1] === 114 && b[p + 2] === 111 && b[p + 3] === 109 && b[p + 4] === 58 ? 36 : -1; // From
    case 84: // "T"
      switch (b[p + 1]) {
        case 111: // "o"
          return b[p + 2] === 58 ? 66 : -1; // To
        case 105: // "i"
          return b[p + 2] === 109 && b[p + 3] === 101 && b[p + 4] === 115 && b[p + 5] === 116 && b[p + 6] === 97 && b[p + 7] === 109 && b[p + 8] === 112 && b[p + 9] === 58 ? 1385 : -1; // Timestamp
        default:
          return -1;
      }
    case 67: // "C"
      switch (b[p + 1]) {
        case 97: // "a"
          return b[p + 2] === 108 && b[p + 3] === 108 && b[p + 4] === 45 && b[p + 5] === 73 && b[p + 6] === 68 && b[p + 7] === 58 ? 103 : -1; // Call-ID
        case 83: // "S"
          return b[p + 2] === 101 && b[p + 3] === 113 && b[p + 4] === 58 ? 132 : -1; // CSeq
        case 111: // "o"
          if (b[p + 2] !== 110 || b[p + 3] !== 116) return -1; // nt
          switch (b[p + 4]) {
            case 97: // "a"
              return b[p + 5] === 99 && b[p + 6] === 116 && b[p + 7] === 58 ? 167 : -1; // Contact
            case 101: // "e"
              if (b[p + 5] !== 110 || b[p + 6] !== 116 || b[p + 7] !== 45) return -1; // nt-
              switch (b[p + 8]) {
                case 76: // "L"
                  return b[p + 9] === 101 && b[p + 10] === 110 && b[p + 11] === 103 && b[p + 12] === 116 && b[p + 13] === 104 && b[p + 14] === 58 ? 302 : -1; // Content-Length
                case 84: // "T"
                  return b[p + 9] === 121 && b[p + 10] === 112 && b[p + 11] === 101 && b[p + 12] === 58 ? 332 : -1; // Content-Type
                case 69: // "E"
                  return b[p + 9] === 110 && b[p + 10] === 99 && b[p + 11] === 111 && b[p + 12] === 100 && b[p + 13] === 105 && b[p + 14] === 110 && b[p + 15] === 103 && b[p + 16] === 58 ? 368 : -1; // Content-Encoding
                case 68: // "D"
                  return b[p + 9] === 105 && b[p + 10] === 115 && b[p + 11] === 112 && b[p + 12] === 111 && b[p + 13] === 115 && b[p + 14] === 105 && b[p + 15] === 116 && b[p + 16] === 105 && b[p + 17] === 111 && b[p + 18] === 110 && b[p + 19] === 58 ? 403 : -1; // Content-Disposition
                default:
                  return -1;
              }
            default:
              return -1;
          }
        default:
          return -1;
      }
    case 82: // "R"
      switch (b[p + 1]) {
        case 111: // "o"
          return b[p + 2] === 117 && b[p + 3] === 116 && b[p + 4] === 101 && b[p + 5] === 58 ? 197 : -1; // Route
        case 101: // "e"
          switch (b[p + 2]) {
            case 99: // "c"
              return b[p + 3] === 111 && b[p + 4] === 114 && b[p + 5] === 100 && b[p + 6] === 45 && b[p + 7] === 82 && b[p + 8] === 111 && b[p + 9] === 117 && b[p + 10] === 116 && b[p + 11] === 101 && b[p + 12] === 58 ? 236 : -1; // Record-Route
            case 102: // "f"
              if (b[p + 3] !== 101 || b[p + 4] !== 114) return -1; // er
              switch (b[p + 5]) {
                case 45: // "-"
                  return b[p + 6] === 84 && b[p + 7] === 111 && b[p + 8] === 58 ? 680 : -1; // Refer-To
                case 114: // "r"
                  return b[p + 6] === 101 && b[p + 7] === 100 && b[p + 8] === 45 && b[p + 9] === 66 && b[p + 10] === 121 && b[p + 11] === 58 ? 715 : -1; // Referred-By
                default:
                  return -1;
              }
            case 113: // "q"
              return b[p + 3] === 117 && b[p + 4] === 105 && b[p + 5] === 114 && b[p + 6] === 101 && b[p + 7] === 58 ? 1223 : -1; // Require
            case 116: // "t"
              return b[p + 3] === 114 && b[p + 4] === 121 && b[p + 5] === 45 && b[p + 6] === 65 && b[p + 7] === 102 && b[p + 8] === 116 && b[p + 9] === 101 && b[p + 10] === 114 && b[p + 11] === 58 ? 1483 : -1; // Retry-After
            case 97: // "a"
              return b[p + 3] === 115 && b[p + 4] === 111 && b[p + 5] === 110 && b[p + 6] === 58 ? 2022 : -1; // Reason
            default:
              return -1;
          }
        case 83: // "S"
          return b[p + 2] === 101 && b[p + 3] === 113 && b[p + 4] === 58 ? 1860 : -1; // RSeq
        case 65: // "A"
          return b[p + 2] === 99 && b[p + 3] === 107 && b[p + 4] === 58 ? 1892 : -1; // RAck
        default:
          return -1;
      }
    case 80: // "P"
      switch (b[p + 1]) {
        case 97: // "a"
          return b[p + 2] === 116 && b[p + 3] === 104 && b[p + 4] === 58 ? 260 : -1; // Path
        case 114: // "r"
          switch (b[p + 2]) {
            case 111: // "o"
              if (b[p + 3] !== 120 || b[p + 4] !== 121 || b[p + 5] !== 45) return -1; // xy-
              switch (b[p + 6]) {
                case 65: // "A"
                  if (b[p + 7] !== 117 || b[p + 8] !== 116 || b[p + 9] !== 104) return -1; // uth
                  switch (b[p + 10]) {
                    case 101: // "e"
                      return b[p + 11] === 110 && b[p + 12] === 116 && b[p + 13] === 105 && b[p + 14] === 99 && b[p + 15] === 97 && b[p + 16] === 116 && b[p + 17] === 101 && b[p + 18] === 58 ? 530 : -1; // Proxy-Authenticate
                    case 111: // "o"
                      return b[p + 11] === 114 && b[p + 12] === 105 && b[p + 13] === 122 && b[p + 14] === 97 && b[p + 15] === 116 && b[p + 16] === 105 && b[p + 17] === 111 && b[p + 18] === 110 && b[p + 19] === 58 ? 595 : -1; // Proxy-Authorization
                    default:
                      return -1;
                  }
                case 82: // "R"
                  return b[p + 7] === 101 && b[p + 8] === 113 && b[p + 9] === 117 && b[p + 10] === 105 && b[p + 11] === 114 && b[p + 12] === 101 && b[p + 13] === 58 ? 1261 : -1; // Proxy-Require
                default:
                  return -1;
              }
            case 105: // "i"
              return b[p + 3] === 118 && b[p + 4] === 97 && b[p + 5] === 99 && b[p + 6] === 121 && b[p + 7] === 58 ? 1831 : -1; // Privacy
            default:
              return -1;
          }
        case 45: // "-"
          return b[p + 2] === 65 && b[p + 3] === 115 && b[p + 4] === 115 && b[p + 5] === 101 && b[p + 6] === 114 && b[p + 7] === 116 && b[p + 8] === 101 && b[p + 9] === 100 && b[p + 10] === 45 && b[p + 11] === 73 && b[p + 12] === 100 && b[p + 13] === 101 && b[p + 14] === 110 && b[p + 15] === 116 && b[p + 16] === 105 && b[p + 17] === 116 && b[p + 18] === 121 && b[p + 19] === 58 ? 1779 : -1; // P-Asserted-Identity
        default:
          return -1;
      }
    case 77: // "M"
      switch (b[p + 1]) {
        case 97: // "a"
          return b[p + 2] === 120 && b[p + 3] === 45 && b[p + 4] === 70 && b[p + 5] === 111 && b[p + 6] === 114 && b[p + 7] === 119 && b[p + 8] === 97 && b[p + 9] === 114 && b[p + 10] === 100 && b[p + 11] === 115 && b[p + 12] === 58 ? 460 : -1; // Max-Forwards
        case 105: // "i"
          if (b[p + 2] !== 110 || b[p + 3] !== 45) return -1; // n-
          switch (b[p + 4]) {
            case 69: // "E"
              return b[p + 5] === 120 && b[p + 6] === 112 && b[p + 7] === 105 && b[p + 8] === 114 && b[p + 9] === 101 && b[p + 10] === 115 && b[p + 11] === 58 ? 939 : -1; // Min-Expires
            case 83: // "S"
              return b[p + 5] === 69 && b[p + 6] === 58 ? 1350 : -1; // Min-SE
            default:
              return -1;
          }
        default:
          return -1;
      }
    case 87: // "W"
      switch (b[p + 1]) {
        case 87: // "W"
          return b[p + 2] === 87 && b[p + 3] === 45 && b[p + 4] === 65 && b[p + 5] === 117 && b[p + 6] === 116 && b[p + 7] === 104 && b[p + 8] === 101 && b[p + 9] === 110 && b[p + 10] === 116 && b[p + 11] === 105 && b[p + 12] === 99 && b[p + 13] === 97 && b[p + 14] === 116 && b[p + 15] === 101 && b[p + 16] === 58 ? 496 : -1; // WWW-Authenticate
        case 97: // "a"
          return b[p + 2] === 114 && b[p + 3] === 110 && b[p + 4] === 105 && b[p + 5] === 110 && b[p + 6] === 103 && b[p + 7] === 58 ? 1447 : -1; // Warning
        default:
          return -1;
      }
    case 65: // "A"
      switch (b[p + 1]) {
        case 117: // "u"
          if (b[p + 2] !== 116 || b[p + 3] !== 104) return -1; // th
          switch (b[p + 4]) {
            case 111: // "o"
              return b[p + 5] === 114 && b[p + 6] === 105 && b[p + 7] === 122 && b[p + 8] === 97 && b[p + 9] === 116 && b[p + 10] === 105 && b[p + 11] === 111 && b[p + 12] === 110 && b[p + 13] === 58 ? 557 : -1; // Authorization
            case 101: // "e"
              return b[p + 5] === 110 && b[p + 6] === 116 && b[p + 7] === 105 && b[p + 8] === 99 && b[p + 9] === 97 && b[p + 10] === 116 && b[p + 11] === 105 && b[p + 12] === 111 && b[p + 13] === 110 && b[p + 14] === 45 && b[p + 15] === 73 && b[p + 16] === 110 && b[p + 17] === 102 && b[p + 18] === 111 && b[p + 19] === 58 ? 627 : -1; // Authentication-Info
            default:
              return -1;
          }
        case 108: // "l"
          if (b[p + 2] !== 108 || b[p + 3] !== 111 || b[p + 4] !== 119) return -1; // low
          switch (b[p + 5]) {
            case 58: // ":"
              return 805; // Allow
            case 45: // "-"
              return b[p + 6] === 69 && b[p + 7] === 118 && b[p + 8] === 101 && b[p + 9] === 110 && b[p + 10] === 116 && b[p + 11] === 115 && b[p + 12] === 58 ? 844 : -1; // Allow-Events
            default:
              return -1;
          }
        case 99: // "c"
          return b[p + 2] === 99 && b[p + 3] === 101 && b[p + 4] === 112 && b[p + 5] === 116 && b[p + 6] === 58 ? 1030 : -1; // Accept
        default:
          return -1;
      }
    case 83: // "S"
      switch (b[p + 1]) {
        case 117: // "u"
          switch (b[p + 2]) {
            case 98: // "b"
              switch (b[p + 3]) {
                case 106: // "j"
                  return b[p + 4] === 101 && b[p + 5] === 99 && b[p + 6] === 116 && b[p + 7] === 58 ? 743 : -1; // Subject
                case 115: // "s"
                  return b[p + 4] === 99 && b[p + 5] === 114 && b[p + 6] === 105 && b[p + 7] === 112 && b[p + 8] === 116 && b[p + 9] === 105 && b[p + 10] === 111 && b[p + 11] === 110 && b[p + 12] === 45 && b[p + 13] === 83 && b[p + 14] === 116 && b[p + 15] === 97 && b[p + 16] === 116 && b[p + 17] === 101 && b[p + 18] === 58 ? 1938 : -1; // Subscription-State
                default:
                  return -1;
              }
            case 112: // "p"
              return b[p + 3] === 112 && b[p + 4] === 111 && b[p + 5] === 114 && b[p + 6] === 116 && b[p + 7] === 101 && b[p + 8] === 100 && b[p + 9] === 58 ? 777 : -1; // Supported
            default:
              return -1;
          }
        case 101: // "e"
          switch (b[p + 2]) {
            case 114: // "r"
              return b[p + 3] === 118 && b[p + 4] === 101 && b[p + 5] === 114 && b[p + 6] === 58 ? 998 : -1; // Server
            case 115: // "s"
              return b[p + 3] === 115 && b[p + 4] === 105 && b[p + 5] === 111 && b[p + 6] === 110 && b[p + 7] === 45 && b[p + 8] === 69 && b[p + 9] === 120 && b[p + 10] === 112 && b[p + 11] === 105 && b[p + 12] === 114 && b[p + 13] === 101 && b[p + 14] === 115 && b[p + 15] === 58 ? 1327 : -1; // Session-Expires
            default:
              return -1;
          }
        default:
          return -1;
      }
    case 69: // "E"
      switch (b[p + 1]) {
        case 118: // "v"
          return b[p + 2] === 101 && b[p + 3] === 110 && b[p + 4] === 116 && b[p + 5] === 58 ? 869 : -1; // Event
        case 120: // "x"
          return b[p + 2] === 112 && b[p + 3] === 105 && b[p + 4] === 114 && b[p + 5] === 101 && b[p + 6] === 115 && b[p + 7] === 58 ? 903 : -1; // Expires
        default:
          return -1;
      }
    case 85: // "U"
      switch (b[p + 1]) {
        case 115: // "s"
          return b[p + 2] === 101 && b[p + 3] === 114 && b[p + 4] === 45 && b[p + 5] === 65 && b[p + 6] === 103 && b[p + 7] === 101 && b[p + 8] === 110 && b[p + 9] === 116 && b[p + 10] === 58 ? 970 : -1; // User-Agent
        case 110: // "n"
          return b[p + 2] === 115 && b[p + 3] === 117 && b[p + 4] === 112 && b[p + 5] === 112 && b[p + 6] === 111 && b[p + 7] === 114 && b[p + 8] === 116 && b[p + 9] === 101 && b[p + 10] === 100 && b[p + 11] === 58 ? 1291 : -1; // Unsupported
        default:
          return -1;
      }
    case 68: // "D"
      return b[p + 1] === 97 && b[p + 2] === 116 && b[p + 3] === 101 && b[p + 4] === 58 ? 1412 : -1; // Date
    case 79: // "O"
      return b[p + 1] === 114 && b[p + 2] === 103 && b[p + 3] === 97 && b[p + 4] === 110 && b[p + 5] === 105 && b[p + 6] === 122 && b[p + 7] === 97 && b[p + 8] === 116 && b[p + 9] === 105 && b[p + 10] === 111 && b[p + 11] === 110 && b[p + 12] === 58 ? 1516 : -1; // Organization
    default:
      return -1;
  }
}

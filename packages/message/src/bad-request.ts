// RFC 3261 §8.2 / §18.3 / §21.4.1: a request whose start line is readable but which is
// otherwise malformed (a mandatory header missing or broken, a bad Content-Length) is answered
// 400 statelessly. The parser gave up on it, so the response is built from the raw bytes:
// the start line is checked here and the Via, From, To, Call-ID and CSeq lines are copied as
// they came, which is all a client needs to match the response to its transaction.
import { randomBytes } from 'node:crypto';

const utf8 = new TextDecoder('utf-8');

// RFC 3261 §25.1 token characters: alphanum and -.!%*_+`'~
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

// Lower-case header names (long and compact, RFC 3261 §7.3.3) to the names we copy.
const COPIED: Record<string, string> = {
  via: 'Via',
  v: 'Via',
  from: 'From',
  f: 'From',
  to: 'To',
  t: 'To',
  'call-id': 'Call-ID',
  i: 'Call-ID',
  cseq: 'CSeq',
};

/**
 * The method of a well-formed request line (`METHOD SP Request-URI SP SIP/x.y`), else
 * undefined. Any SIP version is accepted here so that a 505 can answer a version we do not speak.
 */
export function requestLineMethod(line: string): string | undefined {
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) break;
    i++;
  }
  if (i === 0 || line.charCodeAt(i) !== 0x20) return undefined;
  const method = line.slice(0, i);
  const uriEnd = line.indexOf(' ', i + 1);
  if (uriEnd <= i + 1) return undefined;
  const version = line.slice(uriEnd + 1);
  if (version.length < 7 || version.slice(0, 4).toUpperCase() !== 'SIP/') return undefined;
  const dot = version.indexOf('.', 4);
  if (dot < 5 || dot === version.length - 1) return undefined;
  for (let k = 4; k < version.length; k++) {
    const c = version.charCodeAt(k);
    if (k !== dot && (c < 0x30 || c > 0x39)) return undefined;
  }
  return method;
}

/** Printable ASCII only, bounded: the reason phrase must not smuggle CR/LF from the network. */
function safeReason(reason: string): string {
  let out = '';
  for (let i = 0; i < reason.length && out.length < 120; i++) {
    const c = reason.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? reason[i] : ' ';
  }
  return out.trim() || 'Bad Request';
}

/**
 * The bytes of a response (400, or 505 for an unsupported SIP version) answering the malformed
 * request in `data`, or undefined when there is nothing to answer: not a request line, or an
 * ACK (RFC 3261 §17.2.1: ACK gets no response). Only the first `limit` bytes are looked at.
 * `datagram`: the source address is unverified (UDP), so the reply must not amplify: a request
 * without a Via or a CSeq line is not answered (no client could match the response, §17.1.3; it
 * would only be traffic towards whatever source the datagram claims), and the reason carries the
 * parse error only while the reply stays no larger than the request, and the reply is never
 * larger than the request plus the To tag it must add (RFC 3261 §8.2.6.2): shorter forms are
 * tried, and a request no form fits is not answered.
 */
export function buildBadRequest(data: Uint8Array, status: 400 | 505, reason: string, limit: number, datagram = false): Buffer | undefined {
  const view = data.length > limit ? data.subarray(0, limit) : data;
  // The header section ends at the first empty line; the body is never looked at.
  let end = view.length;
  for (let i = 0; i + 1 < view.length; i++) {
    if (view[i] === 0x0a && (view[i + 1] === 0x0a || (view[i + 1] === 0x0d && view[i + 2] === 0x0a))) {
      end = i;
      break;
    }
  }
  const text = utf8.decode(view.subarray(0, end));
  const lines = text.split('\n');
  const first = lines[0] === undefined ? '' : lines[0].replace(/\r$/, '');
  const method = requestLineMethod(first);
  if (method === undefined || method === 'ACK') return undefined;

  // Each copied line keeps the name as the request spelled it (a compact name stays compact,
  // RFC 3261 §7.3.3): the reply then repeats the request's bytes rather than growing them.
  const copied: { name: string; line: string }[] = [];
  let current: { name: string; line: string } | undefined;
  for (let n = 1; n < lines.length; n++) {
    const line = (lines[n] ?? '').replace(/\r$/, '');
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
      if (current !== undefined) current.line += ' ' + line.trim();
      continue;
    }
    current = undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = COPIED[line.slice(0, colon).trim().toLowerCase()];
    if (name === undefined) continue;
    current = { name, line: line.trimEnd() };
    copied.push(current);
  }
  if (datagram) {
    // RFC 3261 §17.1.3: a client matches a response by its top Via branch and CSeq method.
    let via = false;
    let cseq = false;
    for (const entry of copied) {
      if (entry.name === 'Via') via = true;
      else if (entry.name === 'CSeq') cseq = true;
    }
    if (!via || !cseq) return undefined;
  }

  // RFC 3261 §8.2.6.2: a response other than 100 carries a To tag.
  let tagBytes = 0;
  for (const entry of copied) {
    if (entry.name === 'To' && !/;\s*tag\s*=/i.test(entry.line)) {
      const tag = `;tag=${randomBytes(8).toString('hex')}`;
      entry.line += tag;
      tagBytes += tag.length;
    }
  }

  const copiedLines = copied.map((entry) => entry.line + '\r\n').join('');
  const detailed = Buffer.from(`SIP/2.0 ${status} ${safeReason(reason)}\r\n${copiedLines}Content-Length: 0\r\n\r\n`, 'utf8');
  if (!datagram || detailed.length <= data.length) return detailed;
  // Over UDP the reply stays within the request plus the To tag it had to add. In order: the
  // standard reason phrase; without Content-Length (RFC 3261 §20.14 requires it on streams
  // only; a datagram's message ends with the datagram); with an empty reason phrase (§25.1's
  // Reason-Phrase may be empty). Else no reply at all.
  const bound = data.length + tagBytes;
  const standard = status === 505 ? 'Version Not Supported' : 'Bad Request';
  for (const form of [
    `SIP/2.0 ${status} ${standard}\r\n${copiedLines}Content-Length: 0\r\n\r\n`,
    `SIP/2.0 ${status} ${standard}\r\n${copiedLines}\r\n`,
    `SIP/2.0 ${status} \r\n${copiedLines}\r\n`,
  ]) {
    const bytes = Buffer.from(form, 'utf8');
    if (bytes.length <= bound) return bytes;
  }
  return undefined;
}

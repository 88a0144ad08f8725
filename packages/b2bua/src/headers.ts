// The header and body values the B2BUA reads and writes: the headers one leg hands to the other
// (a fixed list of names, nothing else crosses), RFC 3326 Reason, RFC 3420 sipfrag bodies for
// NOTIFY (RFC 3515 §2.4.5), the SDP body test, the o= line of a description, and the parts of a
// Refer-To URI. Scans work on char codes; no regular expression sees network input.
import { detachString, stringifyUri } from '@sipts/message';
import type { NameAddr, SipHeaders, SipMessage, SipUri } from '@sipts/message';

/** Copies that keep nothing of a parsed message alive. */
export const detach: (s: string) => string = detachString;

/**
 * Copies the headers named in `names` (lower-case) from `source` into `into` (made when the first
 * one is found); returns `into`, undefined when none was there.
 */
export function copyHeaders(source: SipHeaders, names: readonly string[], into: SipHeaders | undefined): SipHeaders | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const value = source[name];
    if (value !== undefined) (into ??= {})[name] = value;
  }
  return into;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Does the comma-separated list `value` (Require, Supported...) hold `token` (lower-case)? */
export function hasToken(value: unknown, token: string): boolean {
  if (typeof value !== 'string') return false;
  const n = value.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isSpace(value.charCodeAt(i)) || value.charCodeAt(i) === 0x2c)) i++;
    let end = i;
    while (end < n && value.charCodeAt(end) !== 0x2c) end++;
    let last = end;
    while (last > i && isSpace(value.charCodeAt(last - 1))) last--;
    if (last - i === token.length && startsWithIgnoreCase(value.slice(i, last), token)) return true;
    i = end + 1;
  }
  return false;
}

/** Does `message` carry an SDP body (Content-Type application/sdp, or no type and a body)? */
export function sdpOf(message: SipMessage | undefined): string | undefined {
  if (message === undefined) return undefined;
  const body = message.content;
  if (typeof body !== 'string' || body === '') return undefined;
  const type = message.headers['content-type'];
  if (type !== undefined && (typeof type !== 'string' || !startsWithIgnoreCase(type.trimStart(), 'application/sdp'))) return undefined;
  return body;
}

function startsWithIgnoreCase(s: string, prefix: string): boolean {
  if (s.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** The o= line of a session description, or '' (a session refresh repeats it, RFC 3264 §8). */
export { originLine } from '@sipts/dialog';

/** The tag of a From/To value, or undefined. */
export function tagOf(na: NameAddr | undefined): string | undefined {
  const tag = na?.params?.tag;
  return typeof tag === 'string' && tag !== '' ? tag : undefined;
}

/** A URI as a string of its own. */
export function uriText(uri: string | SipUri): string {
  return typeof uri === 'string' ? detach(uri) : stringifyUri(uri);
}

/** Reason phrases fit for a quoted-string: no quote, backslash or control character. */
function quotable(text: string): string {
  let out = '';
  for (let i = 0; i < text.length && out.length < 128; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x7f) out += text[i];
  }
  return out;
}

/** RFC 3326 §2: `Reason: SIP ;cause=<status> ;text="<text>"`. */
export function reasonHeader(cause: number, text: string): string {
  return `SIP ;cause=${cause} ;text="${quotable(text)}"`;
}

/** RFC 3420 sipfrag of a status line, the body of a NOTIFY for a REFER (RFC 3515 §2.4.5). */
export function sipfrag(status: number, reason: string): string {
  return `SIP/2.0 ${status} ${quotable(reason)}\r\n`;
}

export const SIPFRAG_TYPE = 'message/sipfrag;version=2.0';

/**
 * A Refer-To URI split into the URI to call and its embedded Replaces header, if any (RFC 3515
 * §2.1 allows header parameters after `?`; RFC 3891 §5 puts Replaces there).
 */
export function splitReferTo(uri: string): { uri: string; replaces: string | undefined } {
  const q = uri.indexOf('?');
  if (q < 0) return { uri, replaces: undefined };
  let replaces: string | undefined;
  for (const part of uri.slice(q + 1, q + 1 + 4096).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).toLowerCase() === 'replaces') {
      try {
        replaces = decodeURIComponent(part.slice(eq + 1));
      } catch {
        replaces = part.slice(eq + 1);
      }
    }
  }
  return { uri: uri.slice(0, q), replaces };
}

// The header values the dialog layer reads and writes: option-tag lists (Supported, Require,
// Allow), RSeq / RAck (RFC 3262 §7), Session-Expires / Min-SE (RFC 4028 §4-5), the SDP body test,
// and copies of the small strings a dialog keeps (never a slice of a parsed message). Scanners
// work on char codes, no regular expression ever sees network input.
import { detachString, stringifyNameAddr, stringifyUri } from '@sipts/message';
import type { NameAddr, RouteAddr, SipMessage, SipUri } from '@sipts/message';

/** Copies that keep nothing of a parsed message alive. */
export const detach: (s: string) => string = detachString;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Lower-case ASCII of a char code. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Does the comma-separated list `value` (Supported, Require, Allow, Unsupported...) hold
 * `token` (lower-case)? Case-insensitive, whitespace around items ignored.
 */
export function hasToken(value: unknown, token: string): boolean {
  if (typeof value !== 'string') return false;
  const n = value.length;
  const t = token.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isSpace(value.charCodeAt(i)) || value.charCodeAt(i) === 0x2c)) i++;
    let end = i;
    while (end < n && value.charCodeAt(end) !== 0x2c) end++;
    let last = end;
    while (last > i && isSpace(value.charCodeAt(last - 1))) last--;
    if (last - i === t) {
      let k = 0;
      while (k < t && lower(value.charCodeAt(i + k)) === token.charCodeAt(k)) k++;
      if (k === t) return true;
    }
    i = end + 1;
  }
  return false;
}

/** The items of a comma-separated token list, lower-cased (bounded by the header's length). */
export function tokens(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim().toLowerCase();
    if (item !== '') out.push(item);
  }
  return out;
}

/** Appends `token` to a list header value unless present. */
export function addToken(value: unknown, token: string): string {
  if (typeof value !== 'string' || value.trim() === '') return token;
  return hasToken(value, token) ? value : `${value}, ${token}`;
}

/** A run of decimal digits as a number; undefined for anything else or over `max`. */
function digits(s: string, start: number, end: number, max: number): number | undefined {
  if (end <= start || end - start > 10) return undefined;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    v = v * 10 + (c - 0x30);
  }
  return v > max ? undefined : v;
}

function trimBounds(s: string, start: number, end: number): [number, number] {
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return [start, end];
}

const MAX_RSEQ = 0xffffffff;

/** RFC 3262 §7.1: RSeq = 1*DIGIT (1 to 2**32 - 1). */
export function parseRSeq(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const [s, e] = trimBounds(value, 0, value.length);
  const n = digits(value, s, e, MAX_RSEQ);
  return n === undefined || n === 0 ? undefined : n;
}

export interface RAck {
  rseq: number;
  cseq: number;
  method: string;
}

/** RFC 3262 §7.2: RAck = response-num LWS CSeq-num LWS Method. */
export function parseRAck(value: unknown): RAck | undefined {
  if (typeof value !== 'string' || value.length > 100) return undefined;
  const parts: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n && parts.length < 4) {
    while (i < n && isSpace(value.charCodeAt(i))) i++;
    const start = i;
    while (i < n && !isSpace(value.charCodeAt(i))) i++;
    if (i > start) parts.push(value.slice(start, i));
  }
  if (parts.length !== 3) return undefined;
  const rseq = parseRSeq(parts[0]);
  const cseq = digits(parts[1] as string, 0, (parts[1] as string).length, MAX_RSEQ);
  if (rseq === undefined || cseq === undefined) return undefined;
  return { rseq, cseq, method: parts[2] as string };
}

/** Delta-seconds (Min-SE, Retry-After's first token): undefined unless a plain number. */
export function parseDeltaSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  let end = 0;
  while (end < value.length && value.charCodeAt(end) !== 0x3b && value.charCodeAt(end) !== 0x28) end++;
  const [s, e] = trimBounds(value, 0, end);
  return digits(value, s, e, MAX_RSEQ);
}

export interface SessionExpires {
  /** Seconds. */
  interval: number;
  refresher: 'uac' | 'uas' | undefined;
}

/** RFC 4028 §4: Session-Expires = delta-seconds *(SEMI se-params), se-params = refresher-param / generic-param. */
export function parseSessionExpires(value: unknown): SessionExpires | undefined {
  if (typeof value !== 'string' || value.length > 200) return undefined;
  const semi = value.indexOf(';');
  const interval = parseDeltaSeconds(semi < 0 ? value : value.slice(0, semi));
  if (interval === undefined || interval === 0) return undefined;
  let refresher: 'uac' | 'uas' | undefined;
  if (semi >= 0) {
    for (const param of value.slice(semi + 1).split(';')) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'refresher') continue;
      const v = param.slice(eq + 1).trim().toLowerCase();
      if (v === 'uac' || v === 'uas') refresher = v;
    }
  }
  return { interval, refresher };
}

export function formatSessionExpires(interval: number, refresher: 'uac' | 'uas' | undefined): string {
  return refresher === undefined ? String(interval) : `${interval};refresher=${refresher}`;
}

/** Is the body of `message` a session description (Content-Type application/sdp, RFC 3264 §5)? */
export function hasSdp(message: SipMessage): boolean {
  const content = message.content;
  if (typeof content !== 'string' || content.length === 0) return false;
  const type = message.headers['content-type'];
  if (typeof type !== 'string') return false;
  const [s, e] = trimBounds(type, 0, type.length);
  const target = 'application/sdp';
  if (e - s < target.length) return false;
  for (let k = 0; k < target.length; k++) if (lower(type.charCodeAt(s + k)) !== target.charCodeAt(k)) return false;
  const after = s + target.length;
  return after === e || type.charCodeAt(after) === 0x3b || isSpace(type.charCodeAt(after));
}

/** The SDP body of `message` (copied off the parsed message), or undefined. */
export function sdpOf(message: SipMessage): string | undefined {
  return hasSdp(message) ? detach(message.content as string) : undefined;
}

/** A URI as a string of its own (a parsed one is written back). */
export function uriText(uri: string | SipUri): string {
  return typeof uri === 'string' ? detach(uri) : stringifyUri(uri);
}

/** The URI of the first Contact of `message` (RFC 3261 §12.1: the remote target), or undefined. */
export function contactUri(message: SipMessage): string | undefined {
  const contact = message.headers.contact;
  if (!Array.isArray(contact) || contact.length === 0) return undefined;
  const first = contact[0] as NameAddr;
  return first.uri === undefined ? undefined : uriText(first.uri);
}

/**
 * RFC 3261 §12.1.1 / §12.1.2: the route set is the Record-Route list, reversed on the UAC side.
 * Each entry is written back to its own string so nothing of the message stays referenced.
 */
export function routeSetOf(recordRoute: RouteAddr[] | undefined, reverse: boolean): string[] {
  if (!Array.isArray(recordRoute) || recordRoute.length === 0) return [];
  const out: string[] = new Array<string>(recordRoute.length);
  const n = recordRoute.length;
  for (let i = 0; i < n; i++) out[reverse ? n - 1 - i : i] = stringifyNameAddr(recordRoute[i] as NameAddr);
  return out;
}

/** The display name of a From/To, copied. */
export function nameOf(na: NameAddr | undefined): string | undefined {
  return na === undefined || typeof na.name !== 'string' || na.name === '' ? undefined : detach(na.name);
}

/** The tag of a From/To, or undefined. */
export function tagOf(na: NameAddr | undefined): string | undefined {
  const tag = na?.params?.tag;
  return typeof tag === 'string' && tag !== '' ? tag : undefined;
}

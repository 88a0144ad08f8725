// Reading what a REGISTER says, one value at a time: the AOR key, a Contact's binding key,
// expires and q, the RFC 5626 instance and reg-id, option tags. Everything kept long-term is
// copied flat (`flat`), so a stored binding never holds a slice of the message's text
// (DESIGN.md: anything stored long-term must not keep the whole message alive).
import { parseUri } from '@sipts/message';
import type { SipUri } from '@sipts/message';

/** Copies that keep nothing of a parsed message alive (@sipts/message's `detachString`). */
export { detachString as flat } from '@sipts/message';

/** RFC 3261 §20.19 / §10.2.1.1: a delta-seconds value; malformed ones are treated as `fallback`. */
export function deltaSeconds(raw: unknown, fallback: number): number {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? Math.min(raw, 0xffffffff) : fallback;
  if (typeof raw !== 'string') return fallback;
  const s = raw.trim();
  if (s.length === 0 || s.length > 12) return s.length > 12 && /^[0-9]+$/.test(s) ? 0xffffffff : fallback;
  let value = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return fallback;
    value = value * 10 + d;
  }
  // §20.19: a value over 2**32-1 means 2**32-1.
  return Math.min(value, 0xffffffff);
}

/** RFC 3261 §20.10 qvalue in thousandths; absent or malformed: 1000 (highest, as most registrars). */
export function qValue(raw: string | null | undefined): number {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 5) return 1000;
  const whole = raw.charCodeAt(0) - 0x30;
  if (whole !== 0 && whole !== 1) return 1000;
  if (raw.length === 1) return whole * 1000;
  if (raw.charCodeAt(1) !== 0x2e) return 1000;
  let frac = 0;
  let scale = 100;
  for (let i = 2; i < raw.length; i++) {
    const d = raw.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return 1000;
    frac += d * scale;
    scale /= 10;
  }
  const q = whole * 1000 + frac;
  return q > 1000 ? 1000 : q;
}

/** `q` for the wire: 0.5, 1, 0.125. */
export function formatQ(q: number): string {
  return q >= 1000 ? '1' : String(q / 1000);
}

/** A parsed URI, or undefined (string or object form). */
export function uriOf(uri: string | SipUri | undefined): SipUri | undefined {
  if (uri === undefined) return undefined;
  return parseUri(uri) ?? undefined;
}

/**
 * The key an AOR is stored under: the user part of a sip:/sips: URI, and with `useDomain` its
 * host too (`alice@example.com`, host lower-cased); undefined when the URI names no user.
 */
export function aorKey(uri: string | SipUri | undefined, useDomain: boolean): string | undefined {
  const parsed = uriOf(uri);
  if (parsed === undefined) return undefined;
  const scheme = parsed.schema.toLowerCase();
  if ((scheme !== 'sip' && scheme !== 'sips') || typeof parsed.user !== 'string' || parsed.user === '') return undefined;
  return useDomain ? `${parsed.user}@${parsed.host.toLowerCase()}` : parsed.user;
}

/**
 * The identity of a Contact URI for RFC 3261 §10.3 step 7 comparisons: the parts URI equality
 * (§19.1.4) always compares (scheme, user, host, port) and `transport`, host and scheme
 * case-insensitive, user case-sensitive.
 */
export function contactKey(uri: SipUri): string {
  const transport = uri.params['transport'];
  const t = typeof transport === 'string' ? transport.toLowerCase() : '';
  return `${uri.schema.toLowerCase()}:${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? ''};${t}`;
}

/** Does a comma-separated option-tag header (`Supported`, `Require`) list `tag`? */
export function hasOptionTag(header: unknown, tag: string): boolean {
  return optionTags(header).includes(tag);
}

/** The option tags of `Supported` / `Require` / `Proxy-Require`, lower-cased (at most 32). */
export function optionTags(header: unknown): string[] {
  if (typeof header !== 'string') return [];
  const out: string[] = [];
  for (const part of header.split(',', 32)) {
    const tag = part.trim().toLowerCase();
    if (tag !== '') out.push(tag);
  }
  return out;
}

/** The `+sip.instance` value without its quotes (`<urn:uuid:...>`), or undefined when malformed. */
export function instanceOf(raw: string | null | undefined, maxLength: number): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let v = raw;
  if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22) v = v.slice(1, -1);
  if (v.length < 3 || v.length > maxLength || v.charCodeAt(0) !== 0x3c || v.charCodeAt(v.length - 1) !== 0x3e) return undefined;
  return v;
}

/** RFC 5626 §4.2 reg-id: an integer 1..2**31-1, or undefined. */
export function regIdOf(raw: string | null | undefined): number | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 10) return undefined;
  const n = deltaSeconds(raw, -1);
  return n >= 1 && n <= 0x7fffffff ? n : undefined;
}

/** The RFC 1123 date of the Date header (RFC 3261 §20.17): `Mon, 07 Dec 2026 11:30:51 GMT`. */
export function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
// The Date of the current second, made once a second rather than once a REGISTER.
let dateSecond = -1;
let dateText = '';

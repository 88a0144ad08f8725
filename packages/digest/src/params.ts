// Reading and writing auth-param values. Header objects keep values as on the wire
// (quoted strings with their quotes, RFC 3261 §25.1), so every value read from the network goes
// through `unquote`, which rejects anything malformed instead of guessing.

/** Longest value accepted for any parameter but `uri` (nonces, usernames, realms...). */
export const MAX_PARAM_LENGTH = 1024;
/** Longest `uri` accepted: SIP URIs with parameters can be long, but not unbounded. */
export const MAX_URI_LENGTH = 8192;
/** At most this many auth headers are looked at in one message, and this many params in one. */
export const MAX_HEADERS = 16;
export const MAX_PARAMS = 32;

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function isControl(c: number): boolean {
  // CTLs other than HTAB are not allowed in a quoted-string or token (RFC 3261 §25.1).
  return (c < 0x20 && c !== 0x09) || c === 0x7f;
}

/**
 * The value of an auth-param: a quoted-string is unquoted (quoted-pairs resolved), a token is
 * returned as is. `undefined` for anything else: not a string, empty, too long, unbalanced
 * quotes, a bare quote or backslash, control characters.
 */
export function unquote(value: unknown, maxLength: number = MAX_PARAM_LENGTH): string | undefined {
  if (typeof value !== 'string') return undefined;
  const n = value.length;
  if (n === 0 || n > maxLength + 2) return undefined;
  if (value.charCodeAt(0) !== DQUOTE) {
    if (n > maxLength) return undefined;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === DQUOTE || c === BACKSLASH || isControl(c) || c === 0x20 || c === 0x2c) return undefined;
    }
    return value;
  }
  if (n < 2 || value.charCodeAt(n - 1) !== DQUOTE) return undefined;
  let out = '';
  let start = 1;
  for (let i = 1; i < n - 1; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH) {
      // quoted-pair: the next character stands for itself (never CR or LF).
      if (i + 1 >= n - 1) return undefined;
      const next = value.charCodeAt(i + 1);
      if (next === 0x0d || next === 0x0a) return undefined;
      out += value.slice(start, i);
      start = i + 1;
      i++;
    } else if (c === DQUOTE || isControl(c)) {
      return undefined;
    }
  }
  out += value.slice(start, n - 1);
  return out.length > maxLength ? undefined : out;
}

/** A quoted-string for `text`, escaping `"` and `\` as quoted-pairs. */
export function quote(text: string): string {
  let needsEscape = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      needsEscape = true;
      break;
    }
  }
  return needsEscape ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

/** True when `text` can be written inside a quoted-string at all (no CR, LF or other CTL). */
export function isQuotable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (isControl(text.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * The mark @sipts/message is asked to put on an auth header whose wire form repeated a parameter
 * name (`nonce="a", nonce="b"`), since its object keeps only one value per name: a non-enumerable
 * own property under this registered symbol, holding the repeated name. Names repeated in
 * different cases (`nonce`, `Nonce`) reach us as two keys and are caught without it.
 */
export const DUPLICATE_PARAM_MARK: unique symbol = Symbol.for('@sipts/message.duplicateAuthParam');

/**
 * The params of one auth header object, keys lower-cased, non-string values dropped.
 * `'malformed'` when it is not an object or carries an absurd number of params; `'duplicate'`
 * when a parameter appears twice (RFC 7235 §2.1: each parameter name only once).
 */
export function readParamsChecked(header: unknown): Map<string, string> | 'malformed' | 'duplicate' {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return 'malformed';
  if ((header as { [DUPLICATE_PARAM_MARK]?: unknown })[DUPLICATE_PARAM_MARK] !== undefined) return 'duplicate';
  const out = new Map<string, string>();
  let count = 0;
  for (const key in header) {
    if (!Object.prototype.hasOwnProperty.call(header, key)) continue;
    if (++count > MAX_PARAMS) return 'malformed';
    const value = (header as Record<string, unknown>)[key];
    if (typeof value !== 'string') continue;
    const name = key.toLowerCase();
    // A repeated parameter (`nonce` twice, in two cases) is ambiguous: refuse it.
    if (out.has(name)) return 'duplicate';
    out.set(name, value);
  }
  return out;
}

/** {@link readParamsChecked}, `undefined` for anything unusable (the client side ignores those). */
export function readParams(header: unknown): Map<string, string> | undefined {
  const params = readParamsChecked(header);
  return typeof params === 'string' ? undefined : params;
}

/** The headers of one kind as a bounded list of objects (a lone object counts as a list of one). */
export function headerList(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value.length > MAX_HEADERS ? value.slice(0, MAX_HEADERS) : value;
  if (typeof value === 'object' && value !== null) return [value];
  return [];
}

/** Splits a comma-separated token list (`qop="auth,auth-int"`), lower-cased and trimmed. */
export function splitTokenList(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',', MAX_PARAMS)) {
    const token = part.trim().toLowerCase();
    if (token !== '') out.push(token);
  }
  return out;
}

/** nc-value = 8LHEX (RFC 7616 §3.4): exactly eight hex digits, not zero. */
export function parseNonceCount(text: string): number | undefined {
  if (text.length !== 8) return undefined;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return undefined;
    n = n * 16 + d;
  }
  return n === 0 ? undefined : n;
}

/** A nonce count as the eight lower-case hex digits of the wire. */
export function formatNonceCount(n: number): string {
  const hex = (n >>> 0).toString(16);
  return '00000000'.slice(hex.length) + hex;
}

/** Lower-case hex of exactly `length` digits, or undefined. */
export function normalizeHex(text: string, length: number): string | undefined {
  if (text.length !== length) return undefined;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
    if (!ok) return undefined;
  }
  return text.toLowerCase();
}

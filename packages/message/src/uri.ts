// sip:, sips: and tel: URIs parsed into their parts (RFC 3261 §19.1, RFC 3966); any other
// absolute URI (RFC 3986) is kept opaque. %-escapes are kept as written so a URI stringifies
// back to the same text; compare escaped parts with `decodeURIComponent` if you need to.
import { HOST, SCHEME } from './chars.js';
import type { Params, SipUri } from './types.js';

/** Characters never allowed anywhere in a URI: CTLs, SP, DEL, `<`, `>`, `"`. */
function hasForbiddenChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 60 || c === 62 || c === 34) return true;
  }
  return false;
}

/** Length of the scheme at the start of `s` (0 when there is none), excluding the colon. */
export function schemeLength(s: string): number {
  const first = s.charCodeAt(0);
  if (!((first >= 65 && first <= 90) || (first >= 97 && first <= 122))) return 0;
  let i = 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 128 || SCHEME[c] !== 1) break;
    i++;
  }
  return s.charCodeAt(i) === 58 ? i : 0;
}

/** `;name[=value]` parameters from `i` up to `?` or the end; returns the index reached or -1. */
function readUriParams(s: string, i: number, params: Params): number {
  while (i < s.length && s.charCodeAt(i) === 59) {
    const nameStart = ++i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 61 || c === 59 || c === 63) break;
      i++;
    }
    if (i === nameStart) return -1;
    const name = s.slice(nameStart, i);
    let value: string | null = null;
    if (s.charCodeAt(i) === 61) {
      const valueStart = ++i;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c === 59 || c === 63) break;
        i++;
      }
      if (i === valueStart) return -1;
      value = s.slice(valueStart, i);
    }
    params[name] = value;
  }
  return i;
}

/**
 * Parses a URI. Returns `undefined` when it is not a well-formed URI (as `sip` does);
 * an object is returned unchanged.
 */
export function parseUri(s: string | SipUri): SipUri | undefined {
  if (typeof s !== 'string') return typeof s === 'object' && s !== null ? s : undefined;
  const colon = schemeLength(s);
  if (colon === 0 || colon + 1 >= s.length || hasForbiddenChar(s)) return undefined;
  const schema = s.slice(0, colon).toLowerCase();
  let i = colon + 1;
  const params: Params = {};
  const headers: Record<string, string> = {};

  if (schema === 'tel') {
    // RFC 3966: telephone-subscriber, then ;params. The number goes in `user`, as it would
    // in the equivalent sip: URI (RFC 3261 §19.1.6).
    const start = i;
    while (i < s.length && s.charCodeAt(i) !== 59) i++;
    if (i === start) return undefined;
    const user = s.slice(start, i);
    i = readUriParams(s, i, params);
    if (i !== s.length) return undefined;
    return { schema, user, password: undefined, host: '', port: undefined, params, headers };
  }
  if (schema !== 'sip' && schema !== 'sips') {
    return {
      schema,
      user: undefined,
      password: undefined,
      host: '',
      port: undefined,
      params,
      headers,
      opaque: s.slice(i),
    };
  }

  let user: string | undefined;
  let password: string | undefined;
  // RFC 3261 §19.1.1: "@" cannot appear unescaped in params or headers, so the first one
  // ends the userinfo (which may itself hold ";", "?", "," and ":").
  const at = s.indexOf('@', i);
  if (at >= 0) {
    const pw = s.indexOf(':', i);
    if (pw >= 0 && pw < at) {
      user = s.slice(i, pw);
      password = s.slice(pw + 1, at);
    } else {
      user = s.slice(i, at);
    }
    if (user.length === 0) return undefined;
    i = at + 1;
  }

  const hostStart = i;
  if (s.charCodeAt(i) === 91) {
    // IPv6reference: "[" IPv6address "]"; brackets are kept in `host`.
    const close = s.indexOf(']', i);
    if (close < 0) return undefined;
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      const hex = (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;
      if (!hex) return undefined;
    }
    i = close + 1;
  } else {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c >= 128 || HOST[c] !== 1) break;
      i++;
    }
  }
  if (i === hostStart) return undefined;
  const host = s.slice(hostStart, i);

  let port: number | undefined;
  if (s.charCodeAt(i) === 58) {
    const portStart = ++i;
    let n = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    if (i === portStart || i - portStart > 5 || n > 65535) return undefined;
    port = n;
  }

  i = readUriParams(s, i, params);
  if (i < 0) return undefined;

  if (s.charCodeAt(i) === 63) {
    // headers = "?" header *( "&" header ), header = hname "=" hvalue
    i++;
    while (i < s.length) {
      const nameStart = i;
      while (i < s.length && s.charCodeAt(i) !== 61 && s.charCodeAt(i) !== 38) i++;
      if (i === nameStart || s.charCodeAt(i) !== 61) return undefined;
      const name = s.slice(nameStart, i);
      const valueStart = ++i;
      while (i < s.length && s.charCodeAt(i) !== 38) i++;
      headers[name] = s.slice(valueStart, i);
      if (i < s.length) {
        i++;
        if (i === s.length) return undefined;
      }
    }
  }
  if (i !== s.length) return undefined;
  return { schema, user, password, host, port, params, headers };
}

/** `;name=value` / `;flag` for each parameter; null, undefined and '' values are flags. */
export function stringifyParams(params: Params | undefined): string {
  let s = '';
  if (params === undefined || params === null) return s;
  for (const name in params) {
    const v = params[name];
    s += v === null || v === undefined || v === '' ? ';' + name : ';' + name + '=' + v;
  }
  return s;
}

/** Adds the brackets an IPv6 literal needs in a URI or Via (RFC 3261 §19.1.1, §25.1). */
export function formatHost(host: string): string {
  return host.indexOf(':') >= 0 && host.charCodeAt(0) !== 91 ? '[' + host + ']' : host;
}

/** Formats a URI; a string is returned unchanged. */
export function stringifyUri(uri: string | SipUri): string {
  if (typeof uri === 'string') return uri;
  const schema = uri.schema || 'sip';
  if (uri.opaque !== undefined) return schema + ':' + uri.opaque;
  let s = schema + ':';
  if (uri.user !== undefined && uri.user !== '') {
    s += uri.password !== undefined && uri.password !== '' ? uri.user + ':' + uri.password : uri.user;
    if (schema === 'tel') return s + stringifyParams(uri.params);
    s += '@';
  }
  s += formatHost(uri.host);
  if (typeof uri.port === 'number' && uri.port > 0) s += ':' + uri.port;
  s += stringifyParams(uri.params);
  if (uri.headers !== undefined && uri.headers !== null) {
    let sep = '?';
    for (const name in uri.headers) {
      s += sep + name + '=' + uri.headers[name];
      sep = '&';
    }
  }
  return s;
}

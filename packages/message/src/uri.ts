// sip:, sips: and tel: URIs parsed into their parts (RFC 3261 §19.1, RFC 3966); any other
// absolute URI (RFC 3986) is kept opaque. %-escapes are kept as written so a URI stringifies
// back to the same text; compare escaped parts with `decodeURIComponent` if you need to.
import * as scan from './scan.js';
import type { Params, SipUri } from './types.js';

const uriAt = scan.uriAt;
const codesOf = scan.codesOf;

/**
 * Parses a URI. Returns `undefined` when it is not a well-formed URI (as `sip` does);
 * an object is returned unchanged.
 */
export function parseUri(s: string | SipUri): SipUri | undefined {
  if (typeof s !== 'string') return typeof s === 'object' && s !== null ? s : undefined;
  return uriAt(codesOf(s), s, 0, s.length);
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
  if (Number.isInteger(uri.port)) s += ':' + uri.port; // sip's parseUri leaves NaN: no port
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

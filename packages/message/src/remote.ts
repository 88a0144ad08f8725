// The one spelling of an IP address used in `Remote`, Via `received` and connection keys.
import { isIP } from 'node:net';

/** `[2001:db8::1]` -> `2001:db8::1`; anything else unchanged. The one bracket helper. */
export function unbracket(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b /* [ */ && host.charCodeAt(host.length - 1) === 0x5d /* ] */
    ? host.slice(1, -1)
    : host;
}

/** An address as a URI or Via host: IPv6 in brackets (RFC 3261 §25.1 `IPv6reference`), else as is. */
export function bracketHost(address: string): string {
  const bare = unbracket(address);
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}

/**
 * Brackets removed (`[::1]` -> `::1`), IPv6 in lower case, and IPv4-mapped IPv6 addresses
 * (`::ffff:192.0.2.1`, reported by dual-stack sockets) reduced to plain IPv4, so a peer has
 * one name whichever socket it used. Host names and IPv4 pass through unchanged.
 */
export function normalizeAddress(address: string): string {
  let a = unbracket(address);
  // Only IPv6 text contains ':'; skip the folding for IPv4 and names.
  if (a.indexOf(':') !== -1) {
    a = a.toLowerCase();
    if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  }
  return a;
}

// The one spelling of an IP address used in `Remote`, Via `received` and connection keys.
import { isIP } from 'node:net';

/**
 * Brackets removed (`[::1]` -> `::1`), IPv6 in lower case, and IPv4-mapped IPv6 addresses
 * (`::ffff:192.0.2.1`, reported by dual-stack sockets) reduced to plain IPv4, so a peer has
 * one name whichever socket it used. Host names and IPv4 pass through unchanged.
 */
export function normalizeAddress(address: string): string {
  let a = address;
  if (a.length > 1 && a.charCodeAt(0) === 0x5b /* [ */ && a.charCodeAt(a.length - 1) === 0x5d /* ] */) {
    a = a.slice(1, -1);
  }
  // Only IPv6 text contains ':'; skip the folding for IPv4 and names.
  if (a.indexOf(':') !== -1) {
    a = a.toLowerCase();
    if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  }
  return a;
}

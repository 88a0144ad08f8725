// Address helpers: bracket stripping and the IPv4-mapped IPv6 addresses of a dual-stack socket.
// A copy of the same file in @sipts/transport-udp: packages never import each other's internals.
import { isIP } from 'node:net';

const MAPPED_PREFIX = '::ffff:';

/** `[2001:db8::1]` -> `2001:db8::1`; anything else unchanged. */
export function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b /* [ */ && host.charCodeAt(host.length - 1) === 0x5d /* ] */
    ? host.slice(1, -1)
    : host;
}

/**
 * A dual-stack socket reports IPv4 peers as `::ffff:192.0.2.1`; the rest of the stack (Via
 * `received`, flow tokens, target matching) wants the plain IPv4 form.
 */
export function unmapIPv4(address: string): string {
  if (address.length > MAPPED_PREFIX.length && address.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX) {
    const rest = address.slice(MAPPED_PREFIX.length);
    if (isIP(rest) === 4) return rest;
  }
  return address;
}

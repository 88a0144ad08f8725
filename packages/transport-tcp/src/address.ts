// Address normalisation and the keys that name connections.
import { isIP } from 'node:net';

/**
 * The form of an IP address used in `Remote`, Via `received` and connection keys: brackets
 * removed (`[::1]` -> `::1`), lower case, and IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, seen
 * on dual-stack sockets) reduced to plain IPv4 so a peer has one name whichever socket it used.
 */
export function normalizeAddress(address: string): string {
  let a = address;
  if (a.length > 1 && a.charCodeAt(0) === 0x5b /* [ */ && a.charCodeAt(a.length - 1) === 0x5d /* ] */) {
    a = a.slice(1, -1);
  }
  // Only IPv6 text contains letters or ':' that need folding; skip the work for IPv4 and names.
  if (a.indexOf(':') !== -1) {
    a = a.toLowerCase();
    if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  }
  return a;
}

/** True for the wildcard addresses a server binds to but a socket never uses as a source. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** `address|port`: one remote end. Addresses must already be normalised. */
export function remoteKey(address: string, port: number): string {
  return address + '|' + port;
}

/** `address|port|localAddress|localPort`: one flow (connection), as `sip` keys its flows. */
export function flowKey(address: string, port: number, localAddress: string, localPort: number): string {
  return address + '|' + port + '|' + localAddress + '|' + localPort;
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536;
}

// Is a client behind NAT? The tests of Kamailio's nathelper (nat_uac_test flags 1, 2 and 16) on
// a REGISTER that came directly (no Path): a client whose Contact names another address than the
// one its request came from, and which either put that other address in its Via too (it does
// not know its public address) or named a private one, cannot be reached at its Contact; it is
// reached where its REGISTER came from. A host that registers on someone's behalf (a third-party
// registration, RFC 3261 §10.2: its Via is its own source address) keeps its Contact as given.
import { isIP } from 'node:net';
import type { SipUri, Via } from '@sipts/message';
import type { FlowAddress } from './types.js';

/**
 * `'auto'` (default): the nathelper rules above. `'contact'`: any Contact address or port other
 * than the source counts as NAT (third-party registrations then reach the registering host).
 * `'off'`: Contacts are used as registered.
 */
export type NatMode = 'auto' | 'contact' | 'off';

function unbracketed(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

/** RFC 1918, RFC 6598 (CGN), link-local, and IPv6 ULA / link-local addresses. */
export function isPrivateAddress(host: string): boolean {
  const h = unbracketed(host).toLowerCase();
  const family = isIP(h);
  if (family === 4) {
    const parts = h.split('.').map(Number);
    const a = parts[0] ?? -1;
    const b = parts[1] ?? -1;
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  if (family === 6) return h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe8') || h.startsWith('fe9') || h.startsWith('fea') || h.startsWith('feb');
  return false;
}

function sameHost(a: string, b: string): boolean {
  return unbracketed(a).toLowerCase() === unbracketed(b).toLowerCase();
}

function defaultPort(schema: string, protocol: string): number {
  const p = protocol.toUpperCase();
  return schema.toLowerCase() === 'sips' || p === 'TLS' || p === 'WSS' ? 5061 : 5060;
}

/**
 * Should the binding of `contact` be reached at `source` instead? Datagram clients are compared
 * by address and port; stream clients by address only (a TCP client's source port is ephemeral,
 * the port in its Via and Contact is the one it listens on).
 */
export function isBehindNat(mode: NatMode, contact: SipUri, via: Via | undefined, source: FlowAddress): boolean {
  if (mode === 'off') return false;
  const datagram = source.protocol.toUpperCase() === 'UDP';
  const contactPort = contact.port ?? defaultPort(contact.schema, source.protocol);
  const contactDiffers = !sameHost(contact.host, source.address) || (datagram && contactPort !== source.port);
  if (!contactDiffers) return false;
  if (mode === 'contact') return true;
  const viaDiffers =
    via === undefined || !sameHost(via.host, source.address) || (datagram && (via.port ?? defaultPort('sip', via.protocol)) !== source.port);
  return viaDiffers || (isPrivateAddress(contact.host) && !isPrivateAddress(source.address));
}

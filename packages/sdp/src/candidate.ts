// a=candidate (RFC 8839 §5.1, ICE; RFC 6544 tcptype): read into fields and written back.
// Everything after `typ <type> [raddr <a>] [rport <p>]` stays as ordered name/value pairs, so a
// candidate with extensions (generation, ufrag, network-id, tcptype, ...) is written back as it came.
import { decimal, getAttributes, splitBlank } from './attributes.js';
import type { SdpMedia } from './types.js';

export interface SdpCandidate {
  foundation: string;
  /** 1 for RTP, 2 for RTCP. */
  component: number;
  /** `udp` or `tcp` (compared case-insensitively by ICE). */
  transport: string;
  priority: number;
  address: string;
  port: number;
  /** `host`, `srflx`, `prflx`, `relay`. */
  type: string;
  relatedAddress?: string | undefined;
  relatedPort?: number | undefined;
  /** The pairs after the known fields, in order: `[['generation', '0'], ['network-id', '1']]`. */
  extensions: Array<[string, string]>;
}

/**
 * Reads a candidate: the a=candidate value, or the same prefixed by `candidate:` (as in a
 * browser's RTCIceCandidate.candidate). undefined when malformed.
 */
export function parseCandidate(value: string | undefined): SdpCandidate | undefined {
  if (value === undefined) return undefined;
  const text = value.startsWith('candidate:') ? value.slice(10) : value;
  const f = splitBlank(text);
  if (f.length < 8 || f[6] !== 'typ' || (f.length - 8) % 2 !== 0) return undefined;
  const component = decimal(f[1], 3);
  const priority = decimal(f[3], 10);
  const port = decimal(f[5], 5);
  if (component < 1 || component > 256 || priority < 0 || priority > 0xffffffff || port < 0 || port > 65535) return undefined;
  const candidate: SdpCandidate = {
    foundation: f[0] as string,
    component,
    transport: f[2] as string,
    priority,
    address: f[4] as string,
    port,
    type: f[7] as string,
    extensions: [],
  };
  let i = 8;
  if (f[i] === 'raddr') {
    candidate.relatedAddress = f[i + 1];
    i += 2;
  }
  if (f[i] === 'rport') {
    const relatedPort = decimal(f[i + 1], 5);
    if (relatedPort < 0 || relatedPort > 65535) return undefined;
    candidate.relatedPort = relatedPort;
    i += 2;
  }
  for (; i < f.length; i += 2) candidate.extensions.push([f[i] as string, f[i + 1] as string]);
  return candidate;
}

/** Writes the a=candidate value (without `candidate:`). */
export function formatCandidate(c: SdpCandidate): string {
  let out = `${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) out += ` raddr ${c.relatedAddress}`;
  if (c.relatedPort !== undefined) out += ` rport ${c.relatedPort}`;
  for (const [name, value] of c.extensions) out += ` ${name} ${value}`;
  return out;
}

/** The well-formed candidates of a media section, in order. */
export function getCandidates(media: SdpMedia): SdpCandidate[] {
  const out: SdpCandidate[] = [];
  for (const a of getAttributes(media, 'candidate')) {
    const c = parseCandidate(a.value);
    if (c !== undefined) out.push(c);
  }
  return out;
}

// HEP v3 (the Homer Encapsulation Protocol, sipcapture.org HEP3 spec): a 6-byte header "HEP3" +
// total length, then chunks of vendor id (0 = generic), type id and length (6-byte chunk header
// included), all big-endian. The chunk types written here are the ones Homer and Kamailio's
// siptrace use for SIP. The encoder writes straight into one buffer: no chunk objects.
import { isIP } from 'node:net';
import { HepError } from './errors.js';

/** HEP3 chunk types (generic vendor 0x0000). */
export const HEP_CHUNK = {
  ipFamily: 0x0001,
  ipProtocol: 0x0002,
  ipv4Source: 0x0003,
  ipv4Destination: 0x0004,
  ipv6Source: 0x0005,
  ipv6Destination: 0x0006,
  sourcePort: 0x0007,
  destinationPort: 0x0008,
  timeSeconds: 0x0009,
  timeMicroseconds: 0x000a,
  payloadType: 0x000b,
  captureId: 0x000c,
  authKey: 0x000e,
  payload: 0x000f,
  correlationId: 0x0011,
  nodeName: 0x0013,
} as const;

/** HEP payload type 1: SIP. */
export const HEP_PAYLOAD_SIP = 1;
/** IP protocol numbers: UDP 17; TCP 6 (TLS and WebSocket flows run over TCP). */
const IPPROTO_UDP = 17;
const IPPROTO_TCP = 6;
const AF_INET = 2;
const AF_INET6 = 10;
/** The HEP3 length field is 16 bits: a larger packet cannot be encoded. */
export const HEP_MAX_PACKET = 0xffff;

/** One captured message. */
export interface HepPacket {
  /** SIP transport: UDP is sent as IP protocol 17, anything else (TCP, TLS, WS, WSS) as 6. */
  protocol: string;
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  /** Capture time in ms since the epoch (fractions give the microseconds). */
  time: number;
  captureId: number;
  authKey?: string | undefined;
  nodeName?: string | undefined;
  /** Homer groups messages by it: the Call-ID. */
  correlationId?: string | undefined;
  payload: Uint8Array;
}


/** IPv4 or IPv6 literal (brackets allowed) as 4 or 16 bytes; undefined when not an IP literal. */
export function ipBytes(address: string): Uint8Array | undefined {
  let a = address;
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const family = isIP(a);
  if (family === 4) return ipv4Bytes(a);
  if (family !== 6) return undefined;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.includes('.')) {
    // An embedded IPv4 address (::ffff:192.0.2.1) becomes its two last groups.
    const colon = a.lastIndexOf(':');
    const v4 = ipv4Bytes(a.slice(colon + 1));
    a = `${a.slice(0, colon + 1)}${(((v4[0] as number) << 8) | (v4[1] as number)).toString(16)}:${(((v4[2] as number) << 8) | (v4[3] as number)).toString(16)}`;
  }
  const halves = a.split('::');
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest = halves.length > 1 && halves[1] !== '' ? (halves[1] as string).split(':') : [];
  const groups = new Array<number>(8).fill(0);
  for (let i = 0; i < head.length; i++) groups[i] = parseInt(head[i] as string, 16);
  for (let i = 0; i < rest.length; i++) groups[8 - rest.length + i] = parseInt(rest[i] as string, 16);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (groups[i] as number) >> 8;
    out[i * 2 + 1] = (groups[i] as number) & 0xff;
  }
  return out;
}

function ipv4Bytes(a: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = a.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function checkPort(port: number, name: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HepError('ERR_INVALID_PACKET', `${name} ${String(port)} is not a port`);
}

/**
 * The HEP3 packet for `packet`, or undefined when it would exceed the 16-bit length (65535
 * bytes). Both addresses must be of one family: an IPv4 address paired with an IPv6 one is
 * written as IPv4-mapped IPv6. Throws `HepError` `ERR_INVALID_PACKET` for a non-IP address.
 */
export function encodeHep(packet: HepPacket): Uint8Array | undefined {
  let src = cachedIp(packet.sourceAddress);
  let dst = cachedIp(packet.destinationAddress);
  if (src === undefined) throw new HepError('ERR_INVALID_PACKET', `source ${packet.sourceAddress} is not an IP address`);
  if (dst === undefined) throw new HepError('ERR_INVALID_PACKET', `destination ${packet.destinationAddress} is not an IP address`);
  checkPort(packet.sourcePort, 'source port');
  checkPort(packet.destinationPort, 'destination port');
  if (src.length !== dst.length) {
    if (src.length === 4) src = mapped(src);
    else dst = mapped(dst);
  }
  const v6 = src.length === 16;
  const authLength = packet.authKey === undefined ? 0 : Buffer.byteLength(packet.authKey);
  const nodeLength = packet.nodeName === undefined ? 0 : Buffer.byteLength(packet.nodeName);
  const correlationLength = packet.correlationId === undefined ? 0 : Buffer.byteLength(packet.correlationId);
  const payload = packet.payload;
  // Fixed chunks: family 7, protocol 7, two addresses, ports 8 + 8, time 10 + 10, type 7, capture id 10.
  const size =
    6 + 7 + 7 + 2 * (6 + src.length) + 8 + 8 + 10 + 10 + 7 + 10 +
    (authLength > 0 ? 6 + authLength : 0) +
    (nodeLength > 0 ? 6 + nodeLength : 0) +
    (correlationLength > 0 ? 6 + correlationLength : 0) +
    6 + payload.length;
  if (size > HEP_MAX_PACKET) return undefined;
  const out = Buffer.allocUnsafe(size);
  out.write('HEP3', 0, 'latin1');
  out.writeUInt16BE(size, 4);
  let at = chunk(out, 6, HEP_CHUNK.ipFamily, 1);
  out[at++] = v6 ? AF_INET6 : AF_INET;
  at = chunk(out, at, HEP_CHUNK.ipProtocol, 1);
  out[at++] = packet.protocol === 'UDP' || packet.protocol === 'udp' ? IPPROTO_UDP : IPPROTO_TCP;
  at = chunk(out, at, v6 ? HEP_CHUNK.ipv6Source : HEP_CHUNK.ipv4Source, src.length);
  out.set(src, at);
  at += src.length;
  at = chunk(out, at, v6 ? HEP_CHUNK.ipv6Destination : HEP_CHUNK.ipv4Destination, dst.length);
  out.set(dst, at);
  at += dst.length;
  at = chunk(out, at, HEP_CHUNK.sourcePort, 2);
  out.writeUInt16BE(packet.sourcePort, at);
  at = chunk(out, at + 2, HEP_CHUNK.destinationPort, 2);
  out.writeUInt16BE(packet.destinationPort, at);
  const seconds = Math.floor(packet.time / 1000);
  const micros = Math.min(999_999, Math.max(0, Math.round((packet.time - seconds * 1000) * 1000)));
  at = chunk(out, at + 2, HEP_CHUNK.timeSeconds, 4);
  out.writeUInt32BE(seconds >>> 0, at);
  at = chunk(out, at + 4, HEP_CHUNK.timeMicroseconds, 4);
  out.writeUInt32BE(micros, at);
  at = chunk(out, at + 4, HEP_CHUNK.payloadType, 1);
  out[at++] = HEP_PAYLOAD_SIP;
  at = chunk(out, at, HEP_CHUNK.captureId, 4);
  out.writeUInt32BE(packet.captureId >>> 0, at);
  at += 4;
  if (authLength > 0) at = text(out, chunk(out, at, HEP_CHUNK.authKey, authLength), packet.authKey as string, authLength);
  if (nodeLength > 0) at = text(out, chunk(out, at, HEP_CHUNK.nodeName, nodeLength), packet.nodeName as string, nodeLength);
  if (correlationLength > 0) at = text(out, chunk(out, at, HEP_CHUNK.correlationId, correlationLength), packet.correlationId as string, correlationLength);
  out.set(payload, chunk(out, at, HEP_CHUNK.payload, payload.length));
  return out;
}

/** Writes a chunk header (generic vendor) at `at`; returns where its value starts. */
function chunk(out: Buffer, at: number, type: number, length: number): number {
  out.writeUInt16BE(0, at);
  out.writeUInt16BE(type, at + 2);
  out.writeUInt16BE(6 + length, at + 4);
  return at + 6;
}

function text(out: Buffer, at: number, value: string, length: number): number {
  out.write(value, at, length, 'utf8');
  return at + length;
}

/** Peers repeat: their address bytes are kept (a bounded table, cleared when full). */
const ipCache = new Map<string, Uint8Array | undefined>();
const IP_CACHE_SIZE = 4096;

function cachedIp(address: string): Uint8Array | undefined {
  let bytes = ipCache.get(address);
  if (bytes === undefined && !ipCache.has(address)) {
    bytes = ipBytes(address);
    if (ipCache.size >= IP_CACHE_SIZE) ipCache.clear();
    ipCache.set(address, bytes);
  }
  return bytes;
}

function mapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

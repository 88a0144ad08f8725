// RFC 5626 §4.4.2 / RFC 5389: a UA keeps its UDP flow (and the NAT binding in front of it)
// alive with STUN Binding requests sent to the SIP port itself. The transport answers them on
// the same socket with a Binding success response carrying XOR-MAPPED-ADDRESS, which also
// tells the UA its public address. SIP text never starts with the bytes 0x00/0x01 (RFC 5389
// §6: the two top bits of a STUN message are zero), so the first byte tells the protocols apart.
import { isIP } from 'node:net';

/** RFC 5389 §6: the magic cookie in every STUN header. */
const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;

/** True when `data` may be a STUN message (first byte 0x00 or 0x01, cookie in place). */
export function isStun(data: Uint8Array): boolean {
  return (
    data.length >= HEADER_BYTES &&
    ((data[0] as number) & 0xc0) === 0 &&
    data[4] === 0x21 &&
    data[5] === 0x12 &&
    data[6] === 0xa4 &&
    data[7] === 0x42
  );
}

/**
 * The Binding success response to a Binding request in `data`, mapped to `address:port` (the
 * source of the request), or undefined when `data` is some other STUN message (ignored, as
 * RFC 5389 §7.3 lets a server do with what it does not handle) or malformed.
 */
export function stunBindingResponse(data: Uint8Array, address: string, port: number): Buffer | undefined {
  if (!isStun(data)) return undefined;
  const type = ((data[0] as number) << 8) | (data[1] as number);
  const length = ((data[2] as number) << 8) | (data[3] as number);
  if (type !== BINDING_REQUEST || length % 4 !== 0 || HEADER_BYTES + length !== data.length) return undefined;
  const family = isIP(address);
  if (family === 0 || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const addressBytes = family === 4 ? 4 : 16;
  const attributeLength = 4 + addressBytes;
  const out = Buffer.alloc(HEADER_BYTES + 4 + attributeLength);
  out.writeUInt16BE(BINDING_SUCCESS, 0);
  out.writeUInt16BE(4 + attributeLength, 2);
  // Magic cookie and transaction id echoed (bytes 4..19).
  Buffer.from(data.buffer, data.byteOffset + 4, 16).copy(out, 4);
  let p = HEADER_BYTES;
  out.writeUInt16BE(XOR_MAPPED_ADDRESS, p);
  out.writeUInt16BE(attributeLength, p + 2);
  out.writeUInt8(0, p + 4);
  out.writeUInt8(family === 4 ? 0x01 : 0x02, p + 5);
  // RFC 5389 §15.2: the port XORed with the cookie's top 16 bits, the address with the cookie
  // (IPv4) or the cookie followed by the transaction id (IPv6).
  out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), p + 6);
  p += 8;
  const raw = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  for (let i = 0; i < addressBytes; i++) out[p + i] = (raw[i] as number) ^ (out[4 + i] as number);
  return out;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let left = groups(head);
  let right = address.includes('::') ? groups(tail) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (list: string[]): string[] =>
    list.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  left = expand(left);
  right = expand(right);
  const all = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes: number[] = [];
  for (const g of all) {
    const v = parseInt(g, 16);
    bytes.push((v >> 8) & 0xff, v & 0xff);
  }
  return bytes;
}

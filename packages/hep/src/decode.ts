// A HEP3 reader for our own checks and for tools (a test collector, a dump): the chunks of one
// packet by type. Bounded: it reads only within the packet's declared length and refuses a chunk
// that runs past it.

export interface DecodedHep {
  /** Chunks of the generic vendor (0) by type id; other vendors' chunks are skipped. */
  chunks: Map<number, Uint8Array>;
  /** Bytes this packet took (its length field), so a TCP stream can be cut into packets. */
  length: number;
}

/** The packet at the start of `data`, or undefined when it is not (yet) a whole HEP3 packet. */
export function decodeHep(data: Uint8Array): DecodedHep | undefined {
  if (data.length < 6 || data[0] !== 0x48 || data[1] !== 0x45 || data[2] !== 0x50 || data[3] !== 0x33) return undefined;
  const length = ((data[4] as number) << 8) | (data[5] as number);
  if (length < 6 || data.length < length) return undefined;
  const chunks = new Map<number, Uint8Array>();
  let at = 6;
  while (at + 6 <= length) {
    const vendor = ((data[at] as number) << 8) | (data[at + 1] as number);
    const type = ((data[at + 2] as number) << 8) | (data[at + 3] as number);
    const size = ((data[at + 4] as number) << 8) | (data[at + 5] as number);
    if (size < 6 || at + size > length) return undefined;
    if (vendor === 0) chunks.set(type, data.subarray(at + 6, at + size));
    at += size;
  }
  return { chunks, length };
}

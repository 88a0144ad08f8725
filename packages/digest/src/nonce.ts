// Self-validating nonces (RFC 7616 §3.3 and §5.4 suggest a time stamp plus a keyed hash):
//   base64url( time stamp (6 bytes, ms, big-endian) | 11 random bytes | HMAC-SHA-256 (16 bytes) )
// The HMAC covers the time stamp, the random bytes and a tag (the realm), under a secret that is
// random per process unless configured, so instances sharing the secret accept each other's
// nonces and no table of issued nonces is needed.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const STAMP_BYTES = 6;
const RANDOM_BYTES = 11;
const MAC_BYTES = 16;
const BODY_BYTES = STAMP_BYTES + RANDOM_BYTES;
const TOTAL_BYTES = BODY_BYTES + MAC_BYTES;
/** 33 bytes are exactly 44 base64url characters, with no padding. */
export const NONCE_LENGTH = (TOTAL_BYTES / 3) * 4;

export class NonceIssuer {
  readonly #secret: Buffer;

  constructor(secret: Uint8Array) {
    this.#secret = Buffer.from(secret);
  }

  /** A fresh nonce for `tag`, stamped `timestamp` (ms since the epoch). */
  issue(tag: string, timestamp: number): string {
    const bytes = Buffer.allocUnsafe(TOTAL_BYTES);
    bytes.writeUIntBE(Math.max(0, Math.min(Math.floor(timestamp), 0xffffffffffff)), 0, STAMP_BYTES);
    randomBytes(RANDOM_BYTES).copy(bytes, STAMP_BYTES);
    this.#mac(bytes, tag).copy(bytes, BODY_BYTES, 0, MAC_BYTES);
    return bytes.toString('base64url');
  }

  /** The time stamp of a nonce this issuer made for `tag`, or undefined for anything else. */
  timestampOf(nonce: string, tag: string): number | undefined {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return undefined;
    const bytes = Buffer.from(nonce, 'base64url');
    // Node's base64url decoder skips characters it does not know: insist on the canonical form.
    if (bytes.length !== TOTAL_BYTES || bytes.toString('base64url') !== nonce) return undefined;
    const expected = this.#mac(bytes, tag);
    if (!timingSafeEqual(expected.subarray(0, MAC_BYTES), bytes.subarray(BODY_BYTES))) return undefined;
    return bytes.readUIntBE(0, STAMP_BYTES);
  }

  #mac(bytes: Buffer, tag: string): Buffer {
    return createHmac('sha256', this.#secret).update(bytes.subarray(0, BODY_BYTES)).update(tag, 'utf8').digest();
  }
}

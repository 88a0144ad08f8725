// Input checks shared by parseSdp and the sip-compatible parse: the type of the input, the size
// limit (checked before any decoding), and UTF-8 decoding of bytes.
import { Buffer, isUtf8 } from 'node:buffer';
import { SdpError } from './errors.js';
import type { SdpParseOptions } from './types.js';

/** Default `maxBytes`: far above a WebRTC offer with several streams and many candidates (~10 KB). */
export const DEFAULT_MAX_BYTES = 65536;
/** Default `maxLines`. */
export const DEFAULT_MAX_LINES = 4096;

export interface Limits {
  maxBytes: number;
  maxLines: number;
}

const DEFAULT_LIMITS: Limits = { maxBytes: DEFAULT_MAX_BYTES, maxLines: DEFAULT_MAX_LINES };

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new SdpError('ERR_INVALID_OPTION', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function resolveLimits(options: SdpParseOptions | undefined): Limits {
  if (options === undefined) return DEFAULT_LIMITS;
  if (typeof options !== 'object' || options === null) {
    throw new SdpError('ERR_INVALID_OPTION', 'options must be an object');
  }
  if (options.maxBytes === undefined && options.maxLines === undefined) return DEFAULT_LIMITS;
  return {
    maxBytes: positiveInteger(options.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES),
    maxLines: positiveInteger(options.maxLines, 'maxLines', DEFAULT_MAX_LINES),
  };
}

/** The text of `input` (a string, or UTF-8 bytes), after the size check. */
export function inputText(input: unknown, limits: Limits): string {
  if (typeof input === 'string') {
    if (input.length > limits.maxBytes) {
      throw new SdpError('ERR_TOO_LARGE', `SDP of ${input.length} characters exceeds maxBytes ${limits.maxBytes}`);
    }
    return input;
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength > limits.maxBytes) {
      throw new SdpError('ERR_TOO_LARGE', `SDP of ${input.byteLength} bytes exceeds maxBytes ${limits.maxBytes}`);
    }
    // RFC 8866 §5: the text is UTF-8. Refuse invalid sequences instead of turning them into
    // U+FFFD, which would change the description when it is written again.
    if (!isUtf8(input)) throw new SdpError('ERR_ENCODING', 'SDP bytes are not valid UTF-8');
    const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return bytes.toString('utf8');
  }
  throw new SdpError(
    'ERR_INVALID_ARGUMENT',
    `SDP must be a string or a Uint8Array, got ${input === null ? 'null' : typeof input}`,
  );
}

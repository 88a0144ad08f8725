// The options of the stream transports, their defaults, and their validation: every option is
// checked once, in the constructor, and a bad one throws ERR_INVALID_OPTION.
import { invalidLimitOption, messageLimits, normalizeAddress } from '@sipts/message';
import type { MessageLimitOptions, MessageLimits, Remote, SipMessage } from '@sipts/message';
import { StreamTransportError } from './errors.js';

/** `sip`'s logger hook. Every method is optional; an exception thrown by one is swallowed. */
export interface TransportLogger {
  /** The serialised bytes handed to the transport, and their target. */
  send?(data: Uint8Array | string, target: Remote): void;
  /** Each valid message, before it is emitted. */
  recv?(message: SipMessage, remote: Remote): void;
  /** Every error with no caller to reject (the same as the `'error'` event). */
  error?(error: Error): void;
  /** Accepted for the shape the stack hands every transport; the stream transports have no notices. */
  warn?(message: string): void;
}

/**
 * Raw-bytes capture (HEP, pcap-like tools): every valid SIP message received (header section
 * and body) and every message sent, with the flow (`remote.local` is our end once connected).
 * Off (undefined) by default; then it costs one check per message. Exceptions are swallowed.
 */
export type StreamCaptureHook = (direction: 'in' | 'out', data: Uint8Array, remote: Remote) => void;

/** Options shared by the stream transports (names and defaults as in `sip` where it has them). */
export interface StreamTransportOptions extends MessageLimitOptions {
  /** Address to listen on and to send from. Default: every interface, dual stack (`::`) where the OS allows. */
  address?: string | undefined;
  /**
   * Milliseconds with no message sent or received (CRLFCRLF pings count; bytes of a message
   * still arriving do not) after which a connection that nobody holds (`ref()`) is closed.
   * Default 120000; 0 disables.
   */
  idleTimeout?: number | undefined;
  /** Milliseconds an outgoing connection (TLS: and its handshake) may take. Default 10000; 0: the OS's. */
  connectTimeout?: number | undefined;
  /** Milliseconds from the first byte of a message to the end of its header section. Default 20000; 0 disables. */
  headerTimeout?: number | undefined;
  /** Milliseconds from the end of a header section to the last byte of its body. Default 20000; 0 disables. */
  bodyTimeout?: number | undefined;
  /** Cap on open connections, inbound (TLS: handshakes included) and outbound together. Default 10000; 0: none. */
  maxConnections?: number | undefined;
  /** Cap on inbound connections from one source address (IPv6: one /64). Default 64; 0: none. */
  maxConnectionsPerSource?: number | undefined;
  /**
   * When `maxConnections` is reached, a new inbound connection evicts the connection whose
   * message (or TLS handshake) has been arriving for longer than this many milliseconds, or
   * else the one idle the longest if idle for longer than this. Default 5000.
   */
  evictAfter?: number | undefined;
  /** Bytes that may wait in one connection's write buffer before `send()` rejects. Default 4 MiB. */
  maxBufferedBytes?: number | undefined;
  /**
   * Bytes that incomplete messages may hold across all connections; over it, the connection
   * whose message started first is closed. Default 64 MiB; 0: no cap.
   */
  maxPendingBytes?: number | undefined;
  logger?: TransportLogger | undefined;
  /** Raw-bytes capture of every message in and out (see `setCapture`). Default none. */
  capture?: StreamCaptureHook | undefined;
}

export const DEFAULT_IDLE_TIMEOUT = 120_000;
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** A header section arrives in one or two round trips; 20 s covers the slowest real link many times over. */
export const DEFAULT_HEADER_TIMEOUT = 20_000;
/** A body is at most `maxContentLength` (604800) bytes: 20 s is ~30 KB/s, slower than any link SIP runs on. */
export const DEFAULT_BODY_TIMEOUT = 20_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/**
 * 64: an office NAT or a peer proxy needs a few connections, not dozens (RFC 5923 reuse); an
 * attacker needs 157 addresses (or /64s) to fill the default 10,000. Raise it behind a
 * carrier-grade NAT or an SBC that gives each client its own connection.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 64;
/** Well above a round trip on any real link, well below `headerTimeout`. */
export const DEFAULT_EVICT_AFTER = 5_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * 64 MiB: room for ~1,100 header sections of the maximum 60480 bytes, or ~110 maximum bodies,
 * arriving at once; ordinary traffic holds a few KiB per busy connection for a round trip.
 */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** setTimeout's ceiling: a larger delay fires at once. */
const MAX_DELAY = 2 ** 31 - 1;

/** The options with defaults filled in. */
export interface StreamSettings {
  readonly bindAddress: string | undefined;
  readonly limits: MessageLimits;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  readonly headerTimeout: number;
  readonly bodyTimeout: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly evictAfter: number;
  readonly maxBufferedBytes: number;
  readonly maxPendingBytes: number;
  readonly logger: TransportLogger | undefined;
  readonly capture: StreamCaptureHook | undefined;
}

const DURATIONS = ['idleTimeout', 'connectTimeout', 'headerTimeout', 'bodyTimeout', 'evictAfter'] as const;
const COUNTS = ['maxConnections', 'maxConnectionsPerSource', 'maxBufferedBytes', 'maxPendingBytes'] as const;

/** Checks every option (ERR_INVALID_OPTION) and fills in the defaults. */
export function streamSettings(options: StreamTransportOptions): StreamSettings {
  if (typeof options !== 'object' || options === null) throw invalidOption('options must be an object');
  const limit = invalidLimitOption(options);
  if (limit !== undefined) throw invalidOption(`options.${limit} must be a ${limit === 'maxContentLength' ? 'non-negative' : 'positive'} integer number of bytes`);
  for (const name of DURATIONS) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= MAX_DELAY)) {
      throw invalidOption(`options.${name} must be an integer number of milliseconds in 0..${MAX_DELAY}, got ${String(value)}`);
    }
  }
  for (const name of COUNTS) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw invalidOption(`options.${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  const address = options.address;
  if (address !== undefined && typeof address !== 'string') throw invalidOption('options.address must be a string');
  const logger = options.logger;
  if (logger !== undefined) {
    if (typeof logger !== 'object' || logger === null) throw invalidOption('options.logger must be an object');
    for (const name of ['send', 'recv', 'error', 'warn'] as const) {
      if (logger[name] !== undefined && typeof logger[name] !== 'function') throw invalidOption(`options.logger.${name} must be a function`);
    }
  }
  if (options.capture !== undefined && typeof options.capture !== 'function') throw invalidOption('options.capture must be a function');
  return {
    bindAddress: address === undefined || address === '' ? undefined : normalizeAddress(address),
    limits: messageLimits(options),
    idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    headerTimeout: options.headerTimeout ?? DEFAULT_HEADER_TIMEOUT,
    bodyTimeout: options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerSource: options.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
    evictAfter: options.evictAfter ?? DEFAULT_EVICT_AFTER,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    maxPendingBytes: options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
    logger,
    capture: options.capture,
  };
}

/** A listening port option (`port`, `tls_port`): an integer in 0..65535, 0 picking a free one. */
export function checkPortOption(value: unknown, name: string): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535)) {
    throw invalidOption(`options.${name} must be an integer in 0..65535, got ${String(value)}`);
  }
}

export function invalidOption(message: string): StreamTransportError {
  return new StreamTransportError('ERR_INVALID_OPTION', message);
}

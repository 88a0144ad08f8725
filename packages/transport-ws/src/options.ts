// The options of the WebSocket transport: their types, their defaults, and the one place
// that checks them (the constructor throws ERR_INVALID_OPTION before anything is opened).
import type { Server as HttpServer } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { invalidLimitOption, messageLimits, normalizeAddress } from '@sipts/message';
import type { MessageLimits } from '@sipts/message';
import { WsTransportError } from './errors.js';
import type { WsCaptureHook, WsTransportLogger } from './logger.js';

/** Server and client TLS options in one object, as `sip`'s `tls` option. */
export type WsTlsOptions = HttpsServerOptions & TlsConnectionOptions;

export interface WsTransportOptions {
  /**
   * Port of the WebSocket server (`sip`'s `ws_port`); 0 picks a free port. Default 80 for WS,
   * 443 for WSS (the ws:/wss: URI defaults of RFC 6455 §3).
   */
  ws_port?: number | undefined;
  /** Address to listen on (`sip`'s `address`). Default: all interfaces (dual-stack where the OS allows). */
  address?: string | undefined;
  /**
   * WSS when present: the server is `https.createServer(tls)` and outgoing `wss:` connections use
   * the same object as client options (`ca`, `rejectUnauthorized`, `servername`, client certificates).
   */
  tls?: WsTlsOptions | undefined;
  /**
   * Attach to an existing HTTP(S) server instead of creating one (share a port with a web app).
   * `listen()` then only installs the upgrade handler; `close()` leaves the server running.
   * WSS when it is an HTTPS server.
   */
  server?: HttpServer | undefined;
  /** Accept upgrades on this path only (`/ws`). Default: any path. */
  path?: string | undefined;
  /** Largest header section in bytes, handed to the parser. Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for `maxHeaderBytes`, read when that is not set. */
  maxBytesHeaders?: number | undefined;
  /** Body limit in bytes. Default 604800. A WebSocket message may be at most header + body limits. */
  maxContentLength?: number | undefined;
  /** Open connections (accepted and outgoing) before upgrades are refused with 503. Default 10000; 0: no cap (as TCP). */
  maxConnections?: number | undefined;
  /**
   * Bytes that may wait to be written on one connection (`ws`'s `bufferedAmount`: a peer that
   * does not read). Past it the connection is closed with 1008 and sends on it reject with
   * `ERR_BUFFER_FULL`; it also caps the bytes queued while a connection opens. Default 4 MiB,
   * as the TCP transport's option of the same name.
   */
  maxBufferedBytes?: number | undefined;
  /** Outgoing connection + handshake timeout in ms. Default 10000; 0: none (the OS's connect timeout). */
  connectTimeout?: number | undefined;
  /** Sends queued per connection while it opens. Default 256. */
  maxQueuedMessages?: number | undefined;
  /**
   * Every this many ms each open connection is pinged; one that has neither answered the
   * previous ping nor sent anything since is cut (a phone that left the network sends no FIN,
   * and a registrar wants its connectionClose). One shared timer. 0 disables. Default 30000.
   */
  pingInterval?: number | undefined;
  /**
   * How long a connection we close (on close(), or for `maxBufferedBytes`) may take to answer
   * the close frame before it is cut (ms). Default 2000.
   */
  closeTimeout?: number | undefined;
  logger?: WsTransportLogger | undefined;
  /** Raw-bytes capture of every message in and out (see `setCapture`). Default none. */
  capture?: WsCaptureHook | undefined;
}

export const DEFAULT_MAX_CONNECTIONS = 10000;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT = 10000;
export const DEFAULT_MAX_QUEUED = 256;
export const DEFAULT_PING_INTERVAL = 30000;
export const DEFAULT_CLOSE_TIMEOUT = 2000;

/** Node's timers hold at most 2^31 - 1 ms; a larger delay silently becomes 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const MAX_INT32 = 2 ** 31 - 1;

/** The options after checking, defaults filled in. */
export interface WsSettings {
  readonly limits: MessageLimits;
  /** Largest WebSocket message `ws` buffers: the header and body limits together. */
  readonly maxPayload: number;
  /** 0: no cap. */
  readonly maxConnections: number;
  readonly maxBufferedBytes: number;
  readonly maxQueued: number;
  readonly connectTimeout: number;
  readonly pingInterval: number;
  readonly closeTimeout: number;
  /** undefined: listen on all interfaces. */
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly path: string | undefined;
  readonly tls: WsTlsOptions | undefined;
  readonly server: HttpServer | undefined;
  readonly logger: WsTransportLogger | undefined;
}

function invalid(message: string): WsTransportError {
  return new WsTransportError('ERR_INVALID_OPTION', message);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** An integer in `min..max`, or undefined (then the default applies). */
function integerOption(options: WsTransportOptions, name: IntegerOption, min: number, max: number, fallback: number): number {
  const value: unknown = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`options.${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

type IntegerOption = 'ws_port' | 'maxConnections' | 'maxBufferedBytes' | 'maxQueuedMessages' | 'connectTimeout' | 'pingInterval' | 'closeTimeout';

/** Check every option; throws `ERR_INVALID_OPTION` naming the first bad one. */
export function resolveOptions(options: WsTransportOptions): WsSettings {
  if (!isObject(options)) throw invalid('options must be an object');
  const limit = invalidLimitOption(options);
  if (limit !== undefined) throw invalid(`options.${limit} must be a ${limit === 'maxContentLength' ? 'non-negative' : 'positive'} integer number of bytes`);
  const limits = messageLimits(options);
  const port = options.ws_port === undefined ? undefined : integerOption(options, 'ws_port', 0, 65535, 0);
  const { address, path, tls, server, logger } = options;
  if (address !== undefined && typeof address !== 'string') throw invalid('options.address must be a string');
  if (path !== undefined && (typeof path !== 'string' || path.charCodeAt(0) !== 0x2f)) {
    throw invalid('options.path must be a string starting with "/"');
  }
  if (tls !== undefined && !isObject(tls)) throw invalid('options.tls must be an object of TLS options');
  if (server !== undefined && !(isObject(server) && typeof server.on === 'function' && typeof server.address === 'function')) {
    throw invalid('options.server must be an http or https server');
  }
  if (logger !== undefined) {
    if (!isObject(logger)) throw invalid('options.logger must be an object');
    for (const name of ['send', 'recv', 'error'] as const) {
      if (logger[name] !== undefined && typeof logger[name] !== 'function') throw invalid(`options.logger.${name} must be a function`);
    }
  }
  return {
    limits,
    // `ws` reads maxPayload as a 32-bit integer (`| 0`): a larger sum would wrap and lift the limit.
    maxPayload: Math.min(limits.maxHeaderBytes + limits.maxContentLength, MAX_INT32),
    maxConnections: integerOption(options, 'maxConnections', 0, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_CONNECTIONS),
    maxBufferedBytes: integerOption(options, 'maxBufferedBytes', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_BUFFERED_BYTES),
    maxQueued: integerOption(options, 'maxQueuedMessages', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_QUEUED),
    connectTimeout: integerOption(options, 'connectTimeout', 0, MAX_TIMER_MS, DEFAULT_CONNECT_TIMEOUT),
    pingInterval: integerOption(options, 'pingInterval', 0, MAX_TIMER_MS, DEFAULT_PING_INTERVAL),
    closeTimeout: integerOption(options, 'closeTimeout', 0, MAX_TIMER_MS, DEFAULT_CLOSE_TIMEOUT),
    address: address === undefined || address === '' ? undefined : normalizeAddress(address),
    port,
    path,
    tls,
    server,
    logger,
  };
}

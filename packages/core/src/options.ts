// Stack options: every option of `sip@0.0.6` under its own name, plus typed extras, checked once
// and turned into one normalised object the rest of the stack reads.
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { DEFAULT_MESSAGE_LIMITS, bracketHost, unbracket } from '@sipts/message';
import type { Remote, SipMessage } from '@sipts/message';
import type { Clock } from '@sipts/transaction';
import { SipCoreError } from './errors.js';
import type { OverloadOptions } from './overload.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { Resolver, TargetProtocol } from './resolver.js';

/** The `sip` logger hook; every method optional. Exceptions thrown by it are swallowed. */
export interface StackLogger {
  send?(message: SipMessage, target: Remote): void;
  recv?(message: SipMessage, remote: Remote): void;
  error?(error: unknown): void;
  /** Non-fatal notices: overload state changes, a UDP receive buffer smaller than asked. */
  warn?(message: string): void;
}

/** The timer source of the transaction layer (see @sipts/transaction); tests inject fake time. */
export type StackClock = Clock;

/** `sip`'s `tls` option: server options and client (connect) options in one object. */
export type SipTlsOptions = TlsOptions & ConnectionOptions;

export interface StackOptions {
  // ---- the options of sip@0.0.6 ----
  /** UDP and TCP port. Default 5060; 0 picks a free port (UDP and TCP then share one if possible). */
  port?: number;
  /** Address to bind. Default: all interfaces. */
  address?: string;
  /** UDP transport. Default true. */
  udp?: boolean;
  /** TCP transport. Default true. */
  tcp?: boolean;
  /** TLS options (passed to `tls.createServer` / `tls.connect`); TLS is enabled when present. */
  tls?: SipTlsOptions;
  /** TLS port. Default 5061. */
  tls_port?: number;
  /** WebSocket port; WS (or WSS when `tls` is set) is enabled when present. */
  ws_port?: number;
  /** Address for Via sent-by, flow URIs and `hostname()`; use it behind NAT. */
  publicAddress?: string;
  /** Host name for flow URIs and `hostname()` when no `publicAddress` (never put in Via). */
  hostname?: string;
  /** RFC 3581: add `rport` to the Via of requests sent over UDP. Default true. */
  rport?: boolean;
  logger?: StackLogger;
  /** Header section limit on streams and datagrams. Default 60480. */
  maxBytesHeaders?: number;
  /** Body limit. Default 604800. */
  maxContentLength?: number;
  /** Longest time an INVITE client transaction waits in Proceeding, in ms (Timer C-like). Default 180000; 0 disables. */
  ringTimeLimit?: number;
  /** Max-Forwards of the ACKs and CANCELs the stack generates (sip reads options['max-forwards']). */
  'max-forwards'?: number;

  // ---- sipts extras ----
  /** Secret for flow tokens (share it across a cluster). Default: 32 random bytes per stack. */
  flowSecret?: string | Uint8Array;
  /** RFC 3263 resolver; default `createResolver()` (node:dns). */
  resolver?: Resolver;
  /** RFC 3261 timers in ms. Defaults 500 / 4000 / 5000. */
  t1?: number;
  t2?: number;
  t4?: number;
  /** Timer source for the transaction layer (fake time in tests). */
  clock?: StackClock;
  /**
   * Concurrent server transactions before new requests get 503 + Retry-After: a memory guard.
   * Default from the heap limit (a quarter of it at 2 KiB each; 524288 with a 4 GiB heap).
   */
  maxServerTransactions?: number;
  /** Load shedding past capacity (see README "Overload"); `false` turns it off. Default on. */
  overload?: OverloadOptions | false;
  /** Retry-After (seconds) of the 503s sent while shedding or at maxServerTransactions. Default 5. */
  retryAfter?: number;
  /**
   * RFC 3263 §4.3: how long (ms) a target that timed out or failed at the transport is tried
   * last by later requests. Default 30000; 0 turns the cache off.
   */
  deadTargetTtl?: number;
  /** Per-source rate limiting after Kamailio's pike (see README "Limits and defenses"); `false` turns it off. Default on, loopback trusted. */
  rateLimit?: RateLimitOptions | false;
  /** UDP SO_RCVBUF in bytes. Default 8 MiB (see @sipts/transport-udp). */
  recvBufferSize?: number;
  /** Idle stream connection timeout in ms. Default 120000. */
  idleTimeout?: number;
  /** Most concurrent stream connections per transport. */
  maxConnections?: number;
  /** RFC 3261 §18.1.1: requests over this many bytes go over TCP when TCP is enabled. Default 1300. */
  mtuAllowance?: number;
  /** WebSocket URL path for incoming connections. Default: any path. */
  ws_path?: string;
}

/** The options after checks and defaults; fields the user left out stay undefined where the
 * layer below has its own default. */
export interface NormalizedOptions {
  port: number;
  address: string | undefined;
  udp: boolean;
  tcp: boolean;
  tls: (SipTlsOptions) | undefined;
  tlsPort: number;
  wsPort: number | undefined;
  publicAddress: string | undefined;
  hostname: string | undefined;
  rport: boolean;
  logger: StackLogger;
  maxBytesHeaders: number;
  maxContentLength: number;
  ringTimeLimit: number | undefined;
  maxForwards: number;
  flowSecret: string | Uint8Array | undefined;
  resolver: Resolver | undefined;
  t1: number | undefined;
  t2: number | undefined;
  t4: number | undefined;
  clock: StackClock | undefined;
  maxServerTransactions: number | undefined;
  overload: OverloadOptions | false;
  rateLimit: RateLimitOptions | false;
  deadTargetTtl: number;
  retryAfter: number | undefined;
  recvBufferSize: number | undefined;
  idleTimeout: number | undefined;
  maxConnections: number | undefined;
  mtuAllowance: number;
  wsPath: string | undefined;
}

function check(condition: boolean, name: string, expected: string): void {
  if (!condition) throw new SipCoreError('ERR_INVALID_OPTION', `options.${name} must be ${expected}`);
}

const isPort = (v: unknown, allowZero: boolean): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= (allowZero ? 0 : 1) && v <= 65535;
const isPositive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

function optionalNumber(options: StackOptions, name: keyof StackOptions): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  check(isPositive(v), name, 'a positive number');
  return v as number;
}

/** Check `options` and apply defaults. Throws `SipCoreError` `ERR_INVALID_OPTION`. */
export function normalizeOptions(options: StackOptions = {}): NormalizedOptions {
  check(typeof options === 'object' && options !== null, '', 'an object');
  const port = options.port ?? 5060;
  check(isPort(port, true), 'port', 'an integer port in 0..65535');
  const tlsPort = options.tls_port ?? 5061;
  check(isPort(tlsPort, true), 'tls_port', 'an integer port in 0..65535');
  if (options.ws_port !== undefined) check(isPort(options.ws_port, true), 'ws_port', 'an integer port in 0..65535');
  if (options.address !== undefined) check(typeof options.address === 'string' && isIP(unbracket(options.address)) !== 0, 'address', 'an IP address');
  if (options.publicAddress !== undefined) check(typeof options.publicAddress === 'string' && options.publicAddress !== '', 'publicAddress', 'a non-empty string');
  if (options.hostname !== undefined) check(typeof options.hostname === 'string' && options.hostname !== '', 'hostname', 'a non-empty string');
  if (options.tls !== undefined) check(typeof options.tls === 'object' && options.tls !== null, 'tls', 'an object of TLS options');
  if (options.rateLimit !== undefined) check(options.rateLimit === false || (typeof options.rateLimit === 'object' && options.rateLimit !== null), 'rateLimit', 'false or an object');
  if (options.overload !== undefined) check(options.overload === false || (typeof options.overload === 'object' && options.overload !== null), 'overload', 'false or an object');
  if (options.logger !== undefined) check(typeof options.logger === 'object' && options.logger !== null, 'logger', 'an object');
  const maxForwards = options['max-forwards'] ?? 70;
  check(Number.isInteger(maxForwards) && maxForwards >= 0 && maxForwards <= 255, 'max-forwards', 'an integer in 0..255');
  const udp = options.udp ?? true;
  const tcp = options.tcp ?? true;
  return {
    port,
    address: options.address === undefined ? undefined : unbracket(options.address),
    udp: udp !== false,
    tcp: tcp !== false,
    tls: options.tls,
    tlsPort,
    wsPort: options.ws_port,
    publicAddress: options.publicAddress,
    hostname: options.hostname,
    // sip: rport unless the option is present and falsy.
    rport: options.rport === undefined ? true : Boolean(options.rport),
    logger: options.logger ?? {},
    maxBytesHeaders: optionalNumber(options, 'maxBytesHeaders') ?? DEFAULT_MESSAGE_LIMITS.maxHeaderBytes,
    maxContentLength: optionalNumber(options, 'maxContentLength') ?? DEFAULT_MESSAGE_LIMITS.maxContentLength,
    // 0 or Infinity: no limit (an INVITE may ring for ever), as in @sipts/transaction.
    ringTimeLimit: options.ringTimeLimit === 0 || options.ringTimeLimit === Infinity ? options.ringTimeLimit : optionalNumber(options, 'ringTimeLimit'),
    maxForwards,
    flowSecret: options.flowSecret,
    resolver: options.resolver,
    t1: optionalNumber(options, 't1'),
    t2: optionalNumber(options, 't2'),
    t4: optionalNumber(options, 't4'),
    clock: options.clock,
    maxServerTransactions: optionalNumber(options, 'maxServerTransactions'),
    overload: options.overload === false ? false : options.overload ?? {},
    rateLimit: options.rateLimit === false ? false : options.rateLimit ?? {},
    deadTargetTtl: options.deadTargetTtl === 0 ? 0 : optionalNumber(options, 'deadTargetTtl') ?? 30000,
    retryAfter: options.retryAfter === 0 ? 0 : optionalNumber(options, 'retryAfter'),
    recvBufferSize: options.recvBufferSize === 0 ? 0 : optionalNumber(options, 'recvBufferSize'),
    idleTimeout: optionalNumber(options, 'idleTimeout'),
    maxConnections: optionalNumber(options, 'maxConnections'),
    mtuAllowance: optionalNumber(options, 'mtuAllowance') ?? 1300,
    wsPath: options.ws_path,
  };
}

export function isWildcard(address: string | undefined): boolean {
  return address === undefined || address === '' || address === '0.0.0.0' || address === '::';
}

/**
 * The address this stack names itself by in Via sent-by: `publicAddress` when set, else the
 * bound address, else (bound to all interfaces) the first non-internal interface address of
 * the bound family, else loopback. Never `os.hostname()`, which often does not resolve.
 */
export function pickSentByAddress(publicAddress: string | undefined, bound: string | undefined): string {
  if (publicAddress !== undefined) return bracketHost(publicAddress);
  if (!isWildcard(bound)) return bracketHost(bound as string);
  // Bound to all interfaces: prefer an external IPv4 address, then an external IPv6 one.
  let v6: string | undefined;
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4') return info.address;
      if (v6 === undefined && !info.address.startsWith('fe80:')) v6 = info.address;
    }
  }
  return v6 !== undefined ? bracketHost(v6) : '127.0.0.1';
}

/** Transports the options enable, in the order the resolver should prefer them. */
export function enabledProtocols(o: NormalizedOptions): TargetProtocol[] {
  const list: TargetProtocol[] = [];
  if (o.udp) list.push('UDP');
  if (o.tcp) list.push('TCP');
  if (o.tls) list.push('TLS');
  if (o.wsPort !== undefined) list.push(o.tls ? 'WSS' : 'WS');
  return list;
}

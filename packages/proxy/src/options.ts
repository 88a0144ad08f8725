// The proxy's options: their types, their defaults, and the one place that checks them (the
// constructor throws ERR_INVALID_OPTION before a stack is built). Everything that is not the
// proxy's own goes to the stack factory unchanged.
import type { StackOptions } from '@sipts/core';
import type { RouteAddr, SipUri } from '@sipts/message';
import { SipProxyError } from './errors.js';
import type { StackFactory } from './stack.js';

/** How `fork` tries its targets. */
export type ForkMode = 'parallel' | 'sequential';

export interface ForkOptions {
  /** Default 'parallel'. */
  mode?: ForkMode | undefined;
  /**
   * Per-branch limit in ms (the role of Timer C, §16.8): a branch with no final response by then
   * is cancelled (if it rang) or counted as 408 (if it never answered). Default: none.
   */
  timeout?: number | undefined;
}

/**
 * A fork target: a URI, or a URI with Route entries to reach it (e.g. an outbound flow) and, for
 * an RFC 5626 client, the other flows of the same instance to try in turn when this one fails
 * (430 Flow Failed or a transport error, §5.3). @sipts/registrar's lookup targets are of this shape.
 */
export type ForkTarget =
  | string
  | SipUri
  | { uri: string | SipUri; route?: RouteAddr[] | undefined; alternates?: readonly ForkTarget[] | undefined };

/**
 * When the proxy puts two Record-Route entries (RFC 5658 double Record-Routing) instead of one:
 * - `auto`    when the entry facing the caller and the one facing the callee differ (transport,
 *             interface, or a flow token towards a WebSocket / outbound client);
 * - `always`  on every record-routed request, even when the two are the same;
 * - `never`   one entry, `sip:host:port;lr` on the first transport (the UDP one), no flow token.
 */
export type DoubleRecordRoute = 'auto' | 'always' | 'never';

/** The logger hooks the proxy calls (the same object also goes to the stack, as in `sip`). */
export interface ProxyLogger {
  error?: ((error: unknown) => void) | undefined;
  /** A limit was hit (once per context): e.g. a fork truncated to `maxBranches`. */
  warn?: ((message: string) => void) | undefined;
}

/** The proxy's own options; the rest of the object is passed to the stack factory unchanged. */
export interface ProxyOwnOptions<O = StackOptions> {
  /** Builds the stack to run on (tests inject a fake one). Default: `create` of @sipts/core. */
  stack?: StackFactory<O> | undefined;
  /** Insert Record-Route (with `lr`) into forwarded dialog-creating requests. Default false. */
  recordRoute?: boolean | undefined;
  /** RFC 5658: when Record-Route is two entries, one per side. Default 'auto'. */
  doubleRecordRoute?: DoubleRecordRoute | undefined;
  /** RFC 3327: insert Path into forwarded REGISTERs that say `Supported: path`. Default false. */
  path?: boolean | undefined;
  /** Host put into Record-Route and Path. Default publicAddress, address, then stack.hostname(). */
  recordRouteHost?: string | undefined;
  /** Other host names or addresses by which this proxy is addressed (Route, strict routing, loops). */
  aliases?: string[] | undefined;
  /** RFC 3261 §16.2: answer INVITE with 100 Trying at once. Default true. */
  trying?: boolean | undefined;
  /** Max-Forwards set on forwarded requests that carry none (§16.6 step 3). Default 70. */
  maxForwards?: number | undefined;
  /** RFC 3261 §16.3 step 4 / §16.6 step 8 loop detection (482). Default true. */
  loopDetection?: boolean | undefined;
  /** §9.1: ms to wait for a final response after cancelling a branch before giving it up. Default 32000 (64*T1). */
  cancelTimeout?: number | undefined;
  /** Longest life of a context with no final response sent (its pending branches get cancelled, the caller 408). Default 190000 (Timer C). */
  contextTimeout?: number | undefined;
  /**
   * Branches one context may forward in all (fork targets, sequential targets and `send` calls
   * together). A fork with more targets than are left goes to the first ones, in the order
   * given; a branch asked for past the cap ends at once with 500 Too Many Branches. Default 20.
   */
  maxBranches?: number | undefined;
  logger?: ProxyLogger | undefined;
  port?: number | undefined;
  tls_port?: number | undefined;
  address?: string | undefined;
  publicAddress?: string | undefined;
  hostname?: string | undefined;
}

export type ProxyOptions<O = StackOptions> = ProxyOwnOptions<O> & O;

export const DEFAULT_MAX_FORWARDS = 70;
export const DEFAULT_CANCEL_TIMEOUT = 32000;
export const DEFAULT_CONTEXT_TIMEOUT = 190000;
export const DEFAULT_MAX_BRANCHES = 20;

/** The proxy's own options, checked, with their defaults. */
export interface NormalizedProxyOptions {
  recordRoute: boolean;
  doubleRecordRoute: DoubleRecordRoute;
  path: boolean;
  trying: boolean;
  maxForwards: number;
  loopDetection: boolean;
  cancelTimeout: number;
  contextTimeout: number;
  maxBranches: number;
  logger: ProxyLogger | undefined;
  recordRouteHost: string | undefined;
  /** A configured public name (recordRouteHost, else publicAddress): every Record-Route entry carries it. */
  fixedRouteHost: string | undefined;
  /** Names of this proxy from the options (publicAddress, address, hostname, recordRouteHost, aliases). */
  hosts: (string | undefined)[];
  port: number | undefined;
  tlsPort: number | undefined;
}

const OWN_OPTIONS = [
  'stack',
  'recordRoute',
  'doubleRecordRoute',
  'path',
  'recordRouteHost',
  'aliases',
  'trying',
  'maxForwards',
  'loopDetection',
  'cancelTimeout',
  'contextTimeout',
  'maxBranches',
] as const;

function invalid(name: string, expected: string): never {
  throw new SipProxyError('ERR_INVALID_OPTION', `options.${name} must be ${expected}`);
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(name, 'a boolean');
  return value;
}

export function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) invalid(name, 'a positive integer');
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') invalid(name, 'a non-empty string');
  return value;
}

/** Checks the proxy's own options and applies their defaults. Throws `ERR_INVALID_OPTION`. */
export function normalizeProxyOptions(options: ProxyOptions<Record<string, unknown>>): NormalizedProxyOptions {
  if (typeof options !== 'object' || options === null) invalid('', 'an object');
  const aliases: unknown = options.aliases;
  if (aliases !== undefined && (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string'))) {
    invalid('aliases', 'an array of strings');
  }
  const logger: unknown = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) invalid('logger', 'an object');
  const recordRouteHost = optionalString(options.recordRouteHost, 'recordRouteHost');
  const double: unknown = options.doubleRecordRoute;
  if (double !== undefined && double !== 'auto' && double !== 'always' && double !== 'never') {
    invalid('doubleRecordRoute', "'auto', 'always' or 'never'");
  }
  return {
    recordRoute: flag(options.recordRoute, 'recordRoute', false),
    doubleRecordRoute: (double as DoubleRecordRoute | undefined) ?? 'auto',
    path: flag(options.path, 'path', false),
    trying: flag(options.trying, 'trying', true),
    maxForwards: positiveInteger(options.maxForwards, 'maxForwards', DEFAULT_MAX_FORWARDS),
    loopDetection: flag(options.loopDetection, 'loopDetection', true),
    cancelTimeout: positiveInteger(options.cancelTimeout, 'cancelTimeout', DEFAULT_CANCEL_TIMEOUT),
    contextTimeout: positiveInteger(options.contextTimeout, 'contextTimeout', DEFAULT_CONTEXT_TIMEOUT),
    maxBranches: positiveInteger(options.maxBranches, 'maxBranches', DEFAULT_MAX_BRANCHES),
    logger: options.logger,
    recordRouteHost,
    fixedRouteHost: recordRouteHost ?? (typeof options.publicAddress === 'string' && options.publicAddress !== '' ? options.publicAddress : undefined),
    hosts: [options.publicAddress, options.address, options.hostname, recordRouteHost, ...(options.aliases ?? [])],
    port: options.port,
    tlsPort: options.tls_port,
  };
}

/** The part of the options the stack factory sees. */
export function stackOptions(options: ProxyOptions<Record<string, unknown>>): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...options };
  for (const own of OWN_OPTIONS) delete rest[own];
  return rest;
}

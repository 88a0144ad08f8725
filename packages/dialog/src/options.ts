// Options of createUA(): checked once (ERR_INVALID_OPTION) and turned into one normalised object.
import { parseUri, stringifyUri } from '@sipts/message';
import type { SipUri } from '@sipts/message';
import { realClock, type Clock } from '@sipts/transaction';
import { DialogError } from './errors.js';
import type { SdpHooks } from './types.js';

/**
 * RFC 3262 reliable provisional responses:
 * - `disabled`  never: an INVITE with `Require: 100rel` is answered 420 (Unsupported: 100rel)
 * - `supported` (default) UAC: `Supported: 100rel`; UAS: reliable when the caller requires it
 * - `preferred` UAC: `Supported: 100rel`; UAS: reliable when the caller requires or supports it
 * - `required`  UAC: `Require: 100rel`; UAS: like `preferred`, and an INVITE that does not support
 *               100rel is answered 421 (Require: 100rel)
 */
export type Rel100Policy = 'disabled' | 'supported' | 'preferred' | 'required';

/** RFC 4028 session timers. */
export interface SessionTimerOptions {
  /** Session interval asked for (UAC) and the most accepted as-is (UAS), in seconds. Default 1800. */
  expires?: number | undefined;
  /** Our Min-SE in seconds, at least 90 (RFC 4028 §5). A request below it gets 422. Default 90. */
  minSE?: number | undefined;
  /**
   * Who refreshes when the choice is ours (UAS answering a request without `refresher`, RFC
   * 4028 §9): `uac` (default) or `uas`. A UAC never asks for a refresher and lets the UAS choose.
   */
  refresher?: 'uac' | 'uas' | undefined;
  /** Refresh with `UPDATE`, `INVITE` or `auto` (default: UPDATE when the peer allows it, else re-INVITE). */
  method?: 'UPDATE' | 'INVITE' | 'auto' | undefined;
}

export interface UaOptions<D> {
  /** User part of our Contact and default From. Default `sipts`. */
  user?: string | undefined;
  /** Our Contact URI. Default: `stack.localUri({ user, protocol })` for the transport in use. */
  contact?: string | SipUri | undefined;
  /** Default From URI of invite(). Default `sip:<user>@<stack.sentBy()>`. */
  from?: string | undefined;
  /** A User-Agent header on our requests and responses. Default none. */
  userAgent?: string | undefined;
  /** Reliable provisional responses (RFC 3262). Default `supported`. */
  rel100?: Rel100Policy | undefined;
  /** Session timers (RFC 4028); `false` turns them off. Default on: 1800 s asked, Min-SE 90 s. */
  sessionTimer?: SessionTimerOptions | false | undefined;
  /** Dialogs (early ones included) at once; beyond it INVITEs get 503 and invite() rejects. Default 100000. */
  maxDialogs?: number | undefined;
  /** Early dialogs one outgoing INVITE may create (forks); extra To tags are not tracked. Default 16. */
  maxEarlyDialogs?: number | undefined;
  /** RFC 3261 T1 / T2 in ms: set them to the stack's. Defaults 500 / 4000. */
  t1?: number | undefined;
  t2?: number | undefined;
  /** The stack's clock (pass the same one to `create()` and here; fake time in tests). Default `realClock`. */
  clock?: Clock | undefined;
  /**
   * UAS: how long an incoming INVITE may go without a final response before the UA answers it
   * 408 itself (ms; 0: never). Default 180000 (RFC 3261 §16.6's Timer C figure).
   */
  ringTimeout?: number | undefined;
  /** How many times a re-INVITE or UPDATE answered 491 is retried after the §14.1 delay. Default 3. */
  glareRetries?: number | undefined;
  /** SDP hooks for offers in re-INVITE/UPDATE/PRACK and offers in responses (a dialog's own win). */
  sdp?: SdpHooks<D> | undefined;
  /** Listen to the stack's `request` event. Default true; false: call `ua.handle()` from your own handler. */
  attach?: boolean | undefined;
}

export interface NormalizedSessionTimer {
  expires: number;
  minSE: number;
  refresher: 'uac' | 'uas';
  method: 'UPDATE' | 'INVITE' | 'auto';
}

export interface NormalizedUaOptions<D> {
  user: string;
  contact: string | undefined;
  from: string | undefined;
  userAgent: string | undefined;
  rel100: Rel100Policy;
  sessionTimer: NormalizedSessionTimer | undefined;
  maxDialogs: number;
  maxEarlyDialogs: number;
  t1: number;
  t2: number;
  clock: Clock;
  glareRetries: number;
  ringTimeout: number;
  sdp: SdpHooks<D>;
  attach: boolean;
}

function fail(name: string, expected: string): never {
  throw new DialogError('ERR_INVALID_OPTION', `options.${name} must be ${expected}`);
}

function positiveInt(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(name, `an integer >= ${min}`);
  return value;
}

function positiveMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(name, 'a positive number of milliseconds');
  return value;
}

const REL100: readonly Rel100Policy[] = ['disabled', 'supported', 'preferred', 'required'];

function sessionTimer(value: SessionTimerOptions | false | undefined): NormalizedSessionTimer | undefined {
  if (value === false) return undefined;
  if (value !== undefined && (typeof value !== 'object' || value === null)) fail('sessionTimer', 'an object or false');
  const v = value ?? {};
  // RFC 4028 §5: Min-SE is at least 90 seconds.
  const minSE = positiveInt(v.minSE, 'sessionTimer.minSE', 90, 90);
  const expires = positiveInt(v.expires, 'sessionTimer.expires', Math.max(1800, minSE), 90);
  if (expires < minSE) fail('sessionTimer.expires', 'at least sessionTimer.minSE');
  const refresher = v.refresher ?? 'uac';
  if (refresher !== 'uac' && refresher !== 'uas') fail('sessionTimer.refresher', "'uac' or 'uas'");
  const method = v.method ?? 'auto';
  if (method !== 'UPDATE' && method !== 'INVITE' && method !== 'auto') fail('sessionTimer.method', "'UPDATE', 'INVITE' or 'auto'");
  return { expires, minSE, refresher, method };
}

export function normalizeUaOptions<D>(options: UaOptions<D> = {}): NormalizedUaOptions<D> {
  if (typeof options !== 'object' || options === null) fail('', 'an object');
  const user = options.user ?? 'sipts';
  if (typeof user !== 'string' || user === '') fail('user', 'a non-empty string');
  let contact: string | undefined;
  if (options.contact !== undefined) {
    const parsed = parseUri(options.contact);
    if (parsed === undefined || parsed.host === '') fail('contact', 'a SIP URI');
    contact = typeof options.contact === 'string' ? options.contact : stringifyUri(options.contact);
  }
  if (options.from !== undefined && (typeof options.from !== 'string' || parseUri(options.from) === undefined)) fail('from', 'a SIP URI string');
  if (options.userAgent !== undefined && typeof options.userAgent !== 'string') fail('userAgent', 'a string');
  const rel100 = options.rel100 ?? 'supported';
  if (!REL100.includes(rel100)) fail('rel100', REL100.map((r) => `'${r}'`).join(', '));
  const t1 = positiveMs(options.t1, 't1', 500);
  const t2 = positiveMs(options.t2, 't2', 4000);
  const clock = options.clock ?? realClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.setTimeout !== 'function' || typeof clock.now !== 'function') {
    fail('clock', 'a Clock ({ now, setTimeout, clearTimeout })');
  }
  const sdp = options.sdp ?? {};
  if (typeof sdp !== 'object' || sdp === null) fail('sdp', 'an object of hooks');
  if (sdp.answer !== undefined && typeof sdp.answer !== 'function') fail('sdp.answer', 'a function');
  if (sdp.offer !== undefined && typeof sdp.offer !== 'function') fail('sdp.offer', 'a function');
  return {
    user,
    contact,
    from: options.from,
    userAgent: options.userAgent,
    rel100,
    sessionTimer: sessionTimer(options.sessionTimer),
    maxDialogs: positiveInt(options.maxDialogs, 'maxDialogs', 100_000),
    maxEarlyDialogs: positiveInt(options.maxEarlyDialogs, 'maxEarlyDialogs', 16),
    t1,
    t2,
    clock,
    glareRetries: positiveInt(options.glareRetries, 'glareRetries', 3, 0),
    ringTimeout: positiveInt(options.ringTimeout, 'ringTimeout', 180_000, 0),
    sdp,
    attach: options.attach ?? true,
  };
}

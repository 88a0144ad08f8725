// RFC 4028 session timers, the negotiation part: what a UAC puts in a session refresh request,
// what a UAS answers (422 with Min-SE, the interval, who refreshes), what a UAC makes of the
// response, and when the refresh or the BYE is due. The dialog runs the timer on its slot.
import type { SipHeaders, SipRequest, SipResponse } from '@sipts/message';
import { addToken, formatSessionExpires, hasToken, parseDeltaSeconds, parseSessionExpires } from './headers.js';
import type { NormalizedSessionTimer } from './options.js';
import type { SessionTimerState } from './types.js';

/** RFC 4028 §4: the smallest Session-Expires anyone may use. */
export const MIN_SESSION_EXPIRES = 90;

/** Does the message say its sender supports session timers (Supported or Require: timer)? */
export function supportsTimer(headers: SipHeaders): boolean {
  return hasToken(headers.supported, 'timer') || hasToken(headers.require, 'timer');
}

/**
 * RFC 4028 §7.1 / §7.4: the headers of a request that asks for a session timer: `Supported:
 * timer`, `Session-Expires` (with `refresher=uac` when we want to refresh) and our Min-SE.
 */
export function addRequestTimerHeaders(headers: SipHeaders, interval: number, minSE: number, refresher: 'uac' | 'uas' | undefined): void {
  headers.supported = addToken(headers.supported, 'timer');
  headers['session-expires'] = formatSessionExpires(interval, refresher);
  headers['min-se'] = String(minSE);
}

/** What a UAS does with the session timer of a request (INVITE, re-INVITE, UPDATE). */
export type UasTimerDecision =
  | { kind: 'none' }
  /** RFC 4028 §9: 422 Session Interval Too Small with this Min-SE. */
  | { kind: 'reject'; minSE: number }
  /** Answer with `Session-Expires: interval;refresher=...` (and `Require: timer` when `require`). */
  | { kind: 'accept'; interval: number; refresher: 'uac' | 'uas'; require: boolean };

const NONE: UasTimerDecision = { kind: 'none' };

/** RFC 4028 §9: the UAS side of a session timer negotiation. */
export function decideAsUas(request: SipRequest, config: NormalizedSessionTimer | undefined): UasTimerDecision {
  if (config === undefined) return NONE;
  const h = request.headers;
  const se = parseSessionExpires(h['session-expires']);
  const peerSupports = supportsTimer(h);
  const requestMinSE = Math.max(MIN_SESSION_EXPIRES, parseDeltaSeconds(h['min-se']) ?? MIN_SESSION_EXPIRES);
  const floor = Math.max(config.minSE, requestMinSE);
  if (se !== undefined) {
    if (se.interval < config.minSE || se.interval < MIN_SESSION_EXPIRES) {
      // Only a UAC that supports the extension understands 422 (§9); below 90 s is invalid anyway.
      if (peerSupports || se.interval < MIN_SESSION_EXPIRES) return { kind: 'reject', minSE: floor };
    }
    // The UAS may lower the interval, never below the request's Min-SE, and never raise it.
    const interval = Math.min(se.interval, Math.max(config.expires, requestMinSE));
    const refresher = !peerSupports ? 'uas' : se.refresher ?? config.refresher;
    return { kind: 'accept', interval, refresher, require: peerSupports };
  }
  // No Session-Expires: the UAS may ask for a session timer itself (RFC 4028 §9); when the UAC
  // does not support the extension, only the UAS can refresh.
  const interval = Math.max(config.expires, requestMinSE);
  return { kind: 'accept', interval, refresher: peerSupports ? config.refresher : 'uas', require: peerSupports };
}

/** Writes a UAS decision into the 2xx. */
export function addResponseTimerHeaders(headers: SipHeaders, decision: UasTimerDecision): void {
  if (decision.kind !== 'accept') return;
  headers['session-expires'] = formatSessionExpires(decision.interval, decision.refresher);
  if (decision.require) headers.require = addToken(headers.require, 'timer');
}

/** The timer a UAS decision gives this side (the UAS) once its 2xx is sent. */
export function uasState(decision: UasTimerDecision): SessionTimerState | undefined {
  if (decision.kind !== 'accept') return undefined;
  return { interval: decision.interval, refresher: decision.refresher === 'uas' ? 'local' : 'remote' };
}

/**
 * RFC 4028 §7.2: the session timer after a 2xx to our request. A `Session-Expires` in the 2xx
 * rules (refresher=uac means us); without one, the UAS does not do session timers and, if we
 * asked for `requested` seconds, we refresh alone at that interval.
 */
export function uacState(response: SipResponse, requested: number | undefined): SessionTimerState | undefined {
  const se = parseSessionExpires(response.headers['session-expires']);
  if (se !== undefined) return { interval: se.interval, refresher: se.refresher === 'uas' ? 'remote' : 'local' };
  return requested === undefined ? undefined : { interval: requested, refresher: 'local' };
}

/** RFC 4028 §7.4 / §10: the interval to retry with after a 422 (its Min-SE), or undefined. */
export function retryIntervalAfter422(response: SipResponse, requested: number): number | undefined {
  const minSE = parseDeltaSeconds(response.headers['min-se']);
  if (minSE === undefined || minSE <= requested) return undefined;
  return minSE;
}

/**
 * RFC 4028 §10: when the next session-timer event is due, in ms from the (re)start. The
 * refresher refreshes at half the interval; the other side sends BYE slightly before expiry,
 * min(32 s, interval/3) early.
 */
export function sessionTimerDelay(state: SessionTimerState): number {
  const ms = state.interval * 1000;
  if (state.refresher === 'local') return ms / 2;
  return ms - Math.min(32_000, ms / 3);
}

/** After we sent a refresh: how long until we give up and BYE (the rest of the interval, with the same margin). */
export function refreshGraceDelay(state: SessionTimerState): number {
  const ms = state.interval * 1000;
  return ms / 2 - Math.min(32_000, ms / 3) / 2;
}

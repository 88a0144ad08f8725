// Whole-session helpers: copying, the origin version (RFC 3264 §8), the direction a session
// asks for, and hold / resume offers (RFC 3264 §8.4).
import {
  directionReceives,
  directionSends,
  getConnection,
  getDirection,
  getOrigin,
  isDirection,
  makeDirection,
  removeAttributes,
  setDirection,
} from './attributes.js';
import { SdpError } from './errors.js';
import type { SdpDirection, SdpLine, SdpMedia, SdpSession } from './types.js';

/** A deep copy (lines are flat objects; `raw` is kept, so the copy writes the same text). */
export function cloneSdp(session: SdpSession): SdpSession {
  return {
    ...session,
    lines: session.lines.map((l) => ({ ...l })),
    media: session.media.map((m) => ({ ...m, formats: [...m.formats], lines: m.lines.map((l): SdpLine => ({ ...l })) })),
  };
}

/** "123" -> "124", "999" -> "1000": session versions are digit strings of any length. */
function incrementDecimal(digits: string): string {
  const chars = digits.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    if (chars[i] !== '9') {
      chars[i] = String.fromCharCode((chars[i] as string).charCodeAt(0) + 1);
      return chars.join('');
    }
    chars[i] = '0';
  }
  return '1' + chars.join('');
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Increments the o= session version (RFC 3264 §8: every changed offer or answer in a session
 * carries the previous version plus one) and returns the new version. Throws `ERR_INVALID_VALUE`
 * when there is no o= line or its version is not decimal digits.
 */
export function bumpOriginVersion(session: SdpSession): string {
  const origin = getOrigin(session);
  if (origin === undefined) throw new SdpError('ERR_INVALID_VALUE', 'no o= line to bump');
  if (!isDigits(origin.sessionVersion)) {
    throw new SdpError('ERR_INVALID_VALUE', `o= session version '${origin.sessionVersion}' is not a decimal number`);
  }
  origin.sessionVersion = incrementDecimal(origin.sessionVersion);
  delete origin.raw;
  return origin.sessionVersion;
}

/** `0.0.0.0` (or `::`): the RFC 2543 way to put a stream on hold (RFC 3264 §8.4). */
function isUnspecifiedAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** A stream is active unless rejected (port 0, RFC 3264 §6). */
export function isActiveMedia(media: SdpMedia): boolean {
  return media.port !== 0;
}

/**
 * The direction a media stream asks for: its direction attribute (getDirection), and not
 * receiving when its connection address is 0.0.0.0 (RFC 2543 hold, RFC 3264 §8.4).
 */
export function getEffectiveDirection(session: SdpSession, media: SdpMedia): SdpDirection {
  const direction = getDirection(session, media);
  const connection = getConnection(session, media);
  if (connection !== undefined && isUnspecifiedAddress(connection.address)) return makeDirection(directionSends(direction), false);
  return direction;
}

/**
 * The direction of the whole session, as its sender asks: sends if any active stream sends,
 * receives if any active stream receives; `inactive` when no stream is active.
 */
export function getSessionDirection(session: SdpSession): SdpDirection {
  let sends = false;
  let receives = false;
  for (const m of session.media) {
    if (!isActiveMedia(m)) continue;
    const d = getEffectiveDirection(session, m);
    sends ||= directionSends(d);
    receives ||= directionReceives(d);
  }
  return makeDirection(sends, receives);
}

/**
 * True when this description puts the call on hold: it has active streams and none of them
 * receives (each is sendonly or inactive, by attribute or by a 0.0.0.0 connection).
 */
export function isHold(session: SdpSession): boolean {
  return session.media.some(isActiveMedia) && !directionReceives(getSessionDirection(session));
}

export interface HoldOfferOptions {
  /** `inactive` puts every stream on hold without sending (music on hold off). Default: RFC 3264 §8.4. */
  direction?: 'sendonly' | 'inactive' | undefined;
}

export interface ResumeOfferOptions {
  /** The direction to offer on every active stream instead of the default rule. */
  direction?: SdpDirection | undefined;
}

/** Gives every active stream the direction `next(current)` and bumps the origin version. */
function redirect(previous: SdpSession, next: (current: SdpDirection) => SdpDirection): SdpSession {
  const session = cloneSdp(previous);
  const current = session.media.map((m) => getDirection(session, m));
  // Media-level attributes say it all from now on; a session-level one would only confuse.
  removeAttributes(session, (a) => a.value === undefined && isDirection(a.name));
  session.media.forEach((m, i) => {
    if (isActiveMedia(m)) setDirection(m, next(current[i] as SdpDirection));
  });
  bumpOriginVersion(session);
  return session;
}

/**
 * A re-offer putting the call on hold, from the last description we sent (RFC 3264 §8.4): a
 * sendrecv stream becomes sendonly, a recvonly one inactive; sendonly and inactive stay.
 * Rejected streams stay as they are; the origin version is bumped. `previous` is not changed.
 */
export function createHoldOffer(previous: SdpSession, options: HoldOfferOptions = {}): SdpSession {
  const forced = options.direction;
  if (forced !== undefined && forced !== 'sendonly' && forced !== 'inactive') {
    throw new SdpError('ERR_INVALID_OPTION', `a hold direction is sendonly or inactive, not ${String(forced)}`);
  }
  return redirect(previous, (d) => (forced === 'inactive' ? 'inactive' : makeDirection(directionSends(d), false)));
}

/**
 * A re-offer taking the call off hold, from the last description we sent: sendonly becomes
 * sendrecv, inactive recvonly (or `options.direction` on every active stream); origin version
 * bumped. `previous` is not changed.
 */
export function createResumeOffer(previous: SdpSession, options: ResumeOfferOptions = {}): SdpSession {
  const forced = options.direction;
  if (forced !== undefined && !isDirection(forced)) throw new SdpError('ERR_INVALID_OPTION', `not a direction: ${String(forced)}`);
  return redirect(previous, (d) => forced ?? makeDirection(directionSends(d), true));
}

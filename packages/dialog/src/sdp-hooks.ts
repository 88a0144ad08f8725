// Resolving an SDP hook: the dialog's own hooks win over the UA's; without an answer hook an
// offer that only repeats the session (same o= line: a session refresh, RFC 3264 §8, RFC 4028
// §7.4) is answered with our current description, and anything else is refused (488). Hooks may
// throw or reject: that is a refusal (500) reported to the UA's error path, never a crash.
import type { SdpContext, SdpHooks, SdpRefusal } from './types.js';

/** The o= line of a session description, or '' (a scan for "o=" at a line start). */
export function originLine(sdp: string | undefined): string {
  if (sdp === undefined) return '';
  let start = sdp.startsWith('o=') ? 0 : sdp.indexOf('\no=');
  if (start < 0) return '';
  if (start > 0) start += 1;
  let end = sdp.indexOf('\n', start);
  if (end < 0) end = sdp.length;
  if (end > start && sdp.charCodeAt(end - 1) === 0x0d) end--;
  return sdp.slice(start, end);
}

export type AnswerOutcome = string | SdpRefusal;

const NOT_ACCEPTABLE: SdpRefusal = { status: 488 };
const SERVER_ERROR: SdpRefusal = { status: 500 };

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toOutcome(result: string | SdpRefusal | undefined): AnswerOutcome {
  if (typeof result === 'string') return result;
  if (typeof result === 'object' && result !== null && Number.isInteger(result.status) && result.status >= 300 && result.status <= 699) return result;
  return NOT_ACCEPTABLE;
}

/** What the dialog passes to the hooks. */
export interface SdpSession {
  localSdp: string | undefined;
  remoteSdp: string | undefined;
}

/**
 * The answer to `offer`: from `own` hooks, else `fallback` (the UA's), else the default above.
 * Settles with a string (the answer) or a refusal; never rejects (`report` gets the error).
 */
export function resolveAnswer<D>(
  dialog: D,
  session: SdpSession,
  own: SdpHooks<D> | undefined,
  fallback: SdpHooks<D>,
  offer: string,
  context: SdpContext,
  report: (error: unknown) => void,
): AnswerOutcome | Promise<AnswerOutcome> {
  const hook = own?.answer ?? fallback.answer;
  if (hook === undefined) {
    const previous = originLine(session.remoteSdp);
    return previous !== '' && previous === originLine(offer) && session.localSdp !== undefined ? session.localSdp : NOT_ACCEPTABLE;
  }
  let result: ReturnType<typeof hook>;
  try {
    result = hook(dialog, offer, context);
  } catch (e) {
    report(e);
    return SERVER_ERROR;
  }
  if (!isThenable<string | SdpRefusal | undefined>(result)) return toOutcome(result);
  return Promise.resolve(result).then(toOutcome, (e: unknown) => {
    report(e);
    return SERVER_ERROR;
  });
}

/** An offer: from `own`, else `fallback`, else the current local description. undefined: none. */
export function resolveOffer<D>(
  dialog: D,
  session: SdpSession,
  own: SdpHooks<D> | undefined,
  fallback: SdpHooks<D>,
  context: SdpContext,
  report: (error: unknown) => void,
): string | undefined | Promise<string | undefined> {
  const hook = own?.offer ?? fallback.offer;
  if (hook === undefined) return session.localSdp;
  let result: ReturnType<typeof hook>;
  try {
    result = hook(dialog, context);
  } catch (e) {
    report(e);
    return undefined;
  }
  if (!isThenable<string | undefined>(result)) return typeof result === 'string' ? result : undefined;
  return Promise.resolve(result).then(
    (r) => (typeof r === 'string' ? r : undefined),
    (e: unknown) => {
      report(e);
      return undefined;
    },
  );
}

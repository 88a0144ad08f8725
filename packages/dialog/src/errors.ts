// One error family for the dialog layer: a literal `code` per failure so `switch (err.code)`
// narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
import type { SipResponse } from '@sipts/message';

/**
 * Every code a `DialogError` carries:
 * - `ERR_INVALID_OPTION`     createUA() or a method got an unusable option (wrong type or range)
 * - `ERR_INVALID_TARGET`     invite(): the target is not a sip:/sips: URI
 * - `ERR_REJECTED`           invite(): the INVITE got a final response other than 2xx (`response`)
 * - `ERR_ABORTED`            invite(): the AbortSignal fired; the INVITE was CANCELled (`response`: its 487, if any)
 * - `ERR_CANCELLED`          accept() / progress(): the caller CANCELled (the INVITE was answered 487)
 * - `ERR_TERMINATED`         a method of a dialog or incoming call that has ended
 * - `ERR_INVALID_STATE`      a method not allowed in the current state (accept after reject, BYE from
 *                            the callee on an early dialog, a second accept, ...)
 * - `ERR_REQUEST_PENDING`    reinvite()/update() while an INVITE transaction or an offer is in progress
 *                            on the dialog (RFC 3261 §14.1, RFC 3311 §5.1)
 * - `ERR_TOO_MANY_DIALOGS`   invite()/accept() past `maxDialogs`
 * - `ERR_NO_ACK`             accept(): no ACK came for the 2xx within 64*T1; the dialog was ended with BYE
 *                            (RFC 3261 §13.3.1.4)
 * - `ERR_PRACK_TIMEOUT`      progress()/accept(): a reliable provisional response got no PRACK within
 *                            64*T1; the INVITE was answered 504 (RFC 3262 §3)
 * - `ERR_INVALID_SNAPSHOT`   restore(): the snapshot is not one toJSON() wrote, or its dialog is not confirmed
 * - `ERR_STOPPED`            the UA was closed
 */
export type DialogErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_TARGET'
  | 'ERR_REJECTED'
  | 'ERR_ABORTED'
  | 'ERR_CANCELLED'
  | 'ERR_TERMINATED'
  | 'ERR_INVALID_STATE'
  | 'ERR_REQUEST_PENDING'
  | 'ERR_TOO_MANY_DIALOGS'
  | 'ERR_NO_ACK'
  | 'ERR_PRACK_TIMEOUT'
  | 'ERR_INVALID_SNAPSHOT'
  | 'ERR_STOPPED';

const kDialogError: unique symbol = Symbol.for('@sipts/dialog.DialogError');

export interface DialogErrorOptions {
  cause?: unknown;
  /** The final response that ended the attempt (ERR_REJECTED, ERR_ABORTED). */
  response?: SipResponse | undefined;
}

export class DialogError extends Error {
  readonly code: DialogErrorCode;
  /** The final response behind the error, when there is one. */
  readonly response: SipResponse | undefined;
  readonly [kDialogError] = true;

  constructor(code: DialogErrorCode, message: string, options: DialogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DialogError';
    this.code = code;
    this.response = options.response;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isDialogError(value);
  }
}

/** True for a `DialogError` from any copy of this package. */
export function isDialogError(value: unknown): value is DialogError {
  return typeof value === 'object' && value !== null && (value as { [kDialogError]?: unknown })[kDialogError] === true;
}

// @sipts/dialog: the UA layer on @sipts/core: dialogs (RFC 3261 §12), 2xx reliability (§13.3.1.4),
// re-INVITE and glare (§14), PRACK (RFC 3262), UPDATE (RFC 3311), INFO (RFC 6086), session timers
// (RFC 4028), offer/answer state (RFC 3264, RFC 6337), behind a typed promise API.
export { createUA, DialogUA } from './ua.js';
export type { UaEvents, UaStats } from './ua.js';
export { Dialog } from './dialog.js';
export type { DialogHost, DialogStateName } from './dialog.js';
export type { DialogEvents } from './dialog-state.js';
export { IncomingCall } from './uas.js';
export type { AcceptOptions, IncomingCallEvents, IncomingCallState, ProgressOptions, RejectOptions } from './uas.js';
export type { InviteOptions } from './uac.js';
export type { Rel100Policy, SessionTimerOptions, UaOptions } from './options.js';
export type { OfferAnswerState } from './offer-answer.js';
export { DialogError, isDialogError } from './errors.js';
export type { DialogErrorCode, DialogErrorOptions } from './errors.js';
export type {
  AnswerHook,
  DialogSnapshot,
  InDialogRequestOptions,
  ModifyOptions,
  OfferHook,
  SdpContext,
  SdpHooks,
  SdpRefusal,
  SessionTimerState,
  TerminationCause,
  TerminationReason,
} from './types.js';
export {
  hasToken,
  parseRAck,
  parseRSeq,
  parseSessionExpires,
} from './headers.js';
export type { RAck, SessionExpires } from './headers.js';
export { originLine } from './sdp-hooks.js';

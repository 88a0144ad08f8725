// @sipts/b2bua: a back-to-back user agent on @sipts/dialog: every call is two dialogs with their
// own Call-IDs, tags and branches (topology hiding), responses and in-dialog requests relayed
// across with SDP through hooks, serial targets, CANCEL, REFER, limits, leg events and counters.
export { B2bua, createB2bua } from './b2bua.js';
export { B2buaCall } from './call.js';
export { digestAuthenticator } from './auth.js';
export type { DigestAuthenticatorOptions } from './auth.js';
export { DEFAULT_MAX_CALL_DURATION, DEFAULT_RELAY_HEADERS, NEVER_RELAYED } from './options.js';
export type { B2buaOptions, B2buaUaOptions, BridgeOptions, Rel100Mode } from './options.js';
export { CALL_OUTCOMES } from './types.js';
export type {
  AuthenticateHook,
  B2buaEvents,
  B2buaStats,
  CallEndEvent,
  CallOutcome,
  CallStateName,
  CallView,
  HeaderHook,
  LegEndEvent,
  LegEndReason,
  LegInfo,
  LegSide,
  LegStartEvent,
  LegStateEvent,
  LegStateName,
  ReferDecision,
  ReferHook,
  ReferRequest,
  RelayContext,
  RouteHook,
  SdpHook,
  SdpRefusal,
  TargetList,
} from './types.js';
export { B2buaError, isB2buaError } from './errors.js';
export type { B2buaErrorCode, B2buaErrorOptions } from './errors.js';

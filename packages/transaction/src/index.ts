// @sipts/transaction: RFC 3261 §17 and RFC 6026 transactions, and the Transport interface.
export type { BoundAddress, SendOptions, Transport, TransportEvents, TransportProtocol } from './transport.js';
export { realClock, ManualClock } from './clock.js';
export type { Clock, ClockHandle } from './clock.js';
export { TransactionError, isTransactionError, TRANSACTION_ERROR_CODES } from './errors.js';
export type { TransactionErrorCode } from './errors.js';
export { BRANCH_COOKIE, generateBranch, hasBranchCookie } from './keys.js';
export { Transaction } from './transaction.js';
export type { TransactionKind, TransactionState } from './transaction.js';
export { ClientTransaction, InviteClientTransaction, NonInviteClientTransaction } from './client.js';
export { ServerTransaction, InviteServerTransaction, NonInviteServerTransaction } from './server.js';
export type { ResponseHandler, RetransmitReason } from './transaction.js';
export type { TimerName } from './timers.js';
export { TransactionLayer } from './layer.js';
export type {
  AdmissionDecision,
  DropReason,
  TransactionCounts,
  TransactionLayerEvents,
  TransactionLayerOptions,
  TransactionStats,
} from './layer.js';

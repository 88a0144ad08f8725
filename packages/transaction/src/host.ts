// What a transaction needs from the layer that owns it. The layer implements this; the
// transaction classes see only this interface (no run-time import of the layer).
import type { Remote, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { TimerName, TimerQueue } from './timers.js';
import type { SendOptions, Transport } from './transport.js';
import type { Transaction, TransactionState } from './transaction.js';
import type { ClientTransaction } from './client.js';

/** Why a message was sent again. */
export type RetransmitReason =
  /** Timer A (INVITE client), E (non-INVITE client), G (INVITE server) fired. */
  | 'A'
  | 'E'
  | 'G'
  /** A server transaction resent its last response because the request came again. */
  | 'request'
  /** An INVITE client transaction resent its ACK because the non-2xx final came again. */
  | 'response';

/** Resolved timer values in milliseconds. */
export interface TimerValues {
  t1: number;
  t2: number;
  t4: number;
  ringTimeLimit: number;
  answerTimeLimit: number;
  tryingDelay: number;
}

export type ResponseHandler = (response: SipResponse, remote: Remote | undefined) => void;

export interface TransactionHost {
  readonly timers: TimerQueue;
  readonly values: TimerValues;
  serialize(message: SipMessage): Uint8Array;
  stateChanged(tx: Transaction, from: TransactionState, to: TransactionState): void;
  retransmitted(tx: Transaction, reason: RetransmitReason): void;
  timedOut(tx: Transaction, timer: TimerName): void;
  transportFailed(tx: Transaction, error: Error): void;
  tuFailed(error: unknown, message: SipMessage): void;
  internalError(error: unknown): void;
  startClient(
    request: SipRequest,
    transport: Transport,
    target: Remote,
    onResponse: ResponseHandler,
    sendOptions: SendOptions | undefined,
  ): ClientTransaction;
}

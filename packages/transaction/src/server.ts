// Server transactions: RFC 3261 §17.2.1 (INVITE, with RFC 6026's Accepted state) and §17.2.2
// (non-INVITE). A server transaction keeps ids, state, timers and the serialised text of the
// last response it must be able to resend; retransmissions resend that text as it is.
import { detachString, makeResponse } from '@sipts/message';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import { TransactionError } from './errors.js';
import type { TimerName } from './timers.js';
import { Transaction, type TransactionHost, type TransactionKind, type TransactionState } from './transaction.js';
import type { Transport } from './transport.js';

function checkStatus(response: SipResponse): number {
  const status = response.status;
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new TransactionError('ERR_INVALID_RESPONSE', `response status ${String(status)} is not in 100..699`);
  }
  return status;
}

/** Responses go back with `allowOversize`: RFC 3261 §18.2.2 sends them where the request came from. */
const responseSendOptions = { allowOversize: true } as const;

export abstract class ServerTransaction extends Transaction {
  /**
   * The serialised last response a request retransmission (or Timer G) resends: its text, one
   * flat string, encoded again on each resend (rare) rather than kept as bytes (see host.text).
   */
  protected lastResponse: string | undefined;
  private cancelTarget: InviteServerTransaction | undefined;

  protected constructor(
    host: TransactionHost,
    method: string,
    branch: string,
    transport: Transport,
    remote: Remote,
    initial: TransactionState,
  ) {
    super(host, method, branch, transport, remote, initial, responseSendOptions);
  }

  /**
   * For a CANCEL: the INVITE server transaction it matched (RFC 3261 §9.2), so the TU can
   * answer that INVITE with 487. Undefined for other methods, or when nothing matched (the TU
   * answers such a CANCEL 481).
   */
  get invite(): InviteServerTransaction | undefined {
    return this.cancelTarget;
  }

  /** @internal the layer links a CANCEL's transaction to the INVITE it matched. */
  linkInvite(invite: InviteServerTransaction): void {
    this.cancelTarget = invite;
  }

  /**
   * Sends a response from the TU through this transaction. Returns false when the state
   * machine discards it (a response after the final one; a non-2xx after a 2xx).
   * Throws TransactionError `ERR_INVALID_RESPONSE` for a status outside 100..699.
   */
  abstract send(response: SipResponse): boolean;

  /** True once the TU (or the layer on its behalf) sent a final response. */
  abstract get finalSent(): boolean;

  /** @internal the same request arrived again (RFC 3261 §17.2.3 matched it). */
  abstract receiveRetransmission(): void;

  protected resend(): void {
    if (this.lastResponse === undefined) return;
    this.sendBytes(this.host.encode(this.lastResponse));
    this.host.retransmitted(this, 'request');
  }

  protected release(): void {
    this.lastResponse = undefined;
    this.cancelTarget = undefined;
  }
}

/** RFC 3261 §17.2.1 with RFC 6026 §7.1 (Accepted state, Timer L). */
export class InviteServerTransaction extends ServerTransaction {
  readonly kind: TransactionKind = 'invite-server';
  /** Kept until a final response is sent: the 100 Trying, 408, 487 and 500 are built from it. */
  private pending: SipRequest | undefined;
  private interval = 0;
  private anyResponseSent = false;
  private cancelMatched = false;
  /** @internal the To tag of the final response sent (RFC 2543 ACK matching compares it). */
  responseToTag = '';
  /** @internal the Request-URI, for RFC 2543 ACK matching only. */
  requestUri = '';

  /** @internal created by the layer. */
  constructor(host: TransactionHost, request: SipRequest, branch: string, transport: Transport, remote: Remote) {
    super(host, 'INVITE', branch, transport, remote, 'proceeding');
    this.pending = request;
    const { tryingDelay, answerTimeLimit } = host.values;
    // RFC 3261 §17.2.1: 100 Trying unless the TU answers within 200 ms.
    this.startPrimary('trying', tryingDelay);
    if (answerTimeLimit > 0 && Number.isFinite(answerTimeLimit)) this.startSecondary('answerTimeLimit', answerTimeLimit);
  }

  /**
   * The INVITE, until a final response is sent (then undefined): e.g. to build the 487 after a
   * CANCEL with `makeResponse(tx.invite.request, 487)`.
   */
  get request(): SipRequest | undefined {
    return this.pending;
  }

  /** True once a CANCEL matched this transaction (RFC 3261 §9.2). */
  get cancelled(): boolean {
    return this.cancelMatched;
  }

  get finalSent(): boolean {
    const s = this.currentState;
    return s !== 'proceeding';
  }

  send(response: SipResponse): boolean {
    const status = checkStatus(response);
    const state = this.currentState;
    if (state === 'accepted') {
      // RFC 6026 §7.1: 2xx retransmissions from the TU pass through; anything else is dropped.
      if (status < 200 || status >= 300) return false;
      this.sendBytes(this.host.serialize(response));
      return true;
    }
    if (state !== 'proceeding') return false;
    const text = this.host.text(response);
    const bytes = this.host.encode(text);
    if (!this.anyResponseSent) {
      this.anyResponseSent = true;
      if (this.primaryTimer() === 'trying') this.stopPrimary();
    }
    if (status < 200) {
      this.lastResponse = text;
      this.sendBytes(bytes);
      // A provisional from the TU other than 100 shows it is alive: restart its answer limit
      // (not once a CANCEL is pending: then the TU owes the 487 within 64*T1).
      if (status > 100 && this.secondaryTimer() === 'answerTimeLimit') {
        this.startSecondary('answerTimeLimit', this.host.values.answerTimeLimit);
      }
      return true;
    }
    this.pending = undefined;
    this.stopPrimary();
    this.stopSecondary();
    const { t1 } = this.host.values;
    if (status < 300) {
      // RFC 6026 §7.1: Accepted for Timer L = 64*T1; the 2xx is not kept (the TU's dialog
      // layer retransmits 2xx itself, through this transaction).
      this.lastResponse = undefined;
      this.setState('accepted');
      this.sendBytes(bytes);
      this.startPrimary('L', 64 * t1);
      return true;
    }
    const tag = response.headers.to?.params.tag;
    this.responseToTag = typeof tag === 'string' ? detachString(tag) : '';
    this.lastResponse = text;
    this.setState('completed');
    this.sendBytes(bytes);
    // RFC 3261 §17.2.1: Timer G (unreliable only) from T1, doubling up to T2; Timer H = 64*T1.
    if (!this.reliable) {
      this.interval = t1;
      this.startPrimary('G', t1);
    }
    this.startSecondary('H', 64 * t1);
    return true;
  }

  receiveRetransmission(): void {
    // RFC 3261 §17.2.1: Proceeding resends the last provisional, Completed the final;
    // RFC 6026 §7.1: Accepted absorbs the INVITE; Confirmed absorbs everything.
    if (this.currentState === 'proceeding' || this.currentState === 'completed') this.resend();
  }

  /**
   * @internal an ACK matched this transaction. Returns true when it must go to the TU
   * (RFC 6026 §7.1: an ACK matching in Accepted), false when it is absorbed.
   */
  receiveAck(): boolean {
    switch (this.currentState) {
      case 'completed':
        // RFC 3261 §17.2.1: Confirmed; Timer I = T4 unreliable, 0 reliable.
        this.stopPrimary();
        this.stopSecondary();
        this.lastResponse = undefined;
        this.setState('confirmed');
        if (this.reliable) this.terminate();
        else this.startPrimary('I', this.host.values.t4);
        return false;
      case 'accepted':
        return true;
      default:
        return false;
    }
  }

  /** @internal a CANCEL matched this transaction (RFC 3261 §9.2). */
  cancelReceived(): void {
    if (this.cancelMatched) return;
    this.cancelMatched = true;
    // The TU should answer 487; if it has sent no final response within 64*T1 the transaction
    // does, so a CANCEL never leaves an INVITE transaction behind.
    if (this.currentState === 'proceeding') this.startSecondary('cancelAnswer', 64 * this.host.values.t1);
  }

  onTimer(name: TimerName): void {
    switch (name) {
      case 'trying':
        if (this.currentState === 'proceeding' && !this.anyResponseSent && this.pending) {
          this.send(makeResponse(this.pending, 100));
        }
        return;
      case 'answerTimeLimit':
        if (this.currentState === 'proceeding' && this.pending) {
          this.host.timedOut(this, 'answerTimeLimit');
          this.send(makeResponse(this.pending, 408, undefined, { toTag: true }));
        }
        return;
      case 'cancelAnswer':
        if (this.currentState === 'proceeding' && this.pending) {
          this.host.timedOut(this, 'cancelAnswer');
          this.send(makeResponse(this.pending, 487, undefined, { toTag: true }));
        }
        return;
      case 'G': {
        if (this.currentState !== 'completed') return;
        this.resendForTimer();
        this.interval = Math.min(2 * this.interval, this.host.values.t2);
        this.startPrimary('G', this.interval);
        return;
      }
      case 'H':
        // RFC 3261 §17.2.1: no ACK within 64*T1; the TU is told through the 'timeout' event.
        this.host.timedOut(this, 'H');
        this.terminate();
        return;
      case 'I':
      case 'L':
        this.terminate();
        return;
      default:
        return;
    }
  }

  private resendForTimer(): void {
    if (this.lastResponse === undefined) return;
    this.sendBytes(this.host.encode(this.lastResponse));
    this.host.retransmitted(this, 'G');
  }

  protected sendFailed(error: Error): void {
    this.host.transportFailed(this, error);
    // RFC 3261 §17.2.4 / RFC 6026 §7.1: a failure in Proceeding or Completed ends the
    // transaction; in Accepted the TU's own 2xx retransmissions carry on until Timer L.
    if (this.currentState === 'proceeding' || this.currentState === 'completed') this.terminate();
  }

  protected override release(): void {
    super.release();
    this.pending = undefined;
  }
}

/** RFC 3261 §17.2.2: the non-INVITE server transaction. */
export class NonInviteServerTransaction extends ServerTransaction {
  readonly kind: TransactionKind = 'non-invite-server';

  /** @internal created by the layer. */
  constructor(host: TransactionHost, method: string, branch: string, transport: Transport, remote: Remote) {
    super(host, method, branch, transport, remote, 'trying');
    // Not in the RFC: a TU that never answers must not leave the transaction behind. After
    // 64*T1 the client has given up (its Timer F), so the transaction ends silently.
    this.startPrimary('tuSilence', 64 * host.values.t1);
  }

  get finalSent(): boolean {
    return this.currentState === 'completed' || this.currentState === 'terminated';
  }

  send(response: SipResponse): boolean {
    const status = checkStatus(response);
    const state = this.currentState;
    if (state !== 'trying' && state !== 'proceeding') return false; // §17.2.2: discarded
    const text = this.host.text(response);
    const bytes = this.host.encode(text);
    this.lastResponse = text;
    if (status < 200) {
      this.setState('proceeding');
      this.sendBytes(bytes);
      return true;
    }
    this.stopPrimary();
    this.setState('completed');
    this.sendBytes(bytes);
    // Timer J: 64*T1 on unreliable transports (absorbs request retransmissions), 0 on reliable.
    if (this.reliable) this.terminate();
    else this.startPrimary('J', 64 * this.host.values.t1);
    return true;
  }

  receiveRetransmission(): void {
    // RFC 3261 §17.2.2: Trying absorbs; Proceeding and Completed resend the last response.
    if (this.currentState === 'proceeding' || this.currentState === 'completed') this.resend();
  }

  onTimer(name: TimerName): void {
    if (name === 'J') this.terminate();
    else if (name === 'tuSilence' && (this.currentState === 'trying' || this.currentState === 'proceeding')) {
      this.host.timedOut(this, 'tuSilence');
      this.terminate();
    }
  }

  protected sendFailed(error: Error): void {
    this.host.transportFailed(this, error);
    this.terminate();
  }
}

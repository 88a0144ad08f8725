// Client transactions: RFC 3261 §17.1.1 (INVITE, with RFC 6026's Accepted state) and §17.1.2
// (non-INVITE). They send the request, retransmit it on unreliable transports, report every
// response the TU must see, and report a timeout as 408 and a transport failure as 503.
import { ackFor, cancelFor, makeResponse } from '@sipts/message';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import { isTransactionError } from './errors.js';
import type { TimerName } from './timers.js';
import { Transaction, type ResponseHandler, type TransactionHost, type TransactionKind } from './transaction.js';
import type { SendOptions, Transport } from './transport.js';

const noop = (): void => {};

export abstract class ClientTransaction extends Transaction {
  /** The request, kept only until the transaction no longer needs it (a final response). */
  protected request: SipRequest | undefined;
  /** The serialised request: every retransmission sends these bytes. */
  protected requestBytes: Uint8Array | undefined;

  protected constructor(
    host: TransactionHost,
    request: SipRequest,
    branch: string,
    transport: Transport,
    target: Remote,
    protected readonly onResponse: ResponseHandler,
    sendOptions: SendOptions | undefined,
    initial: 'calling' | 'trying',
    serialized: Uint8Array | undefined,
  ) {
    super(host, request.headers.cseq!.method, branch, transport, target, initial, sendOptions);
    this.request = request;
    this.requestBytes = serialized ?? host.serialize(request);
  }

  /** @internal the layer calls this once the transaction is in its table. */
  abstract start(): void;

  /** @internal a response matched this transaction (RFC 3261 §17.1.3). */
  abstract receiveResponse(response: SipResponse, remote: Remote): void;

  protected deliver(response: SipResponse, remote: Remote | undefined): void {
    try {
      this.onResponse(response, remote);
    } catch (e) {
      this.host.tuFailed(e, response);
    }
  }

  /** Reports a synthesised final response (408, 503) to the TU, then terminates. */
  protected fail(status: 408 | 503): void {
    const request = this.request;
    this.terminate();
    if (request) this.deliver(makeResponse(request, status), undefined);
  }

  /** Forgets the request once a final response has arrived. */
  protected dropRequest(): void {
    this.request = undefined;
    this.requestBytes = undefined;
  }

  protected release(): void {
    this.dropRequest();
  }
}

/** RFC 3261 §17.1.1 with RFC 6026 §7.2 (Accepted state, Timer M). */
export class InviteClientTransaction extends ClientTransaction {
  readonly kind: TransactionKind = 'invite-client';
  private interval = 0;
  /** The ACK of a 300-699 response, resent for each retransmission of it (Completed, Timer D): its text (see host.text). */
  private ackText: string | undefined;
  /** A CANCEL was asked for before any provisional response (RFC 3261 §9.1: wait for one). */
  private cancelPending = false;
  private cancelSent = false;
  /** The TU already has a final response (the ring-time-limit 408); later non-2xx are absorbed. */
  private tuHasFinal = false;

  constructor(
    host: TransactionHost,
    request: SipRequest,
    branch: string,
    transport: Transport,
    target: Remote,
    onResponse: ResponseHandler,
    sendOptions: SendOptions | undefined,
    serialized?: Uint8Array,
  ) {
    super(host, request, branch, transport, target, onResponse, sendOptions, 'calling', serialized);
  }

  start(): void {
    const { t1 } = this.host.values;
    this.sendBytes(this.requestBytes!);
    // RFC 3261 §17.1.1.2: Timer A (unreliable only) starts at T1 and doubles; Timer B = 64*T1.
    if (!this.reliable) {
      this.interval = t1;
      this.startPrimary('A', t1);
    }
    this.startSecondary('B', 64 * t1);
  }

  /**
   * Cancels the INVITE (RFC 3261 §9.1): sends a CANCEL with the same branch to the same target
   * through a new non-INVITE client transaction, at once when a provisional response has
   * arrived, else as soon as one does. Does nothing once a final response has arrived.
   * `onResponse` receives the CANCEL's response (or its 408/503).
   */
  cancel(onResponse: ResponseHandler = noop): void {
    if (this.cancelSent || this.cancelPending) return;
    if (this.currentState === 'proceeding') this.sendCancel(onResponse);
    else if (this.currentState === 'calling') {
      this.cancelPending = true;
      this.cancelHandler = onResponse;
    }
  }

  private cancelHandler: ResponseHandler = noop;

  private sendCancel(onResponse: ResponseHandler): void {
    const request = this.request;
    if (!request || this.cancelSent) return;
    this.cancelSent = true;
    this.cancelPending = false;
    try {
      this.host.startClient(cancelFor(request), this.transport, this.remote, onResponse, { allowOversize: true });
    } catch (e) {
      // ERR_TRANSACTION_EXISTS: the TU already sent its own CANCEL; ERR_SHUTDOWN: nothing to
      // do. Anything else is a bug worth hearing of.
      if (!isTransactionError(e)) this.host.internalError(e);
    }
  }

  receiveResponse(response: SipResponse, remote: Remote): void {
    const status = response.status;
    switch (this.currentState) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          if (this.tuHasFinal) return;
          if (this.currentState === 'calling') {
            this.stopPrimary();
            this.stopSecondary();
            this.setState('proceeding');
            this.startRingTimer();
            if (this.cancelPending) this.sendCancel(this.cancelHandler);
          } else if (status > 100 && this.secondaryTimer() === 'ringTimeLimit') {
            // Like Timer C (RFC 3261 §16.6 step 11): a provisional other than 100 restarts it.
            this.startRingTimer();
          }
          this.deliver(response, remote);
        } else if (status < 300) {
          // RFC 6026 §7.2: Accepted; 2xx retransmissions keep going to the TU until Timer M.
          this.stopPrimary();
          this.stopSecondary();
          this.dropRequest();
          this.setState('accepted');
          this.startPrimary('M', 64 * this.host.values.t1);
          this.deliver(response, remote);
        } else {
          this.complete(response, remote);
        }
        return;
      case 'completed':
        // RFC 3261 §17.1.1.2: a retransmitted final is ACKed again, not passed up.
        if (status >= 300 && this.ackText !== undefined) {
          this.sendBytes(this.host.encode(this.ackText));
          this.host.retransmitted(this, 'response');
        }
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.deliver(response, remote);
        return;
      default:
        return;
    }
  }

  private startRingTimer(): void {
    const limit = this.host.values.ringTimeLimit;
    if (limit > 0 && Number.isFinite(limit)) this.startSecondary('ringTimeLimit', limit);
  }

  /** RFC 3261 §17.1.1.3: a 300-699 response: ACK it, pass it up, wait Timer D. */
  private complete(response: SipResponse, remote: Remote): void {
    const request = this.request!;
    this.ackText = this.host.text(ackFor(request, response));
    const ackBytes = this.host.encode(this.ackText);
    this.stopPrimary();
    this.stopSecondary();
    this.dropRequest();
    this.setState('completed');
    this.sendBytes(ackBytes);
    const tuHadFinal = this.tuHasFinal;
    this.tuHasFinal = true;
    if (!tuHadFinal) this.deliver(response, remote);
    if (this.currentState !== 'completed') return;
    // Timer D: at least 32 s on unreliable transports (covers the server's 64*T1 of Timer G
    // retransmissions), 0 on reliable ones.
    if (this.reliable) this.terminate();
    else this.startPrimary('D', Math.max(32000, 64 * this.host.values.t1));
  }

  onTimer(name: TimerName): void {
    const { t1 } = this.host.values;
    switch (name) {
      case 'A':
        if (this.currentState !== 'calling' || !this.requestBytes) return;
        this.sendBytes(this.requestBytes);
        this.host.retransmitted(this, 'A');
        this.interval *= 2;
        this.startPrimary('A', this.interval);
        return;
      case 'B':
        this.host.timedOut(this, 'B');
        this.fail(408);
        return;
      case 'ringTimeLimit': {
        // The provisional-only phase lasted too long: the TU gets 408 now, the callee a
        // CANCEL; the transaction waits 64*T1 for the final (487) to ACK it.
        this.host.timedOut(this, 'ringTimeLimit');
        const request = this.request;
        this.tuHasFinal = true;
        this.startSecondary('cancelGrace', 64 * t1);
        if (request) this.deliver(makeResponse(request, 408), undefined);
        this.sendCancel(noop);
        return;
      }
      case 'cancelGrace':
      case 'D':
      case 'M':
        this.terminate();
        return;
      default:
        return;
    }
  }

  protected sendFailed(error: Error): void {
    this.host.transportFailed(this, error);
    // RFC 3261 §17.1.1.2: a transport error in Calling or Proceeding ends the transaction
    // and the TU hears of it (as 503, the way `sip` reports it). After a final response the
    // ACK's loss is recovered by the peer's retransmission.
    if ((this.currentState === 'calling' || this.currentState === 'proceeding') && !this.tuHasFinal) this.fail(503);
    else if (this.currentState === 'calling' || this.currentState === 'proceeding') this.terminate();
  }

  protected override release(): void {
    super.release();
    this.ackText = undefined;
    this.cancelHandler = noop;
  }
}

/** RFC 3261 §17.1.2: the non-INVITE client transaction. */
export class NonInviteClientTransaction extends ClientTransaction {
  readonly kind: TransactionKind = 'non-invite-client';
  private interval = 0;

  constructor(
    host: TransactionHost,
    request: SipRequest,
    branch: string,
    transport: Transport,
    target: Remote,
    onResponse: ResponseHandler,
    sendOptions: SendOptions | undefined,
    serialized?: Uint8Array,
  ) {
    super(host, request, branch, transport, target, onResponse, sendOptions, 'trying', serialized);
  }

  start(): void {
    const { t1 } = this.host.values;
    this.sendBytes(this.requestBytes!);
    // RFC 3261 §17.1.2.2: Timer E (unreliable only) from T1, doubling up to T2; Timer F = 64*T1.
    if (!this.reliable) {
      this.interval = t1;
      this.startPrimary('E', t1);
    }
    this.startSecondary('F', 64 * t1);
  }

  receiveResponse(response: SipResponse, remote: Remote): void {
    const state = this.currentState;
    if (state !== 'trying' && state !== 'proceeding') return; // Completed absorbs retransmissions
    if (response.status < 200) {
      this.setState('proceeding');
      this.deliver(response, remote);
      return;
    }
    this.stopPrimary();
    this.stopSecondary();
    this.dropRequest();
    this.setState('completed');
    this.deliver(response, remote);
    if (this.currentState !== 'completed') return;
    // Timer K: T4 on unreliable transports (absorbs response retransmissions), 0 on reliable.
    if (this.reliable) this.terminate();
    else this.startPrimary('K', this.host.values.t4);
  }

  onTimer(name: TimerName): void {
    const { t2 } = this.host.values;
    switch (name) {
      case 'E':
        if ((this.currentState !== 'trying' && this.currentState !== 'proceeding') || !this.requestBytes) return;
        this.sendBytes(this.requestBytes);
        this.host.retransmitted(this, 'E');
        // RFC 3261 §17.1.2.2: doubling capped at T2 in Trying; T2 in Proceeding.
        this.interval = this.currentState === 'proceeding' ? t2 : Math.min(2 * this.interval, t2);
        this.startPrimary('E', this.interval);
        return;
      case 'F':
        this.host.timedOut(this, 'F');
        this.fail(408);
        return;
      case 'K':
        this.terminate();
        return;
      default:
        return;
    }
  }

  protected sendFailed(error: Error): void {
    this.host.transportFailed(this, error);
    if (this.currentState === 'trying' || this.currentState === 'proceeding') this.fail(503);
  }
}

// The offer/answer state of one dialog (RFC 3264 §4, RFC 3261 §13.2.1, RFC 6337 §2-3): at most
// one offer outstanding in either direction, which transaction carries it, and the session
// description each side committed to. An exchange that fails (a non-2xx to a re-INVITE, an
// UPDATE refused) rolls back and the session stays as it was (RFC 3261 §14.1).

/**
 * - `idle`          no offer outstanding (the session is `localSdp`/`remoteSdp`, if any)
 * - `local-offer`   we sent an offer and wait for the answer
 * - `remote-offer`  we received an offer and owe the answer
 */
export type OfferAnswerState = 'idle' | 'local-offer' | 'remote-offer';

export class OfferAnswer {
  state: OfferAnswerState = 'idle';
  /** The session description we last committed to (sent in a completed exchange). */
  localSdp: string | undefined;
  /** The peer's committed session description. */
  remoteSdp: string | undefined;
  /** The outstanding offer: ours (`local-offer`) or the peer's (`remote-offer`). */
  pending: string | undefined;
  /** The method and CSeq of the transaction that carries the outstanding offer. */
  pendingMethod = '';
  pendingSeq = -1;

  /** True before the first exchange completed. */
  get initial(): boolean {
    return this.localSdp === undefined && this.remoteSdp === undefined;
  }

  /**
   * Can an offer arrive now? 0: yes. 491: we have an offer outstanding (glare, RFC 3311 §5.2,
   * RFC 6337 §3.1). 500: we received an offer we have not answered yet (RFC 3311 §5.2: 500 with
   * Retry-After).
   */
  incomingOfferStatus(): 0 | 491 | 500 {
    if (this.state === 'local-offer') return 491;
    if (this.state === 'remote-offer') return 500;
    return 0;
  }

  /** Can we send an offer now? Only with nothing outstanding. */
  canOffer(): boolean {
    return this.state === 'idle';
  }

  offerReceived(sdp: string, method: string, seq: number): void {
    this.state = 'remote-offer';
    this.pending = sdp;
    this.pendingMethod = method;
    this.pendingSeq = seq;
  }

  /** Our answer went out: the peer's offer and our answer are the session now. */
  answerSent(sdp: string): void {
    if (this.state !== 'remote-offer') return;
    this.remoteSdp = this.pending;
    this.localSdp = sdp;
    this.#clear();
  }

  offerSent(sdp: string, method: string, seq: number): void {
    this.state = 'local-offer';
    this.pending = sdp;
    this.pendingMethod = method;
    this.pendingSeq = seq;
  }

  /** The peer's answer arrived: our offer and its answer are the session now. */
  answerReceived(sdp: string): void {
    if (this.state !== 'local-offer') return;
    this.localSdp = this.pending;
    this.remoteSdp = sdp;
    this.#clear();
  }

  /** Is the outstanding offer carried by this transaction? */
  carriedBy(method: string, seq: number): boolean {
    return this.state !== 'idle' && this.pendingMethod === method && this.pendingSeq === seq;
  }

  /**
   * The transaction carrying the outstanding offer failed: forget the offer, keep the session
   * (RFC 3261 §14.1: "as if no re-INVITE had been issued"). No-op for another transaction.
   */
  rollback(method: string, seq: number): void {
    if (this.carriedBy(method, seq)) this.#clear();
  }

  #clear(): void {
    this.state = 'idle';
    this.pending = undefined;
    this.pendingMethod = '';
    this.pendingSeq = -1;
  }
}

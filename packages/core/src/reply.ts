// The reply handle: what the typed `request` event hands over with each request, so the TU
// answers on the server transaction the request arrived on (as sipgo's `tx.Respond`), without
// matching the response to its transaction again by Via, Call-ID and CSeq.
import { detachString, generateTag } from '@sipts/message';
import type { SipResponse } from '@sipts/message';
import type { ServerTransaction } from '@sipts/transaction';
import type { Wire } from './wire.js';

export interface ServerReply {
  /**
   * Sends `response` on the request's server transaction. A response other than 100 without a
   * To tag gets one (RFC 3261 §8.2.6.2), the same one for every response of this handle.
   * Returns false when the transaction discards it: after the final response (RFC 3261
   * §17.2.1/§17.2.2), a non-2xx after a 2xx (RFC 6026 §7.1), or for an ACK (never answered).
   */
  reply(response: SipResponse): boolean;
  /** True once a final response was sent, by this handle, by `send` or by the stack itself. */
  readonly finalSent: boolean;
  /** For an INVITE: a CANCEL matched it (RFC 3261 §9.2); answer the INVITE 487. */
  readonly cancelled: boolean;
  /** The server transaction; undefined for an ACK, which has none. */
  readonly transaction: ServerTransaction | undefined;
}

/** The handle of a request that has a server transaction. */
export class TransactionReply implements ServerReply {
  readonly transaction: ServerTransaction;
  readonly #wire: Wire;
  readonly #report: (error: unknown) => void;
  #toTag: string | undefined;

  constructor(transaction: ServerTransaction, wire: Wire, report: (error: unknown) => void) {
    this.transaction = transaction;
    this.#wire = wire;
    this.#report = report;
  }

  get finalSent(): boolean {
    return this.transaction.finalSent;
  }

  get cancelled(): boolean {
    const tx = this.transaction as ServerTransaction & { cancelled?: boolean };
    return tx.cancelled === true;
  }

  reply(response: SipResponse): boolean {
    if (response.headers.cseq?.method === 'ACK') return false;
    this.#toTag = ensureToTag(response, this.#toTag);
    this.#wire.logSend(response, this.transaction.remote);
    try {
      return this.transaction.send(response);
    } catch (e) {
      this.#report(e);
      return false;
    }
  }
}

/** ACK has no server transaction and is never answered (RFC 3261 §17.1.1.3, §13.2.2.4). */
export const ACK_REPLY: ServerReply = Object.freeze({
  reply: (): boolean => false,
  finalSent: true,
  cancelled: false,
  transaction: undefined,
});

/**
 * RFC 3261 §8.2.6.2: a response other than 100 carries a To tag. Adds `tag` (or a new one) when
 * the TU left it out; returns the tag the response carries, for the next response.
 */
export function ensureToTag(response: SipResponse, tag: string | undefined): string | undefined {
  const to = response.headers.to;
  if (typeof to !== 'object' || to === null) return tag;
  const present = to.params?.tag;
  // The handle outlives the response (a proxy keeps it with its context for 32 s, RFC 6026
  // Timer L): a tag sliced from the response's text would pin that whole text.
  if (typeof present === 'string') return present === tag ? tag : detachString(present);
  if (response.status <= 100) return tag;
  const chosen = tag ?? generateTag();
  response.headers.to = { ...to, params: { ...to.params, tag: chosen } };
  return chosen;
}

// The response context model (RFC 3261 §16.7): one ProxyContext per incoming request, one Branch
// per copy forwarded for it, each with one explicit state. A branch reports its responses
// through the callback it was made with; it knows nothing of the proxy that made it.
import type { Remote, SipRequest, SipResponse, Via } from '@sipts/message';
import type { Side } from './edge.js';
import type { ForkTarget } from './options.js';
import type { ResponseCallback, StackReply } from './stack.js';

/**
 * The state of a context:
 * - `calling`     received; nothing sent upstream yet
 * - `proceeding`  a provisional response went upstream (so a 100 Trying is not sent again)
 * - `cancelled`   a CANCEL matched it before any final response (§16.10): no new branches; the
 *                 pending ones are being cancelled and the caller gets their best final (487)
 * - `closed`      a branch answered 6xx (§16.7 step 10): no new branches, the others cancelled
 * - `released`    a final response went upstream, or it ended otherwise (`outcome` says how);
 *                 only further 2xx to an INVITE still go upstream
 */
export type ContextState = 'calling' | 'proceeding' | 'cancelled' | 'closed' | 'released';

/**
 * The state of a branch:
 * - `calling`     handed to the stack, no response yet
 * - `proceeding`  a provisional response arrived
 * - `cancelling`  the stack was asked to cancel it (§9.1); its final is awaited for `cancelTimeout`
 * - `completed`   it has its final response (from downstream, or made up: 408 on a fork
 *                 timeout, 487 when no answer came to the CANCEL, 503 when the stack threw)
 */
export type BranchState = 'calling' | 'proceeding' | 'cancelling' | 'completed';

/** How a branch ended: its own final response, a CANCEL's 487, a timeout, or an error (transport, refusal). */
export type BranchOutcome = 'response' | 'cancelled' | 'timeout' | 'error';

/** Why a context was released (the `contextReleased` event). */
export type ReleaseReason = 'final' | 'cancelled' | 'timeout' | 'error' | 'stopped';

/** What 'contextReleased' reports. */
export interface ContextReleasedEvent {
  callId: string;
  method: string;
  /** 'final': a final response went upstream; 'cancelled'; 'timeout'; 'error'; 'stopped'. */
  reason: ReleaseReason;
  status: number | undefined;
}

/**
 * The handle the application's request handler gets with each request: replying through it is
 * `proxy.send(response)` for that request's context (upstream on the server transaction, and the
 * context released on a final response), without finding the context again by Via.
 */
export interface ProxyReply {
  /**
   * Sends `response` upstream. Returns false when it is not sent: the context already sent its
   * final response (only further 2xx to an INVITE pass), or a second 100 Trying.
   */
  reply(response: SipResponse): boolean;
  /** True once a final response went upstream for this request. */
  readonly finalSent: boolean;
  /** True once a CANCEL matched this request (an INVITE): the branches are being cancelled. */
  readonly cancelled: boolean;
}

/** Receives every response of a branch (one shared function per proxy). */
export type BranchReport = (branch: Branch, response: SipResponse, remote: Remote | undefined) => void;

/** How the application's replies reach the proxy (one shared function per proxy). */
export type ContextResponder = (context: ProxyContext, response: SipResponse) => boolean;

/** A sequential fork target not tried yet. */
export interface PendingTarget {
  template: SipRequest;
  target: ForkTarget;
  timeout: number | undefined;
}

/** One response context (§16.7): the incoming request and every branch forwarded for it. */
export class ProxyContext implements ProxyReply {
  state: ContextState = 'calling';
  /** How it was released, once it is. */
  outcome: ReleaseReason | undefined;
  /** The key it is stored under (top Via, Call-ID, CSeq number); '' once released. */
  key: string;
  /** The incoming request; replaced by a stub on release, so late branches keep no message alive. */
  request: SipRequest;
  readonly method: string;
  /** When the context times out (contextTimeout), in whole ms of performance.now(). */
  readonly expiresAt: number;
  /** Max-Forwards the forwarded copies carry, or -1 when the request must not be forwarded. */
  readonly maxForwards: number;
  readonly loopHash: string | undefined;
  /** The stack's handle for the request's server transaction (undefined on stacks without one). */
  upstream: StackReply | undefined;
  /** The status of the final response sent upstream. */
  finalStatus: number | undefined;
  /** Branches without a final response. */
  pending = 0;
  /** Branches whose responses the proxy aggregates (no application callback). */
  aggregated = 0;
  /** Branches handed to the stack (`maxBranches` caps it). */
  forwarded = 0;
  /** Fork targets dropped and branches refused by `maxBranches`. */
  overLimit = 0;
  branches: Branch[] = [];
  /** Final responses of aggregated branches, for §16.7 step 6. */
  responses: SipResponse[] = [];
  queue: PendingTarget[] | undefined;
  /** Where the request came from (transport, peer, our end): the side its Record-Route entry faces. */
  arrival: Remote | undefined;
  /** A Route entry of ours that the request came through said `ob` (RFC 5626 §5.3). */
  arrivedOb = false;
  /** The Record-Route side of the caller, made on the first record-routed branch. */
  inboundSide: Side | undefined;
  readonly #respond: ContextResponder;

  constructor(
    key: string,
    request: SipRequest,
    expiresAt: number,
    maxForwards: number,
    hash: string | undefined,
    upstream: StackReply | undefined,
    respond: ContextResponder,
  ) {
    this.key = key;
    this.request = request;
    this.method = request.method;
    this.expiresAt = expiresAt;
    this.maxForwards = maxForwards;
    this.loopHash = hash;
    this.upstream = upstream;
    this.#respond = respond;
  }

  /** Branches may still be added: no CANCEL, no 6xx, no final response yet. */
  get open(): boolean {
    return this.state === 'calling' || this.state === 'proceeding';
  }

  reply(response: SipResponse): boolean {
    return this.#respond(this, response);
  }

  get finalSent(): boolean {
    return this.finalStatus !== undefined;
  }

  get cancelled(): boolean {
    return this.state === 'cancelled' || this.outcome === 'cancelled';
  }
}

/** One forwarded copy of a request (a client transaction in the stack). */
export class Branch {
  state: BranchState = 'calling';
  /** Unique per branch of this proxy (`b1`, `b2`...): what the branch events name it by. */
  id = '';
  /** The Call-ID of the branch's request (the context's request is emptied on release). */
  callId = '';
  /** Why the branch ended, once it has (see ContextEvents.branchEnd). */
  outcome: BranchOutcome | undefined;
  /**
   * The object handed to `stack.send`, the key `stack.cancel` needs; dropped once the stack
   * delivered its final response (the stack's transaction keeps our callback for up to 32 s).
   */
  request: SipRequest | undefined;
  /** The proxy made `request` (a fork copy), so it may empty it; never the application's object. */
  readonly owned: boolean;
  /** The application's callback (`send(rq, callback)`); undefined: the proxy aggregates. */
  readonly callback: ResponseCallback | undefined;
  /** Fork timeout or CANCEL wait. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * RFC 5626 §5.3: the other flows of the target's instance, tried in turn when this one fails
   * (430, or a transport error), and the request and fork timeout to make their copies from.
   */
  alternates: readonly ForkTarget[] | undefined;
  template: SipRequest | undefined;
  timeout: number | undefined;
  /** What the stack calls with each response: the one closure a branch costs. */
  readonly onResponse: ResponseCallback;

  constructor(
    readonly context: ProxyContext,
    request: SipRequest | undefined,
    callback: ResponseCallback | undefined,
    owned: boolean,
    report: BranchReport,
  ) {
    this.request = request;
    this.owned = owned;
    this.callback = callback;
    this.onResponse = (response, remote) => report(this, response, remote);
  }

  /** Has no final response yet. */
  get pending(): boolean {
    return this.state !== 'completed';
  }

  /**
   * The stack delivered the final response: its client transaction no longer needs the request.
   * A copy the proxy made is emptied too, for a stack that keeps a reference to it for the
   * transaction's remaining life (RFC 3261 Timer D, RFC 6026 Timer M: up to 32 s).
   */
  dropRequest(): void {
    const rq = this.request;
    if (rq === undefined) return;
    this.request = undefined;
    if (!this.owned) return;
    const h = rq.headers;
    const top = h.via?.[0];
    rq.headers = { via: top === undefined ? [] : [top], 'call-id': h['call-id'], cseq: h.cseq };
    rq.content = '';
  }
}

/** The key of a context: a top Via plus Call-ID and CSeq number (as `sip/proxy`). */
export function contextKey(via: Via | undefined, callId: string | undefined, seq: number | undefined): string | undefined {
  if (via === undefined) return undefined;
  const branch = via.params['branch'];
  return `${branch ?? ''}\u0000${via.protocol}\u0000${via.host}\u0000${via.port ?? ''}\u0000${callId ?? ''}\u0000${seq ?? ''}`;
}

/** The context key of a message, from its own top Via. */
export function messageKey(msg: SipRequest | SipResponse): string | undefined {
  const h = msg.headers;
  return contextKey(h.via?.[0], h['call-id'], h.cseq?.seq);
}

/** What a released context keeps instead of the request. */
export const RELEASED_REQUEST: SipRequest = Object.freeze({ method: '', uri: '', headers: Object.freeze({}) }) as SipRequest;

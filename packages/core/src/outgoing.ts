// The outgoing half of a request's trip: `send(request, callback)` of `sip` through a client
// transaction, trying each RFC 3263 target in turn (§4.3: the next one on 503 or a transport
// error), CANCEL through the INVITE's own client transaction (§9.1), and the requests that go
// without a transaction: the ACK for a 2xx (§13.2.2.4) and stateless forwarding (§16.11).
import { createHash } from 'node:crypto';
import { makeResponse, parseCSeq, parseRoute, parseUri, stringify, stringifyUri } from '@sipts/message';
import type { Remote, SipRequest, SipResponse, Via } from '@sipts/message';
import { generateBranch } from '@sipts/transaction';
import type { ClientTransaction, InviteClientTransaction, SendOptions, TransactionLayer, Transport } from '@sipts/transaction';
import { SipCoreError } from './errors.js';
import type { DeadTargetCache } from './dead-targets.js';
import type { FlowTokenCodec } from './flow.js';
import type { StackIdentity } from './identity.js';
import { isSipScheme, nextHop, type NextHop } from './next-hop.js';
import type { NormalizedOptions } from './options.js';
import type { Wire } from './wire.js';

/** `sip`'s response callback: every response to a request sent with `send`. */
export type ResponseCallback = (response: SipResponse, remote?: Remote) => void;

/** What the outgoing path needs from the stack that owns it. */
export interface OutgoingContext {
  readonly options: Readonly<NormalizedOptions>;
  readonly identity: StackIdentity;
  readonly flows: FlowTokenCodec;
  readonly layer: TransactionLayer;
  readonly wire: Wire;
  readonly deadTargets: DeadTargetCache;
  /** The targets of a hop, once the stack listens (RFC 3263). */
  targets(hop: NextHop): Promise<Remote[]>;
  destroyed(): boolean;
  report(error: unknown): void;
}

/** One `send(request, callback)` in flight: the targets it tries in order (RFC 3263 §4.3). */
interface Outgoing {
  /** Dropped once the final response is delivered (RFC 6026 keeps INVITEs 32 s: keep them small). */
  request: SipRequest | undefined;
  callback: ResponseCallback;
  targets: readonly Remote[];
  next: number;
  /** The request carried its own branch (a CANCEL built by a `sip` user): not replaced. */
  keepVia: boolean;
  /** The request went to a flow (a connection named by a flow token): failure is 430. */
  viaFlow: boolean;
  lastResponse: SipResponse | undefined;
  /** The target being tried now, and whether it has answered anything yet. */
  current: Remote | undefined;
  answered: boolean;
  transaction: ClientTransaction | undefined;
  state: 'sending' | 'final';
  cancel: { callback: ResponseCallback | undefined } | undefined;
}

const encoder = new TextEncoder();

/**
 * The targets of an outgoing request before they are resolved and once it is final: one shared
 * empty list (read-only: `targets` is only ever replaced), not an array per request kept
 * for as long as an INVITE's callback is (RFC 6026 Timer M, 32 s).
 */
const NO_TARGETS: readonly Remote[] = Object.freeze([]);

function isInviteClient(tx: ClientTransaction | undefined): tx is InviteClientTransaction {
  return tx !== undefined && tx.kind === 'invite-client';
}

function noop(): void {}

export class OutgoingRequests {
  readonly #ctx: OutgoingContext;
  readonly #outgoing = new WeakMap<SipRequest, Outgoing>();
  /** Pending outgoing INVITEs by `Call-ID CSeq`, for a CANCEL built without a Via (as sip users do). */
  readonly #pendingInvites = new Map<string, Outgoing>();

  constructor(ctx: OutgoingContext) {
    this.#ctx = ctx;
  }

  /** Forget every pending INVITE (the stack is closing). */
  clear(): void {
    this.#pendingInvites.clear();
  }

  /**
   * A request in a client transaction. ACK goes without one; a CANCEL naming an INVITE this
   * stack is sending goes through that INVITE's transaction.
   */
  send(rq: SipRequest, callback: ResponseCallback): void {
    const ctx = this.#ctx;
    if (ctx.destroyed()) throw new SipCoreError('ERR_STOPPED', 'the stack is destroyed');
    checkRequest(rq, ctx.options.maxForwards);
    if (rq.method === 'ACK') {
      this.sendAck(rq);
      return;
    }
    if (rq.method === 'CANCEL' && this.#cancelFromSipApi(rq, callback)) return;
    const keepVia = rq.method === 'CANCEL' && typeof rq.headers.via?.[0]?.params.branch === 'string';
    if (!keepVia) {
      // sip pushes a Via for every request it sends; it is filled in per target.
      if (!Array.isArray(rq.headers.via)) rq.headers.via = [];
      rq.headers.via.unshift(ctx.identity.newVia('UDP'));
    }
    const out: Outgoing = {
      request: rq,
      callback,
      targets: NO_TARGETS,
      next: 0,
      keepVia,
      viaFlow: false,
      lastResponse: undefined,
      current: undefined,
      answered: false,
      transaction: undefined,
      state: 'sending',
      cancel: undefined,
    };
    this.#outgoing.set(rq, out);
    if (rq.method === 'INVITE') this.#pendingInvites.set(inviteKey(rq), out);
    const hop = nextHop(rq, ctx.identity, ctx.flows);
    out.viaFlow = hop.flow !== undefined;
    if (!isSipScheme(hop.uri)) {
      // RFC 3261 §8.1.2: only a sip:/sips: next hop can be resolved; say so like a UAS would.
      queueMicrotask(() => this.#finish(out, makeResponse(rq, 416, 'Unsupported URI Scheme'), undefined));
      return;
    }
    ctx.targets(hop).then(
      (targets) => {
        // RFC 3263 §4.3: targets that failed recently are tried last.
        out.targets = ctx.deadTargets.order(targets);
        this.#tryNext(out);
      },
      (e: unknown) => {
        ctx.report(e);
        this.#finish(out, makeResponse(rq, 503), undefined);
      },
    );
  }

  /**
   * Cancels an INVITE sent by this stack (RFC 3261 §9.1) through its client transaction. Returns
   * false when the INVITE is unknown or already answered finally.
   */
  cancel(invite: SipRequest, callback?: ResponseCallback): boolean {
    const out = this.#outgoing.get(invite);
    if (out === undefined || out.state === 'final' || out.request?.method !== 'INVITE') return false;
    if (out.cancel !== undefined) return true;
    out.cancel = { callback };
    const tx = out.transaction;
    if (isInviteClient(tx)) tx.cancel(callback ?? noop);
    return true;
  }

  /** Try the next target, or report the outcome when none is left (sip: last status, else 404). */
  #tryNext(out: Outgoing): void {
    const ctx = this.#ctx;
    const rq = out.request;
    if (ctx.destroyed() || rq === undefined) return;
    if (out.cancel !== undefined && out.next > 0) {
      this.#finish(out, makeResponse(rq, 487), undefined);
      return;
    }
    const target = out.targets[out.next++];
    if (target === undefined) {
      const status = out.lastResponse?.status ?? (out.targets.length === 0 ? 404 : 503);
      this.#finish(out, out.lastResponse ?? makeResponse(rq, status), undefined);
      return;
    }
    let protocol = target.protocol.toUpperCase();
    let transport = ctx.wire.transport(protocol);
    if (transport === undefined) {
      out.lastResponse = makeResponse(rq, 503);
      this.#tryNext(out);
      return;
    }
    if (ctx.identity.isSelf({ ...target, protocol })) {
      // RFC 3261 §16.3 step 4: sent to ourselves, it would only come back as a loop.
      ctx.wire.stats.selfLoopsRefused++;
      out.lastResponse = makeResponse(rq, 482, 'Loop Detected');
      this.#tryNext(out);
      return;
    }
    let bytes: Uint8Array | undefined;
    let sendOptions: SendOptions | undefined;
    if (!out.keepVia) {
      // The branch is chosen before the request is measured: the bytes measured are the bytes
      // sent and retransmitted (the transaction never serialises it again).
      const via = rq.headers.via?.[0] as Via;
      ctx.identity.retarget(via, protocol);
      via.params.branch = generateBranch();
      bytes = encoder.encode(stringify(rq));
      if (protocol === 'UDP') {
        const allowance = mtuAllowanceOf(transport, ctx.options.mtuAllowance);
        const tcp = target.local === undefined ? ctx.wire.transport('TCP') : undefined;
        if (bytes.length > allowance && tcp !== undefined) {
          // RFC 3261 §18.1.1: a request over the allowance goes over a congestion-controlled
          // transport when we have one (the Via changes, so these are new bytes).
          protocol = 'TCP';
          transport = tcp;
          ctx.identity.retarget(via, 'TCP');
          bytes = encoder.encode(stringify(rq));
        } else if (bytes.length > allowance) {
          // No TCP (or a UDP flow that must be used): §18.1.1 leaves UDP as the only way.
          sendOptions = { allowOversize: true };
        }
      }
    }
    const remote: Remote = { ...target, protocol };
    out.current = remote;
    out.answered = false;
    ctx.wire.logSend(rq, remote);
    let tx: ClientTransaction;
    try {
      tx = ctx.layer.sendRequest(rq, transport, remote, (response, from) => this.#onResponse(out, response, from), sendOptions, bytes);
    } catch (e) {
      ctx.report(e);
      out.lastResponse = makeResponse(rq, 503);
      this.#tryNext(out);
      return;
    }
    out.transaction = tx;
    if (out.cancel !== undefined && isInviteClient(tx)) tx.cancel(out.cancel.callback ?? noop);
  }

  #onResponse(out: Outgoing, response: SipResponse, remote: Remote | undefined): void {
    if (out.state === 'final') {
      // RFC 6026: further 2xx (retransmissions, forks) go to the caller, who ACKs them.
      if (response.status >= 200 && response.status < 300) this.#deliver(out, response, remote);
      return;
    }
    const ctx = this.#ctx;
    const target = out.current;
    if (remote !== undefined) {
      out.answered = true;
      if (target !== undefined) ctx.deadTargets.markAlive(target);
    } else if (target !== undefined && !out.answered && (response.status === 408 || response.status === 503) && !out.viaFlow) {
      // The transaction timed out (Timer B/F) or the transport failed before the target said
      // anything: RFC 3263 §4.3 moves on, and the target is tried last for a while.
      ctx.deadTargets.markDead(target);
      if (out.cancel === undefined && out.next < out.targets.length) {
        out.lastResponse = response;
        this.#tryNext(out);
        return;
      }
    }
    if (response.status === 503 && out.cancel === undefined && out.next < out.targets.length) {
      // RFC 3263 §4.3: a 503 moves on to the next target.
      out.lastResponse = response;
      this.#tryNext(out);
      return;
    }
    if (response.status === 503 && remote === undefined && out.viaFlow && out.request !== undefined) {
      // RFC 5626 §5.3: the flow is gone.
      response = makeResponse(out.request, 430, 'Flow Failed');
    }
    if (response.status >= 200) this.#finish(out, response, remote);
    else this.#deliver(out, response, remote);
  }

  #finish(out: Outgoing, response: SipResponse, remote: Remote | undefined): void {
    out.state = 'final';
    const rq = out.request;
    if (rq !== undefined && rq.method === 'INVITE') {
      const key = inviteKey(rq);
      if (this.#pendingInvites.get(key) === out) this.#pendingInvites.delete(key);
    }
    // Only the callback is needed from now on (2xx retransmissions and forks of an INVITE).
    out.request = undefined;
    out.targets = NO_TARGETS;
    out.lastResponse = undefined;
    out.current = undefined;
    out.transaction = undefined;
    out.cancel = undefined;
    this.#deliver(out, response, remote);
  }

  #deliver(out: Outgoing, response: SipResponse, remote: Remote | undefined): void {
    try {
      out.callback(response, remote);
    } catch (e) {
      this.#ctx.report(e);
    }
  }

  /**
   * A CANCEL built by a `sip` user: when it names an INVITE this stack is sending (by the
   * branch of its Via, else by Call-ID and CSeq), the INVITE transaction sends the CANCEL
   * (RFC 3261 §9.1: same branch, same target, after a provisional). Otherwise the CANCEL is
   * sent as an ordinary request.
   */
  #cancelFromSipApi(rq: SipRequest, callback: ResponseCallback): boolean {
    const branch = rq.headers.via?.[0]?.params.branch;
    let out: Outgoing | undefined;
    if (typeof branch === 'string') {
      const tx = this.#ctx.layer.findClientTransaction(branch, 'INVITE');
      if (tx !== undefined) {
        for (const candidate of this.#pendingInvites.values()) if (candidate.transaction === tx) out = candidate;
        if (out === undefined && isInviteClient(tx) && (tx.state === 'calling' || tx.state === 'proceeding')) {
          tx.cancel(callback);
          return true;
        }
      }
    } else {
      out = this.#pendingInvites.get(inviteKey(rq));
    }
    if (out === undefined || out.state === 'final' || out.request === undefined) return false;
    return this.cancel(out.request, callback);
  }

  /**
   * ACK (for a 2xx: RFC 3261 §13.2.2.4) is sent without a transaction: Route honoured, a new
   * top Via with a new branch, to the first resolved target.
   */
  sendAck(ack: SipRequest): void {
    if (!Array.isArray(ack.headers.via)) ack.headers.via = [];
    const via = this.#ctx.identity.newVia('UDP');
    via.params.branch = generateBranch();
    ack.headers.via.unshift(via);
    this.#sendWithoutTransaction(ack, nextHop(ack, this.#ctx.identity, this.#ctx.flows), true);
  }

  /**
   * A request sent without a transaction (a stateless proxy, RFC 3261 §16.11): it keeps the Via
   * list it carries; a top Via naming this stack gets the transport and port chosen and, when
   * it has no branch, one computed from the request (the same for every retransmission, and
   * signed, so a response to it can be told from a forged one).
   */
  sendStateless(rq: SipRequest): void {
    const ctx = this.#ctx;
    if (ctx.destroyed()) throw new SipCoreError('ERR_STOPPED', 'the stack is destroyed');
    checkRequest(rq, ctx.options.maxForwards);
    const via = rq.headers.via?.[0];
    const own = via !== undefined && ctx.identity.isOwnVia(via);
    if (own && typeof via.params.branch !== 'string') via.params.branch = statelessBranch(rq, ctx.flows);
    this.#sendWithoutTransaction(rq, nextHop(rq, ctx.identity, ctx.flows), own);
  }

  /** The block ACK and stateless requests share: first target, our Via retargeted, one write. */
  #sendWithoutTransaction(rq: SipRequest, hop: NextHop, ownVia: boolean): void {
    const ctx = this.#ctx;
    ctx
      .targets(hop)
      .then((targets) => {
        const target = targets[0];
        if (target === undefined) {
          ctx.report(new SipCoreError('ERR_INVALID_MESSAGE', `${rq.method}: cannot resolve ${String(hop.uri.host)}`));
          return;
        }
        const protocol = target.protocol.toUpperCase();
        const transport = ctx.wire.transport(protocol);
        if (transport === undefined) return;
        const remote: Remote = { ...target, protocol };
        if (ctx.identity.isSelf(remote)) {
          // One packet must not become a Max-Forwards-long loop through our own socket.
          ctx.wire.stats.selfLoopsRefused++;
          return;
        }
        const via = rq.headers.via?.[0];
        if (ownVia && via !== undefined) ctx.identity.retarget(via, protocol);
        ctx.wire.write(transport, rq, remote, { allowOversize: true });
      })
      .catch((e: unknown) => ctx.report(e));
  }

  /**
   * RFC 3261 §16.7 step 1 / §16.11: a response matching no client transaction whose top Via is
   * ours loses that Via and goes on to the next one, only when that Via's branch proves we sent
   * the request (a forged response must not make us send anywhere), and never over a new
   * connection.
   */
  forwardStrayResponse(response: SipResponse): void {
    const ctx = this.#ctx;
    const vias = response.headers.via;
    const own = vias?.[0];
    if (vias === undefined || vias.length < 2 || own === undefined || !ctx.identity.isOwnVia(own) || !isSignedBranch(own, response, ctx.flows)) {
      ctx.wire.stats.strayResponsesDropped++;
      return;
    }
    vias.shift();
    ctx.wire.sendStatelessResponse(response, { connect: false });
  }
}

function inviteKey(rq: SipRequest): string {
  return `${rq.headers['call-id']} ${rq.headers.cseq?.seq}`;
}

/** The mtuAllowance of a UDP transport (by shape), else the stack's option. */
function mtuAllowanceOf(transport: Transport, fallback: number): number {
  const allowance = (transport as Transport & { mtuAllowance?: unknown }).mtuAllowance;
  return typeof allowance === 'number' ? allowance : fallback;
}

/** Checks and completes a request from the TU (a `sip` user may build it by hand). */
export function checkRequest(rq: SipRequest, maxForwards: number): void {
  const h = rq.headers;
  if (typeof rq.method !== 'string' || rq.method === '') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no method');
  if (rq.uri === undefined || parseUri(rq.uri) === undefined) {
    throw new SipCoreError('ERR_INVALID_MESSAGE', `the Request-URI ${String(rq.uri)} is not a URI`);
  }
  if (typeof h.cseq === 'string') h.cseq = parseCSeq(h.cseq);
  if (h.cseq === undefined || typeof h.cseq.seq !== 'number') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no CSeq');
  if (typeof h['call-id'] !== 'string') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no Call-ID');
  if (h.from === undefined || h.to === undefined) throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no From or To');
  const via: unknown = h.via;
  if (typeof via === 'object' && via !== null && !Array.isArray(via) && typeof (via as Via).params === 'object') {
    // `sip` users build requests with a single Via object: a list of one.
    h.via = [via as Via];
  } else if (via !== undefined && (!Array.isArray(via) || via.some((v) => typeof v !== 'object' || v === null || typeof v.params !== 'object'))) {
    // A Via that is not a list of Via objects (a string from a hand-built message) is dropped:
    // the stack puts its own on top anyway.
    delete h.via;
  }
  // RFC 3261 §8.1.1.6: every request carries Max-Forwards.
  if (h['max-forwards'] === undefined) h['max-forwards'] = maxForwards;
  if (typeof h.route === 'string') {
    try {
      h.route = parseRoute(h.route);
    } catch {
      delete h.route;
    }
  }
}

/** What a response echoes of the request below our Via: what the stateless branch signs. */
function signedSeed(below: Via | undefined, callId: string | undefined, seq: number | undefined): string {
  const b = below === undefined ? '' : `${below.protocol} ${below.host}:${below.port ?? ''};${String(below.params.branch ?? '')};${String(below.params.received ?? '')};${String(below.params.rport ?? '')}`;
  return `${b}|${callId ?? ''}|${seq ?? ''}`;
}

/**
 * RFC 3261 §16.11: the branch of a statelessly forwarded request is a function of the request,
 * the same for each retransmission, different after a change of Request-URI (a spiral). Its
 * first part is a MAC over what the response echoes (the Via below ours, Call-ID, CSeq number).
 */
export function statelessBranch(rq: SipRequest, flows: FlowTokenCodec): string {
  const h = rq.headers;
  const mac = flows.sign(signedSeed(h.via?.[1], h['call-id'], h.cseq?.seq));
  const uri = createHash('sha256').update(stringifyUri(rq.uri)).digest('base64url').slice(0, 8);
  return `z9hG4bK${mac}.${uri}`;
}

function isSignedBranch(own: Via, response: SipResponse, flows: FlowTokenCodec): boolean {
  const branch = own.params.branch;
  if (typeof branch !== 'string' || !branch.startsWith('z9hG4bK')) return false;
  const dot = branch.indexOf('.', 7);
  if (dot < 0) return false;
  const h = response.headers;
  return branch.slice(7, dot) === flows.sign(signedSeed(h.via?.[1], h['call-id'], h.cseq?.seq));
}

// The transaction layer: tables of client and server transactions, matching of every message
// a transport delivers (RFC 3261 §17.1.3, §17.2.3 with the RFC 2543 fallback), creation of
// transactions, one timer queue, the overload cap, counters and events.
import { EventEmitter } from 'node:events';
import { getHeapStatistics } from 'node:v8';
import { detachString, makeResponse, stringify } from '@sipts/message';
import type { Remote, SipMessage, SipRequest, SipResponse, Via } from '@sipts/message';
import { realClock, type Clock } from './clock.js';
import { ClientTransaction, InviteClientTransaction, NonInviteClientTransaction } from './client.js';
import { TransactionError } from './errors.js';

import {
  branchOf,
  clientKey,
  generateBranch,
  hasBranchCookie,
  legacyDialogKey,
  legacyFields,
  legacyRequestKey,
  serverKey,
  uriKey,
} from './keys.js';
import { InviteServerTransaction, NonInviteServerTransaction, ServerTransaction } from './server.js';
import { TimerQueue, type TimerName } from './timers.js';
import type { ResponseHandler, RetransmitReason, TimerValues, Transaction, TransactionHost, TransactionState } from './transaction.js';
import type { SendOptions, Transport } from './transport.js';

export interface TransactionLayerOptions {
  /** RFC 3261 T1, the RTT estimate (ms). Default 500. */
  t1?: number | undefined;
  /** RFC 3261 T2, the cap of non-INVITE and INVITE-response retransmit intervals (ms). Default 4000. */
  t2?: number | undefined;
  /** RFC 3261 T4, how long the network may hold a message (ms); Timers I and K. Default 5000. */
  t4?: number | undefined;
  /**
   * Timer C-like limit (ms) on an INVITE client transaction that has only provisional
   * responses: restarted by each provisional other than 100; on expiry the TU gets a 408, the
   * callee a CANCEL. Default 180000 (RFC 3261 §16.6: Timer C is more than 3 minutes). 0 or
   * Infinity disables it (a callee that rings forever then holds the transaction forever).
   */
  ringTimeLimit?: number | undefined;
  /**
   * How long (ms) an INVITE server transaction waits for the TU's final response, restarted by
   * each provisional the TU sends other than 100; on expiry the transaction answers 408.
   * Default ringTimeLimit + 64*T1 (so a proxy's downstream ring limit fires first), or
   * disabled when ringTimeLimit is. 0 or Infinity disables it.
   */
  answerTimeLimit?: number | undefined;
  /**
   * Concurrent server transactions; a new request beyond it is answered 503. Default: what a
   * quarter of the V8 heap limit holds at 2 KiB per transaction (the measured cost is ~0.6-0.9
   * KiB, see the README), at least 10000: 524288 with Node's usual 4 GiB limit. A memory
   * protection, not a rate limit: load is shed earlier by `admit`.
   */
  maxServerTransactions?: number | undefined;
  /**
   * Admission control, asked before a server transaction is created for a new out-of-dialog
   * request (no To tag; not ACK or CANCEL), after retransmissions were matched: 'accept';
   * 'reject' answers 503 with Retry-After statelessly (its ACK is absorbed); 'drop' sends
   * nothing. Requests inside dialogs and retransmissions are never asked about, so accepted
   * calls keep being served while new ones are shed. Default: accept everything.
   */
  admit?: ((request: SipRequest, remote: Remote) => AdmissionDecision) | undefined;
  /** Retry-After (seconds) of the overload 503. Default 5. */
  retryAfter?: number | undefined;
  /** The time source. Default: `performance.now()` and unref'd Node timers. */
  clock?: Clock | undefined;
  /**
   * A new request (not ACK): the layer created `transaction` first. The TU answers through
   * `transaction.send(response)`. A CANCEL arrives here too, with `transaction.invite` set to
   * the INVITE server transaction it matched, if any. If this throws, the layer answers 500.
   */
  onRequest(request: SipRequest, remote: Remote, transaction: ServerTransaction): void;
  /**
   * An ACK the layer does not absorb: an ACK for a 2xx (a new transaction by RFC 3261) or one
   * matching an INVITE server transaction in Accepted (RFC 6026 §7.1). Default: dropped.
   */
  onAck?: ((ack: SipRequest, remote: Remote, transport: Transport) => void) | undefined;
  /**
   * A response that matches no client transaction: the stateless path (RFC 3261 §18.1.2),
   * e.g. a 2xx retransmission after the INVITE client transaction ended. Default: dropped.
   */
  onStrayResponse?: ((response: SipResponse, remote: Remote, transport: Transport) => void) | undefined;
}

/** What `admit` decided for a new request. */
export type AdmissionDecision = 'accept' | 'reject' | 'drop';

/** Why `receive` dropped a message. */
export type DropReason = 'missing-via' | 'missing-cseq' | 'missing-call-id' | 'shutdown';

/** Events of a TransactionLayer (an EventEmitter). No event is named 'error'. */
export interface TransactionLayerEvents {
  /** A transaction was created (client: before its request is sent; server: before onRequest). */
  created: [transaction: Transaction];
  /** A transaction changed state (every transition, Terminated included). */
  state: [transaction: Transaction, from: TransactionState, to: TransactionState];
  /** A message was sent again: Timer A/E/G fired, or a retransmission was answered. */
  retransmit: [transaction: Transaction, reason: RetransmitReason];
  /** A timer ended a phase without the event it waited for (B, F, H, ring or answer limits, ...). */
  timeout: [transaction: Transaction, timer: TimerName];
  /** A transport's send rejected. `transaction` is undefined for a stateless 503. */
  transportError: [error: Error, transaction: Transaction | undefined];
  /** A TU callback threw (the layer caught it; for onRequest it answered 500). */
  tuError: [error: unknown, message: SipMessage];
  /** A timer callback or an internal send threw: a bug, reported instead of crashing the process. */
  internalError: [error: unknown];
  /**
   * A new request was shed without a transaction: answered 503 ('reject': maxServerTransactions
   * reached or `admit` said so) or not answered at all ('drop', `admit` said so).
   */
  overload: [request: SipRequest, remote: Remote, decision: 'reject' | 'drop'];
  /** `receive` dropped a message that cannot belong to a transaction. */
  drop: [message: SipMessage, remote: Remote, reason: DropReason];
}

/** Table sizes. */
export interface TransactionCounts {
  client: number;
  server: number;
}

/** Counters since the layer was created, plus the current table and timer sizes. */
export interface TransactionStats extends TransactionCounts {
  /** Timer slots scheduled right now. */
  timers: number;
  clientCreated: number;
  serverCreated: number;
  terminated: number;
  /** Retransmissions by reason: A, E, G (timers), request (server answered a repeat), response (ACK resent). */
  retransmissions: Record<RetransmitReason, number>;
  /** Requests matched to an existing transaction (retransmissions, absorbed ACKs), not passed to the TU. */
  absorbed: number;
  timeouts: number;
  transportErrors: number;
  strayResponses: number;
  /** New requests answered 503 without a transaction (maxServerTransactions or `admit`). */
  overloadRejected: number;
  /** New requests dropped unanswered because `admit` said 'drop'. */
  overloadDropped: number;
  tuErrors: number;
  dropped: number;
  /** `findServerTransaction` calls: responses matched to their transaction again by Via/Call-ID/CSeq. */
  serverLookups: number;
}

function positive(name: string, value: number | undefined, fallback: number, allowOff = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (value === 0 && !allowOff)) {
    throw new TransactionError('ERR_INVALID_OPTION', `${name} must be a positive number of milliseconds`);
  }
  return value;
}

const encoder = new TextEncoder();

/**
 * A quarter of the V8 heap limit at 2 KiB per server transaction (the measured cost is ~0.6-0.9
 * KiB; the rest is headroom for what the TU keeps alongside), never below 10000.
 */
function defaultMaxServerTransactions(): number {
  let limit = 0;
  try {
    limit = getHeapStatistics().heap_size_limit;
  } catch {
    limit = 0;
  }
  return Math.max(10000, Math.floor(limit / 4 / 2048));
}
/** INVITE keys rejected with 503 whose ACK should be absorbed; a bounded FIFO. */
const REJECTED_MEMORY = 1024;

function topVia(message: SipMessage): Via | undefined {
  const via = message.headers.via;
  return Array.isArray(via) ? via[0] : undefined;
}

export class TransactionLayer extends EventEmitter<TransactionLayerEvents> {
  /** @internal */
  readonly timers: TimerQueue;
  /** @internal */
  readonly values: TimerValues;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  /** RFC 2543 server transactions by the key a response or ACK can compute. */
  private readonly legacyServers = new Map<string, ServerTransaction>();
  private readonly rejected = new Set<string>();
  private readonly maxServerTransactions: number;
  private readonly admit: TransactionLayerOptions['admit'];
  private readonly retryAfter: number;
  private readonly onRequest: TransactionLayerOptions['onRequest'];
  private readonly onAck: TransactionLayerOptions['onAck'];
  private readonly onStrayResponse: TransactionLayerOptions['onStrayResponse'];
  private closed = false;
  private readonly counters = {
    clientCreated: 0,
    serverCreated: 0,
    terminated: 0,
    absorbed: 0,
    timeouts: 0,
    transportErrors: 0,
    strayResponses: 0,
    overloadRejected: 0,
    overloadDropped: 0,
    tuErrors: 0,
    dropped: 0,
    serverLookups: 0,
  };
  private readonly retransmissions: Record<RetransmitReason, number> = { A: 0, E: 0, G: 0, request: 0, response: 0 };
  /** The host interface handed to transactions (keeps the internals off the public surface). */
  private readonly host: TransactionHost;

  constructor(options: TransactionLayerOptions) {
    super();
    const t1 = positive('t1', options.t1, 500);
    const t2 = positive('t2', options.t2, 4000);
    const t4 = positive('t4', options.t4, 5000);
    const ringTimeLimit = positive('ringTimeLimit', options.ringTimeLimit, 180000, true);
    // With no ring limit there is no answer limit either, unless one is given.
    const answerDefault = ringTimeLimit > 0 ? ringTimeLimit + 64 * t1 : 0;
    const answerTimeLimit = positive('answerTimeLimit', options.answerTimeLimit, answerDefault, true);
    this.values = { t1, t2, t4, ringTimeLimit, answerTimeLimit, tryingDelay: 200 };
    this.maxServerTransactions = positive('maxServerTransactions', options.maxServerTransactions, defaultMaxServerTransactions());
    this.admit = options.admit;
    this.retryAfter = positive('retryAfter', options.retryAfter, 5, true);
    this.timers = new TimerQueue(options.clock ?? realClock, (e) => this.emit('internalError', e));
    if (typeof options.onRequest !== 'function') {
      throw new TransactionError('ERR_INVALID_OPTION', 'onRequest must be a function');
    }
    this.onRequest = options.onRequest;
    this.onAck = options.onAck;
    this.onStrayResponse = options.onStrayResponse;
    this.host = {
      timers: this.timers,
      values: this.values,
      serialize: (m) => encoder.encode(stringify(m)),
      text: stringify,
      encode: (text) => encoder.encode(text),
      stateChanged: (tx, from, to) => this.stateChanged(tx, from, to),
      retransmitted: (tx, reason) => {
        this.retransmissions[reason]++;
        this.emit('retransmit', tx, reason);
      },
      timedOut: (tx, timer) => {
        this.counters.timeouts++;
        this.emit('timeout', tx, timer);
      },
      transportFailed: (tx, error) => {
        this.counters.transportErrors++;
        this.emit('transportError', error, tx);
      },
      tuFailed: (error, message) => this.tuFailed(error, message),
      internalError: (error) => this.emit('internalError', error),
      startClient: (request, transport, target, onResponse, sendOptions) => {
        this.sendRequest(request, transport, target, onResponse, sendOptions);
      },
    };
  }

  /**
   * Creates a client transaction for `request` and sends it to `target` over `transport`
   * (RFC 3261 §17.1). Sets a fresh `z9hG4bK` branch on the top Via, except for CANCEL, which
   * keeps the branch of the request it cancels (§9.1). The top Via must otherwise be filled in.
   * `onResponse` gets every response the TU must see: provisional, final, 2xx retransmissions
   * of an INVITE; a timeout as a synthesised 408 and a transport failure as a synthesised 503
   * (`remote` undefined for those two).
   * `serialized`: the request already serialised by the caller, with its top Via branch chosen
   * (a `z9hG4bK` one): the layer keeps that branch and sends and retransmits exactly these bytes,
   * so a caller that measured them (RFC 3261 §18.1.1) never serialises twice.
   * Throws TransactionError: ERR_SHUTDOWN, ERR_INVALID_REQUEST, ERR_TRANSACTION_EXISTS; and
   * whatever `stringify` throws for a malformed request.
   */
  sendRequest(
    request: SipRequest,
    transport: Transport,
    target: Remote,
    onResponse: ResponseHandler,
    sendOptions?: SendOptions,
    serialized?: Uint8Array,
  ): ClientTransaction {
    if (this.closed) throw new TransactionError('ERR_SHUTDOWN', 'the transaction layer was shut down');
    const method = request.method;
    if (method === 'ACK') {
      throw new TransactionError('ERR_INVALID_REQUEST', 'ACK has no client transaction; send it directly');
    }
    const via = topVia(request);
    const cseq = request.headers.cseq;
    if (!via || typeof via !== 'object') throw new TransactionError('ERR_INVALID_REQUEST', 'the request has no Via');
    if (!cseq || typeof cseq.method !== 'string') throw new TransactionError('ERR_INVALID_REQUEST', 'the request has no CSeq');
    if (typeof request.headers['call-id'] !== 'string') {
      throw new TransactionError('ERR_INVALID_REQUEST', 'the request has no Call-ID');
    }
    via.params ??= {};
    let branch: string;
    const given = branchOf(via);
    if (given !== undefined && (method === 'CANCEL' || (serialized !== undefined && hasBranchCookie(given)))) branch = given;
    else if (serialized !== undefined) {
      throw new TransactionError('ERR_INVALID_REQUEST', 'a request passed serialised must carry its z9hG4bK branch');
    } else {
      branch = generateBranch();
      via.params.branch = branch;
    }
    const key = clientKey(branch, cseq.method);
    if (this.clients.has(key)) {
      throw new TransactionError('ERR_TRANSACTION_EXISTS', `a ${cseq.method} client transaction with branch ${branch} exists`);
    }
    const tx =
      method === 'INVITE'
        ? new InviteClientTransaction(this.host, request, branch, transport, target, onResponse, sendOptions, serialized)
        : new NonInviteClientTransaction(this.host, request, branch, transport, target, onResponse, sendOptions, serialized);
    tx.key = key;
    this.clients.set(key, tx);
    this.counters.clientCreated++;
    this.emit('created', tx);
    tx.start();
    return tx;
  }

  /**
   * Every message a transport delivers comes here (RFC 3261 §17.1.3 and §17.2.3). It is
   * absorbed (a retransmission, an ACK for a non-2xx), handed to its transaction, or reported
   * through onRequest / onAck / onStrayResponse.
   */
  receive(message: SipMessage, remote: Remote, transport: Transport): void {
    if (this.closed) return this.drop(message, remote, 'shutdown');
    const via = topVia(message);
    if (!via || typeof via !== 'object' || !via.params || typeof via.host !== 'string') {
      return this.drop(message, remote, 'missing-via');
    }
    const cseq = message.headers.cseq;
    if (!cseq || typeof cseq.method !== 'string' || typeof cseq.seq !== 'number') {
      return this.drop(message, remote, 'missing-cseq');
    }
    if (typeof message.headers['call-id'] !== 'string') return this.drop(message, remote, 'missing-call-id');
    if ('method' in message && typeof message.method === 'string') this.receiveRequest(message, via, remote, transport);
    else this.receiveResponse(message as SipResponse, via, remote, transport);
  }

  /**
   * The server transaction a response from the TU belongs to (built with makeResponse: same
   * Via, Call-ID and CSeq as the request), or undefined.
   */
  findServerTransaction(response: SipResponse): ServerTransaction | undefined {
    // Counted: a TU answering through the transaction it was handed never comes here.
    this.counters.serverLookups++;
    const via = topVia(response);
    const cseq = response.headers.cseq;
    const callId = response.headers['call-id'];
    if (!via || !via.params || typeof via.host !== 'string' || !cseq || typeof callId !== 'string') return undefined;
    const branch = branchOf(via);
    if (hasBranchCookie(branch)) return this.servers.get(serverKey(branch, via, callId, cseq.method));
    const f = legacyFields(via, callId, response.headers.from, response.headers.to, cseq.seq);
    return this.legacyServers.get(legacyDialogKey(f, cseq.method));
  }

  /** The client transaction with this branch and (CSeq) method, e.g. the INVITE a CANCEL targets. */
  findClientTransaction(branch: string, method: string): ClientTransaction | undefined {
    return this.clients.get(clientKey(branch, method));
  }

  size(): TransactionCounts {
    return { client: this.clients.size, server: this.servers.size };
  }

  stats(): TransactionStats {
    return {
      client: this.clients.size,
      server: this.servers.size,
      timers: this.timers.size,
      ...this.counters,
      retransmissions: { ...this.retransmissions },
    };
  }

  /**
   * Terminates every transaction without telling the TU, clears every timer, and refuses
   * further work (sendRequest throws ERR_SHUTDOWN, receive drops).
   */
  shutdown(): void {
    this.closed = true;
    for (const tx of [...this.clients.values()]) tx.terminate();
    for (const tx of [...this.servers.values()]) tx.terminate();
    this.clients.clear();
    this.servers.clear();
    this.legacyServers.clear();
    this.rejected.clear();
    this.timers.clear();
  }

  private drop(message: SipMessage, remote: Remote, reason: DropReason): void {
    this.counters.dropped++;
    this.emit('drop', message, remote, reason);
  }

  private tuFailed(error: unknown, message: SipMessage): void {
    this.counters.tuErrors++;
    this.emit('tuError', error, message);
  }

  private stateChanged(tx: Transaction, from: TransactionState, to: TransactionState): void {
    if (to === 'terminated') {
      this.counters.terminated++;
      if (tx instanceof ServerTransaction) {
        if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
        if (tx.key2 && this.legacyServers.get(tx.key2) === tx) this.legacyServers.delete(tx.key2);
      } else if (this.clients.get(tx.key) === tx) {
        this.clients.delete(tx.key);
      }
    }
    this.emit('state', tx, from, to);
  }

  private receiveResponse(response: SipResponse, via: Via, remote: Remote, transport: Transport): void {
    const branch = branchOf(via);
    const tx = branch === undefined ? undefined : this.clients.get(clientKey(branch, response.headers.cseq!.method));
    if (tx) {
      tx.receiveResponse(response, remote);
      return;
    }
    this.counters.strayResponses++;
    if (!this.onStrayResponse) return;
    try {
      this.onStrayResponse(response, remote, transport);
    } catch (e) {
      this.tuFailed(e, response);
    }
  }

  private receiveRequest(request: SipRequest, via: Via, remote: Remote, transport: Transport): void {
    const method = request.method;
    const h = request.headers;
    const callId = h['call-id']!;
    const cseq = h.cseq!;
    const branch = branchOf(via);
    const modern = hasBranchCookie(branch);
    const legacy = modern ? undefined : legacyFields(via, callId, h.from, h.to, cseq.seq);
    const uri = modern ? '' : uriKey(request.uri);

    if (method === 'ACK') {
      let invite: ServerTransaction | undefined;
      if (modern) invite = this.servers.get(serverKey(branch, via, callId, 'INVITE'));
      else {
        // RFC 3261 §17.2.3: Request-URI, From tag, Call-ID, CSeq number and top Via equal to the
        // INVITE's, and the To tag equal to that of the response the transaction sent.
        const candidate = this.legacyServers.get(legacyDialogKey(legacy!, 'INVITE'));
        if (
          candidate instanceof InviteServerTransaction &&
          candidate.requestUri === uri &&
          candidate.responseToTag === legacy!.toTag
        ) {
          invite = candidate;
        }
      }
      if (invite instanceof InviteServerTransaction) {
        if (!invite.receiveAck()) {
          this.counters.absorbed++;
          return;
        }
      } else if (modern && this.rejected.delete(serverKey(branch, via, callId, 'INVITE'))) {
        this.counters.absorbed++; // the ACK for an overload 503
        return;
      }
      if (!this.onAck) return;
      try {
        this.onAck(request, remote, transport);
      } catch (e) {
        this.tuFailed(e, request);
      }
      return;
    }

    const key = modern ? serverKey(branch, via, callId, method) : legacyRequestKey(uri, legacy!, method);
    const existing = this.servers.get(key);
    if (existing) {
      existing.receiveRetransmission();
      this.counters.absorbed++;
      return;
    }

    // RFC 3261 §9.2: a CANCEL is matched against the INVITE as if its method were INVITE.
    let invite: InviteServerTransaction | undefined;
    if (method === 'CANCEL') {
      const target = this.servers.get(
        modern ? serverKey(branch, via, callId, 'INVITE') : legacyRequestKey(uri, legacy!, 'INVITE'),
      );
      if (target instanceof InviteServerTransaction) invite = target;
    }

    if (!invite) {
      let decision: AdmissionDecision = this.servers.size >= this.maxServerTransactions ? 'reject' : 'accept';
      if (decision === 'accept' && this.admit !== undefined && method !== 'CANCEL' && typeof h.to?.params.tag !== 'string') {
        decision = this.admit(request, remote);
      }
      if (decision === 'reject') {
        this.rejectOverload(request, remote, transport, modern ? serverKey(branch, via, callId, 'INVITE') : '');
        return;
      }
      if (decision === 'drop') {
        this.counters.overloadDropped++;
        this.emit('overload', request, remote, 'drop');
        return;
      }
    }

    const tx =
      method === 'INVITE'
        ? new InviteServerTransaction(this.host, request, detachString(branch ?? ''), transport, remote)
        : new NonInviteServerTransaction(this.host, detachString(method), detachString(branch ?? ''), transport, remote);
    tx.key = detachString(key);
    this.servers.set(tx.key, tx);
    if (!modern) {
      tx.key2 = detachString(legacyDialogKey(legacy!, method));
      this.legacyServers.set(tx.key2, tx);
      if (tx instanceof InviteServerTransaction) tx.requestUri = detachString(uri);
    }
    this.counters.serverCreated++;
    this.emit('created', tx);
    if (invite) {
      tx.linkInvite(invite);
      invite.cancelReceived();
    }
    try {
      this.onRequest(request, remote, tx);
    } catch (e) {
      this.tuFailed(e, request);
      if (!tx.finalSent) tx.send(makeResponse(request, 500, undefined, { toTag: true }));
    }
  }

  private rejectOverload(request: SipRequest, remote: Remote, transport: Transport, inviteKey: string): void {
    this.counters.overloadRejected++;
    this.emit('overload', request, remote, 'reject');
    if (request.method === 'INVITE' && inviteKey) {
      this.rejected.add(inviteKey);
      if (this.rejected.size > REJECTED_MEMORY) {
        const oldest = this.rejected.values().next().value;
        if (oldest !== undefined) this.rejected.delete(oldest);
      }
    }
    const extra = this.retryAfter > 0 ? { 'retry-after': String(Math.ceil(this.retryAfter)) } : undefined;
    let bytes: Uint8Array;
    try {
      bytes = this.host.serialize(makeResponse(request, 503, undefined, { headers: extra, toTag: true }));
    } catch {
      return;
    }
    let sent: Promise<void>;
    try {
      sent = transport.send(bytes, remote, { allowOversize: true });
    } catch (e) {
      sent = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    sent.then(undefined, (e: unknown) => {
      this.counters.transportErrors++;
      this.emit('transportError', e instanceof Error ? e : new Error(String(e)), undefined);
    });
  }
}

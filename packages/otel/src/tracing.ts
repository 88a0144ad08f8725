// OpenTelemetry traces for sipts through @opentelemetry/api only (no SDK: the application
// registers whichever provider it uses). A span per server and client transaction, per proxy
// branch and per B2BUA leg, with `sip.*` attributes; every span of one call hangs under the
// call's first span, so a call through a proxy (one Call-ID on both sides) is one trace, and a
// B2BUA's legs join it through the leg events. The call table is bounded.
import { SpanKind, SpanStatusCode, context, trace, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import type { Remote, SipMessage, SipStack, StackObserver, Transaction } from '@sipts/core';

export interface TraceOptions {
  /** Tracer to use. Default `trace.getTracer('@sipts/otel')` from the registered provider. */
  tracer?: Tracer | undefined;
  /** Calls remembered after their last span ended, so a later transaction (a BYE) links to the call. Default 10000. */
  maxEndedCalls?: number | undefined;
}

/** The parts of a stack traced (a proxy's `stack` works too). */
export type TracedStack = Pick<SipStack, 'observe'>;

interface Call {
  root: Context;
  /** Spans of the call still open. */
  open: number;
  /** The Call-IDs that name it (a B2BUA's legs join the first one). */
  ids: string[];
}

/** One call table shared by a stack, its proxy and its B2BUA, so their spans meet in one trace. */
export class SipTracer {
  readonly tracer: Tracer;
  readonly #calls = new Map<string, Call>();
  /** Ended calls, oldest first (a Map keeps insertion order): a bounded LRU of span contexts. */
  readonly #ended = new Map<string, Link>();
  readonly #maxEnded: number;
  readonly #spans = new Map<string, { span: Span; callId: string | undefined }>();
  readonly #byTx = new WeakMap<Transaction, string>();
  #last: SipMessage | undefined;

  constructor(options: TraceOptions = {}) {
    this.tracer = options.tracer ?? trace.getTracer('@sipts/otel');
    const max = options.maxEndedCalls ?? 10000;
    if (!Number.isSafeInteger(max) || max < 0) throw new TypeError('options.maxEndedCalls must be a non-negative integer');
    this.#maxEnded = max;
  }

  /** Spans open now (transactions, branches, legs). */
  get openSpans(): number {
    return this.#spans.size;
  }

  /** Trace `stack`'s transactions; returns the detach function. */
  traceStack(stack: TracedStack): () => void {
    const observer: StackObserver = {
      received: (message) => {
        this.#last = message;
        if (!('method' in message)) this.#status('client', message);
      },
      sent: (message) => {
        this.#last = message;
        if (!('method' in message)) this.#status('server', message);
      },
      transactionCreated: (tx) => this.#created(tx),
      transactionState: (tx, _from, to) => {
        if (to === 'terminated') this.#endTx(tx);
      },
      timeout: (tx, timer) => {
        const entry = this.#entryOf(tx);
        if (entry === undefined) return;
        entry.span.addEvent('sip.timeout', { 'sip.timer': timer });
        if (['B', 'F', 'H', 'ringTimeLimit', 'answerTimeLimit'].includes(timer)) entry.span.setStatus({ code: SpanStatusCode.ERROR, message: `Timer ${timer} fired` });
      },
      retransmit: (tx, reason) => this.#entryOf(tx)?.span.addEvent('sip.retransmission', { 'sip.retransmit.reason': reason }),
      transportError: (error, tx) => {
        const entry = tx === undefined ? undefined : this.#entryOf(tx);
        if (entry === undefined) return;
        entry.span.recordException(error);
        entry.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      },
    };
    return stack.observe(observer);
  }

  /**
   * Start a span of `kind` under the call's root (creating the call when it has none). For proxy
   * branches and B2BUA legs; `key` ends it later with `endSpan`.
   */
  startSpan(key: string, name: string, callId: string | undefined, kind: SpanKind, attributes: Record<string, string | number | boolean | undefined>): Span {
    const clean: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) clean[k] = v;
    let span: Span;
    const call = callId === undefined ? undefined : this.#calls.get(callId);
    if (call !== undefined) {
      span = this.tracer.startSpan(name, { kind, attributes: clean }, call.root);
      call.open++;
    } else {
      const previous = callId === undefined ? undefined : this.#ended.get(callId);
      span = this.tracer.startSpan(name, { kind, attributes: clean, root: true, ...(previous !== undefined ? { links: [previous] } : {}) });
      if (callId !== undefined) {
        this.#ended.delete(callId);
        this.#calls.set(callId, { root: trace.setSpan(context.active(), span), open: 1, ids: [callId] });
      }
    }
    const old = this.#spans.get(key);
    if (old !== undefined) this.endSpan(key);
    this.#spans.set(key, { span, callId });
    return span;
  }

  /** The span started under `key`, if still open. */
  span(key: string): Span | undefined {
    return this.#spans.get(key)?.span;
  }

  /** End the span started under `key` (with `status` as `sip.status_code`); the call is forgotten when its last span ends. */
  endSpan(key: string, status?: number | undefined): void {
    const entry = this.#spans.get(key);
    if (entry === undefined) return;
    this.#spans.delete(key);
    if (status !== undefined) setStatusCode(entry.span, status);
    entry.span.end();
    const callId = entry.callId;
    if (callId === undefined) return;
    const call = this.#calls.get(callId);
    if (call === undefined || --call.open > 0) return;
    for (const id of call.ids) this.#calls.delete(id);
    if (this.#maxEnded === 0) return;
    const root = trace.getSpan(call.root);
    if (root !== undefined) this.#ended.set(callId, { context: root.spanContext() });
    if (this.#ended.size > this.#maxEnded) {
      const oldest = this.#ended.keys().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }

  /** Make `otherCallId` (a B2BUA's other leg) part of `callId`'s trace while that call is open. */
  joinCall(otherCallId: string, callId: string): boolean {
    const call = this.#calls.get(callId);
    if (call === undefined || this.#calls.has(otherCallId)) return false;
    // The same call under a second name: its spans count in the same table entry.
    call.ids.push(otherCallId);
    this.#calls.set(otherCallId, call);
    return true;
  }

  // ---------------------------------------------------------------- transactions

  #created(tx: Transaction): void {
    const m = this.#last;
    const matches = m !== undefined && topBranch(m) === tx.branch && m.headers.cseq?.method === tx.method;
    const callId = matches ? (m.headers['call-id'] as string | undefined) : undefined;
    const server = tx.kind === 'invite-server' || tx.kind === 'non-invite-server';
    const key = txKey(server ? 'server' : 'client', tx.branch, tx.method);
    this.#byTx.set(tx, key);
    this.startSpan(key, `SIP ${tx.method}`, callId, server ? SpanKind.SERVER : SpanKind.CLIENT, {
      'sip.method': tx.method,
      'sip.call_id': callId,
      'sip.branch': tx.branch,
      'sip.transaction.kind': tx.kind,
      'sip.cseq': matches ? m.headers.cseq?.seq : undefined,
      'sip.request_uri': matches && 'method' in m ? String(m.uri) : undefined,
      ...peer(tx.remote),
    });
  }

  #entryOf(tx: Transaction): { span: Span } | undefined {
    const key = this.#byTx.get(tx);
    return key === undefined ? undefined : this.#spans.get(key);
  }

  #endTx(tx: Transaction): void {
    const key = this.#byTx.get(tx);
    if (key !== undefined) this.endSpan(key);
  }

  #status(side: 'server' | 'client', response: SipMessage): void {
    if ('method' in response) return;
    const branch = topBranch(response);
    const method = response.headers.cseq?.method;
    if (branch === undefined || method === undefined) return;
    const entry = this.#spans.get(txKey(side, branch, method));
    if (entry === undefined) return;
    if (response.status >= 200) setStatusCode(entry.span, response.status);
    else entry.span.addEvent('sip.provisional', { 'sip.status_code': response.status });
  }
}

function txKey(side: string, branch: string, method: string): string {
  return `${side}\u0000${branch}\u0000${method}`;
}

function topBranch(message: SipMessage): string | undefined {
  const via = message.headers.via;
  const branch = Array.isArray(via) ? via[0]?.params?.branch : undefined;
  return typeof branch === 'string' ? branch : undefined;
}

function peer(remote: Remote): Record<string, string | number> {
  return { 'network.transport': remote.protocol.toLowerCase(), 'network.peer.address': remote.address, 'network.peer.port': remote.port };
}

function setStatusCode(span: Span, status: number): void {
  span.setAttribute('sip.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `SIP ${status}` });
}

/** Trace a stack with a new `SipTracer`; returns the tracer (for proxies and B2BUAs) and detach. */
export function traceStack(stack: TracedStack, options: TraceOptions = {}): { tracer: SipTracer; detach: () => void } {
  const tracer = new SipTracer(options);
  return { tracer, detach: tracer.traceStack(stack) };
}

// Prometheus metrics for sipts, through prom-client. Every counter is read from a `stats()` at
// scrape time (prom-client `collect()`), so `stats()` and `/metrics` never disagree; the only
// event-driven series are the proxy outcomes (`contextReleased` has no counter of its own) and
// the event-loop delay. Names follow Prometheus conventions: `sipts_` prefix, `_total` counters,
// `_seconds`/`_bytes` units, and bounded label sets (methods are the known ones plus `other`,
// statuses are classes): never a Call-ID, a user or an address as a label.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import { COUNTED_METHODS, STATUS_CLASSES, TRANSACTION_KINDS, type StackStats } from '@sipts/core';
import { MetricsError } from './errors.js';
import type { B2buaSource, DialogSource, HepSource, ProxyReleasedShape, ProxySource, RegistrarSource, StackSource } from './sources.js';

export interface SipMetricsOptions {
  /** Registry to register in. Default: a new one (`metrics.registry`). */
  registry?: Registry | undefined;
  /** Name prefix. Default `sipts_`. */
  prefix?: string | undefined;
  /** Export `<prefix>event_loop_delay_seconds` (perf_hooks, 10 ms resolution). Default true. */
  eventLoopDelay?: boolean | undefined;
}

type Sample = [labels: Record<string, string>, value: number];
type Samples = Sample[] | Promise<Sample[]>;

const RESPONSE_CLASSES = new Set<string>(STATUS_CLASSES);
const PROXY_OUTCOME_REASONS = new Set(['final', 'cancelled', 'timeout', 'error', 'stopped']);

function statusClass(status: number | undefined): string {
  if (status === undefined || !Number.isFinite(status)) return 'none';
  const c = `${Math.floor(status / 100)}xx`;
  return RESPONSE_CLASSES.has(c) ? c : 'none';
}

function sum<T>(sources: readonly T[], read: (source: T) => number): number {
  let total = 0;
  for (const s of sources) total += read(s);
  return total;
}

/** The metrics of any number of stacks, proxies, registrars, dialog UAs and HEP captures. */
export class SipMetrics {
  readonly registry: Registry;
  readonly #prefix: string;
  readonly #stacks: StackSource[] = [];
  readonly #proxies: ProxySource[] = [];
  readonly #registrars: RegistrarSource[] = [];
  readonly #dialogs: DialogSource[] = [];
  readonly #b2buas: B2buaSource[] = [];
  readonly #heps: HepSource[] = [];
  readonly #detach: (() => void)[] = [];
  readonly #outcomes = new Map<string, number>();
  readonly #loop: IntervalHistogram | undefined;
  #defined = new Set<string>();

  /** Throws `MetricsError` `ERR_INVALID_OPTION`. */
  constructor(options: SipMetricsOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new MetricsError('ERR_INVALID_OPTION', 'options must be an object');
    const prefix = options.prefix ?? 'sipts_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new MetricsError('ERR_INVALID_OPTION', 'options.prefix must be a valid metric name prefix');
    if (options.registry !== undefined && !(options.registry instanceof Registry)) throw new MetricsError('ERR_INVALID_OPTION', 'options.registry must be a prom-client Registry');
    this.registry = options.registry ?? new Registry();
    this.#prefix = prefix;
    if (options.eventLoopDelay !== false) {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      this.#loop = loop;
      this.#gauge('event_loop_delay_seconds', 'Event-loop delay since the previous scrape (perf_hooks monitorEventLoopDelay)', ['quantile'], () => {
        const samples: Sample[] = [
          [{ quantile: '0.5' }, loop.percentile(50) / 1e9],
          [{ quantile: '0.99' }, loop.percentile(99) / 1e9],
          [{ quantile: '1' }, loop.max / 1e9],
        ];
        loop.reset();
        return samples;
      });
    }
  }

  /** Export a `@sipts/core` stack's `stats()` (several stacks are summed). */
  addStack(stack: StackSource): this {
    if (typeof stack?.stats !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addStack() needs an object with stats()');
    this.#stacks.push(stack);
    if (this.#stacks.length === 1) this.#defineStack();
    return this;
  }

  /** Export a `@sipts/proxy` proxy's `stats()` and count its outcomes (`contextReleased`). */
  addProxy(proxy: ProxySource): this {
    if (typeof proxy?.stats !== 'function' || typeof proxy.on !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addProxy() needs a SipProxy');
    this.#proxies.push(proxy);
    const listener = (event: ProxyReleasedShape): void => {
      const method = (COUNTED_METHODS as readonly string[]).includes(event.method) ? event.method : 'other';
      const reason = PROXY_OUTCOME_REASONS.has(event.reason) ? event.reason : 'other';
      const key = `${method}\u0000${reason}\u0000${statusClass(event.status)}`;
      this.#outcomes.set(key, (this.#outcomes.get(key) ?? 0) + 1);
    };
    proxy.on('contextReleased', listener);
    this.#detach.push(() => proxy.off('contextReleased', listener));
    if (this.#proxies.length === 1) this.#defineProxy();
    return this;
  }

  /** Export a `@sipts/registrar` registrar's `stats()`. */
  addRegistrar(registrar: RegistrarSource): this {
    if (typeof registrar?.stats !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addRegistrar() needs an object with stats()');
    this.#registrars.push(registrar);
    if (this.#registrars.length === 1) this.#defineRegistrar();
    return this;
  }

  /** Export a `@sipts/dialog` UA's `stats()`. */
  addDialogUA(ua: DialogSource): this {
    if (typeof ua?.stats !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addDialogUA() needs an object with stats()');
    this.#dialogs.push(ua);
    if (this.#dialogs.length === 1) {
      const d = this.#dialogs;
      this.#gauge('dialogs', 'Dialogs in the UA table, early ones included', [], () => [[{}, sum(d, (u) => u.stats().dialogs)]]);
      this.#gauge('dialog_incoming_calls', 'Incoming INVITEs without a final response yet', [], () => [[{}, sum(d, (u) => u.stats().incoming)]]);
      this.#counter('dialogs_created_total', 'Dialogs created', [], () => [[{}, sum(d, (u) => u.stats().dialogsCreated)]]);
      this.#counter('dialogs_terminated_total', 'Dialogs ended', [], () => [[{}, sum(d, (u) => u.stats().dialogsTerminated)]]);
      this.#counter('dialog_unknown_total', 'In-dialog requests answered 481', [], () => [[{}, sum(d, (u) => u.stats().unknownDialog)]]);
    }
    return this;
  }

  /** Export a B2BUA's calls and legs (the interface a B2BUA package must implement; see README). */
  addB2bua(b2bua: B2buaSource): this {
    if (typeof b2bua?.stats !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addB2bua() needs an object with stats()');
    this.#b2buas.push(b2bua);
    if (this.#b2buas.length === 1) {
      const b = this.#b2buas;
      this.#gauge('b2bua_calls', 'B2BUA calls in progress', [], () => [[{}, sum(b, (x) => x.stats().calls)]]);
      this.#gauge('b2bua_legs', 'B2BUA legs in progress', [], () => [[{}, sum(b, (x) => x.stats().legs)]]);
      this.#counter('b2bua_calls_created_total', 'B2BUA calls created', [], () => [[{}, sum(b, (x) => x.stats().callsCreated)]]);
      this.#counter('b2bua_calls_ended_total', 'B2BUA calls ended, by outcome', ['outcome'], () => {
        const totals = new Map<string, number>();
        for (const x of b) for (const [outcome, n] of Object.entries(x.stats().callsEnded)) totals.set(outcome, (totals.get(outcome) ?? 0) + n);
        return [...totals].slice(0, 32).map(([outcome, n]) => [{ outcome }, n]);
      });
    }
    return this;
  }

  /** Export a `@sipts/hep` capture's counters. */
  addHep(capture: HepSource): this {
    if (typeof capture?.stats !== 'function') throw new MetricsError('ERR_INVALID_OPTION', 'addHep() needs an object with stats()');
    this.#heps.push(capture);
    if (this.#heps.length === 1) {
      const h = this.#heps;
      this.#counter('hep_packets_total', 'HEP packets by outcome (sent, dropped by the bounded queue, lost to a socket error, unencodable)', ['outcome'], () => [
        [{ outcome: 'sent' }, sum(h, (x) => x.stats().sent)],
        [{ outcome: 'dropped' }, sum(h, (x) => x.stats().dropped)],
        [{ outcome: 'error' }, sum(h, (x) => x.stats().errors)],
        [{ outcome: 'unencodable' }, sum(h, (x) => x.stats().unencodable)],
      ]);
      this.#gauge('hep_queued', 'HEP packets in flight or waiting for the collector connection', [], () => [[{}, sum(h, (x) => x.stats().queued)]]);
    }
    return this;
  }

  /** The exposition text (what `/metrics` serves). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stop listening to proxies and sampling the event loop; unregister nothing else. */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
    this.#loop?.disable();
  }

  // ---------------------------------------------------------------- definitions

  #defineStack(): void {
    const stacks = this.#stacks;
    const all = (): StackStats[] => stacks.map((s) => s.stats());
    const byMethod = (read: (s: StackStats) => Record<string, number>): Sample[] => {
      const list = all();
      return COUNTED_METHODS.map((method) => [{ method }, sum(list, (s) => read(s)[method] ?? 0)]);
    };
    const byMethodAndClass = (read: (s: StackStats) => Record<string, Record<string, number>>): Sample[] => {
      const list = all();
      const out: Sample[] = [];
      for (const method of COUNTED_METHODS) for (const c of STATUS_CLASSES) out.push([{ method, class: c }, sum(list, (s) => read(s)[method]?.[c] ?? 0)]);
      return out;
    };
    this.#counter('requests_received_total', 'SIP requests received, by method (retransmissions included)', ['method'], () => byMethod((s) => s.requestsReceived));
    this.#counter('requests_sent_total', 'SIP requests sent, by method (retransmissions not included)', ['method'], () => byMethod((s) => s.requestsSent));
    this.#counter('responses_received_total', 'SIP responses received, by CSeq method and status class', ['method', 'class'], () => byMethodAndClass((s) => s.responsesReceived));
    this.#counter('responses_sent_total', 'SIP responses sent, by CSeq method and status class', ['method', 'class'], () => byMethodAndClass((s) => s.responsesSent));
    this.#gauge('transactions', 'Live transactions, by kind', ['kind'], () => {
      const list = all();
      return TRANSACTION_KINDS.map((kind) => [{ kind }, sum(list, (s) => s.transactionsLive[kind])]);
    });
    this.#counter('transactions_created_total', 'Transactions created, by side', ['side'], () => {
      const list = all();
      return [
        [{ side: 'client' }, sum(list, (s) => s.clientCreated)],
        [{ side: 'server' }, sum(list, (s) => s.serverCreated)],
      ];
    });
    this.#counter('retransmissions_total', 'Messages sent again: timers A/E/G, a repeated request answered, an ACK resent', ['reason'], () => {
      const list = all();
      return (['A', 'E', 'G', 'request', 'response'] as const).map((reason) => [{ reason }, sum(list, (s) => s.retransmissions[reason])]);
    });
    this.#counter('timeouts_total', 'Transaction timeouts, by timer (B, F, H, ringTimeLimit, ...)', ['timer'], () => {
      const totals = new Map<string, number>();
      for (const s of all()) for (const [timer, n] of Object.entries(s.timeoutsByTimer)) totals.set(timer, (totals.get(timer) ?? 0) + (n ?? 0));
      return [...totals].map(([timer, n]) => [{ timer }, n]);
    });
    this.#counter('parse_errors_total', 'Messages the transports refused to parse, by parser code', ['code'], () => {
      const totals = new Map<string, number>();
      for (const s of all()) for (const [code, n] of Object.entries(s.parseErrors)) totals.set(code, (totals.get(code) ?? 0) + n);
      return [...totals].map(([code, n]) => [{ code }, n]);
    });
    const transportSeries = (field: string): Sample[] => {
      const totals = new Map<string, number>();
      for (const s of all()) {
        for (const [transport, t] of Object.entries(s.transports)) {
          const v = t?.[field];
          if (typeof v === 'number') totals.set(transport, (totals.get(transport) ?? 0) + v);
        }
      }
      return [...totals].map(([transport, n]) => [{ transport }, n]);
    };
    this.#gauge('connections', 'Open stream connections, by transport', ['transport'], () => transportSeries('connections'));
    this.#counter('transport_messages_received_total', 'Valid messages the transports delivered', ['transport'], () => transportSeries('received'));
    this.#counter('transport_messages_sent_total', 'Messages handed to the transports (retransmissions included)', ['transport'], () => transportSeries('sent'));
    this.#counter('transport_received_bytes_total', 'Bytes received, by transport', ['transport'], () => transportSeries('bytesReceived'));
    this.#counter('transport_sent_bytes_total', 'Bytes sent, by transport', ['transport'], () => transportSeries('bytesSent'));
    this.#counter('shed_total', 'New requests shed without a transaction: answered 503 (reject) or dropped', ['decision'], () => {
      const list = all();
      return [
        [{ decision: 'reject' }, sum(list, (s) => s.overloadRejected)],
        [{ decision: 'drop' }, sum(list, (s) => s.overloadDropped)],
      ];
    });
    this.#gauge('overload_state', 'Load shedding state (1 for the current one)', ['state'], () => {
      const list = all();
      return (['normal', 'shedding', 'dropping'] as const).map((state) => [{ state }, list.some((s) => (s.overload?.state ?? 'normal') === state) ? 1 : 0]);
    });
    this.#counter('rate_limited_total', 'Requests dropped because their source was banned by the rate limiter', [], () => [[{}, sum(all(), (s) => s.rateLimit?.dropped ?? 0)]]);
    this.#counter('rate_limit_bans_total', 'Sources banned by the rate limiter', [], () => [[{}, sum(all(), (s) => s.rateLimit?.bans ?? 0)]]);
    this.#counter('transport_errors_total', 'Sends a transport rejected', [], () => [[{}, sum(all(), (s) => s.transportErrors)]]);
    this.#counter('stray_responses_total', 'Responses that matched no client transaction', [], () => [[{}, sum(all(), (s) => s.strayResponses)]]);
    this.#counter('stateless_sent_total', 'Messages sent without a transaction', [], () => [[{}, sum(all(), (s) => s.statelessSent)]]);
  }

  #defineProxy(): void {
    const p = this.#proxies;
    const field = (name: string, help: string, read: (s: ReturnType<ProxySource['stats']>) => number): void =>
      this.#counter(name, help, [], () => [[{}, sum(p, (x) => read(x.stats()))]]);
    this.#gauge('proxy_contexts', 'Proxy contexts without a final response sent upstream yet', [], () => [[{}, sum(p, (x) => x.stats().contexts)]]);
    field('proxy_contexts_created_total', 'Proxy contexts created', (s) => s.contextsCreated);
    field('proxy_branches_total', 'Proxy branches (client transactions) started', (s) => s.branches);
    field('proxy_branches_cancelled_total', 'Proxy branches cancelled', (s) => s.branchesCancelled);
    field('proxy_branches_timed_out_total', 'Proxy branches given up by their timeout', (s) => s.branchesTimedOut);
    field('proxy_branches_refused_total', 'Proxy branches refused past maxBranches', (s) => s.branchesRefused);
    field('proxy_loops_detected_total', 'Requests answered 482 Loop Detected', (s) => s.loopsDetected);
    field('proxy_too_many_hops_total', 'Requests answered 483 Too Many Hops', (s) => s.tooManyHops);
    field('proxy_contexts_timed_out_total', 'Proxy contexts released by contextTimeout', (s) => s.contextsTimedOut);
    field('proxy_stateless_forwarded_total', 'Requests forwarded without a context', (s) => s.statelessForwarded);
    field('proxy_cancels_received_total', 'CANCELs matched to a proxy context', (s) => s.cancelsReceived);
    this.#counter('proxy_outcomes_total', 'Proxy contexts released, by method, reason and final status class (counted while attached)', ['method', 'reason', 'class'], () =>
      [...this.#outcomes].map(([key, n]) => {
        const [method, reason, c] = key.split('\u0000') as [string, string, string];
        return [{ method, reason, class: c }, n];
      }),
    );
  }

  #defineRegistrar(): void {
    const r = this.#registrars;
    const all = (): Promise<Awaited<ReturnType<RegistrarSource['stats']>>[]> => Promise.all(r.map((x) => x.stats()));
    const field = (name: string, help: string, read: (s: Awaited<ReturnType<RegistrarSource['stats']>>) => number, gauge = false): void => {
      const collect = async (): Promise<Sample[]> => [[{}, sum(await all(), read)]];
      if (gauge) this.#gauge(name, help, [], collect);
      else this.#counter(name, help, [], collect);
    };
    field('registrar_aors', 'Addresses of record with at least one binding', (s) => s.aors, true);
    field('registrar_bindings', 'Registered contacts (bindings)', (s) => s.bindings, true);
    field('registrar_registers_total', 'REGISTER requests answered', (s) => s.registers);
    field('registrar_bindings_added_total', 'Bindings added', (s) => s.added);
    field('registrar_bindings_refreshed_total', 'Bindings refreshed', (s) => s.refreshed);
    field('registrar_bindings_removed_total', 'Bindings removed (unregistered, flow closed)', (s) => s.removed);
    field('registrar_bindings_expired_total', 'Bindings expired', (s) => s.expired);
    field('registrar_lookups_total', 'Location lookups', (s) => s.lookups);
    field('registrar_store_errors_total', 'Binding store failures', (s) => s.storeErrors);
    field('registrar_auth_failures_total', 'Digest verifications that failed', (s) => s.authFailures);
    this.#counter('registrar_responses_total', 'REGISTER responses, by status class', ['class'], async () => {
      const totals = new Map<string, number>();
      for (const s of await all()) for (const [status, n] of Object.entries(s.responses)) {
        const c = statusClass(Number(status));
        totals.set(c, (totals.get(c) ?? 0) + n);
      }
      return [...totals].map(([c, n]) => [{ class: c }, n]);
    });
  }

  // ---------------------------------------------------------------- helpers

  #check(name: string): string {
    const full = this.#prefix + name;
    if (this.#defined.has(full)) throw new MetricsError('ERR_INVALID_OPTION', `metric ${full} defined twice`);
    this.#defined.add(full);
    return full;
  }

  /** A counter whose value is set from `read()` at scrape time. */
  #counter(name: string, help: string, labelNames: string[], read: () => Samples): void {
    const registry = this.registry;
    new Counter({
      name: this.#check(name),
      help,
      labelNames,
      registers: [registry],
      async collect(this: Counter<string>) {
        const samples = await read();
        this.reset();
        for (const [labels, value] of samples) if (value > 0 || labelNames.length === 0) this.inc(labels, value);
      },
    });
  }

  /** A gauge set from `read()` at scrape time. */
  #gauge(name: string, help: string, labelNames: string[], read: () => Samples): void {
    new Gauge({
      name: this.#check(name),
      help,
      labelNames,
      registers: [this.registry],
      async collect(this: Gauge<string>) {
        const samples = await read();
        this.reset();
        for (const [labels, value] of samples) this.set(labels, value);
      },
    });
  }
}

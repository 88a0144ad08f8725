// The registrar: REGISTER in, response out (RFC 3261 §10.3 with Path, outbound, GRUU and NAT
// handling), lookups out to whoever routes requests, bindings in a BindingStore (in memory by
// default, Redis for a cluster), events and counters for metrics. It never throws at a request:
// a failing store or credential lookup gives 500 (REGISTER) or an `unavailable` lookup.
import { EventEmitter } from 'node:events';
import { createDigestServer } from '@sipts/digest';
import type { DigestResult, DigestServer, DigestServerOptions } from '@sipts/digest';
import { makeResponse, parseUri, stringifyUri } from '@sipts/message';
import type { Remote, SipRequest, SipResponse, SipUri } from '@sipts/message';
import { aorKey, flat } from './contact.js';
import { RegistrarError, checkOption } from './errors.js';
import { GruuCodec, TEMP_GRUU_PREFIX, callIdTag } from './gruu.js';
import { targetsOf, type RegistrarTarget } from './lookup.js';
import { MemoryBindingStore } from './memory-store.js';
import type { NatMode } from './nat.js';
import { DEFAULT_LIMITS, planRegister, type BindingLimits, type PlanSettings, type RegisterPlan } from './register-request.js';
import { okResponse, refusalResponse } from './response.js';
import { RegistrarStats } from './stats.js';
import type { Binding, BindingStore, FlowAddress } from './types.js';

/** Who may register which AOR, once the digest check passed (default: the same user). */
export type AuthorizePolicy = (context: {
  /** The authenticated account (`DigestSuccess.user`). */
  user: string;
  /** The AOR key of the To URI. */
  aor: string;
  /** The To URI. */
  toUri: SipUri;
  request: SipRequest;
  remote: Remote;
}) => boolean | Promise<boolean>;

/** The part of a @sipts/core stack the registrar uses (flow URIs, connection closes). */
export interface RegistrarStack {
  encodeFlowUri?(flow: Remote): SipUri;
  on(event: 'connectionClose', listener: (remote: Remote) => void): unknown;
  off?(event: 'connectionClose', listener: (remote: Remote) => void): unknown;
}

export interface RegistrarOptions {
  /** Where bindings live. Default a new `MemoryBindingStore()`. */
  store?: BindingStore | undefined;
  /** Expiry given when the REGISTER names none, in s. Default 3600. */
  defaultExpires?: number | undefined;
  /** Shortest expiry accepted (423 Interval Too Brief below it), in s. Default 60. */
  minExpires?: number | undefined;
  /** Longest expiry granted (longer requests are shortened), in s. Default 7200. */
  maxExpires?: number | undefined;
  /** Most bindings per AOR; a REGISTER that would add more gets 403. Default 10. */
  maxBindingsPerAor?: number | undefined;
  /** AOR keys include the domain (`alice@example.com`) instead of the user alone. Default false. */
  useDomain?: boolean | undefined;
  /** Digest authentication of REGISTER: a `createDigestServer` or its options. Default none. */
  auth?: DigestServer | DigestServerOptions | undefined;
  /** Which authenticated user may register which AOR. Default: the To URI's user must be the user. */
  authorize?: AuthorizePolicy | undefined;
  /** NAT detection for Contacts of REGISTERs that came directly (see nat.ts). Default 'auto'. */
  nat?: NatMode | undefined;
  /** RFC 5626 Flow-Timer in s sent to outbound clients (0: none). Default 25 (UDP) / 110 (streams). */
  flowTimer?: { datagram?: number | undefined; stream?: number | undefined } | undefined;
  /** RFC 5627 GRUUs in the 200 of REGISTERs with `Supported: gruu`. Default true. */
  gruu?: boolean | undefined;
  /** Key of temporary GRUUs; share it in a cluster. Default 32 random bytes per registrar. */
  gruuSecret?: string | Uint8Array | undefined;
  /** RFC 3327 §5.3: a Path from a UA without `Supported: path`: 420 ('reject', default) or stored silently. */
  pathWithoutSupport?: 'reject' | 'store' | undefined;
  /** Retry-After (s) on 500/503 answers. Default 5. */
  retryAfter?: number | undefined;
  /** Caps on stored values (see the README). */
  limits?: Partial<BindingLimits> | undefined;
  /** Clock in ms. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** How often a store without its own expiry events is asked for expired bindings, in ms. Default 1000. */
  expireInterval?: number | undefined;
}

export interface BindingEvent {
  aor: string;
  binding: Binding;
}

export interface RegistrarEvents {
  /** A binding was added (`refreshed` false) or refreshed by a REGISTER. */
  registered: [event: BindingEvent & { refreshed: boolean }];
  /** A binding was removed: by a REGISTER (Expires 0, `*`), its flow closing, or `remove()`. */
  unregistered: [event: BindingEvent & { reason: 'register' | 'flow' | 'admin' }];
  /** A binding expired. */
  expired: [event: BindingEvent];
  /** The store failed (the request was answered 500/503); also counted in stats. */
  error: [error: RegistrarError];
}

/** What `lookup` found for a Request-URI. */
export type LookupResult =
  /** Registered: the targets, highest q first. */
  | { outcome: 'found'; aor: string; targets: RegistrarTarget[] }
  /** No live binding (for a GRUU: the instance is not registered): 480 or 404 is the caller's choice. */
  | { outcome: 'not-registered'; aor: string | undefined }
  /** A GRUU this registrar did not issue (or no longer honours): 404 (RFC 5627 §5.5). */
  | { outcome: 'unknown-gruu'; aor: string | undefined }
  /** The store could not be read: answer 503 with Retry-After. */
  | { outcome: 'unavailable'; aor: string | undefined; retryAfter: number; error: RegistrarError };

function positiveInt(v: unknown, name: string, fallback: number, allowZero = false): number {
  if (v === undefined) return fallback;
  checkOption(typeof v === 'number' && Number.isInteger(v) && (allowZero ? v >= 0 : v > 0), name, allowZero ? 'an integer >= 0' : 'a positive integer');
  return v as number;
}

function isDigestServer(v: DigestServer | DigestServerOptions): v is DigestServer {
  return typeof (v as DigestServer).verify === 'function' && typeof (v as DigestServer).challenge === 'function';
}

function flowKeyOf(f: FlowAddress): string {
  return `${f.protocol.toUpperCase()} ${f.address} ${f.port} ${f.local?.address ?? ''} ${f.local?.port ?? ''}`;
}

export class Registrar extends EventEmitter<RegistrarEvents> {
  readonly store: BindingStore;
  readonly #settings: PlanSettings;
  readonly #maxPerAor: number;
  readonly #auth: DigestServer | undefined;
  readonly #authorize: AuthorizePolicy;
  readonly #gruu: GruuCodec | undefined;
  readonly #flowTimer: { datagram: number; stream: number };
  readonly #retryAfter: number;
  readonly #now: () => number;
  readonly #stats = new RegistrarStats();
  /** Stream flows of this node -> the bindings reached over them, to drop when they close. */
  readonly #flows = new Map<string, Map<string, Set<string>>>();
  readonly #detach: (() => void)[] = [];
  #encodeFlowUri: ((flow: Remote) => SipUri) | undefined;
  #expireTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: RegistrarOptions = {}) {
    super();
    checkOption(typeof options === 'object' && options !== null, '', 'an object');
    const defaultExpires = positiveInt(options.defaultExpires, 'defaultExpires', 3600);
    const minExpires = positiveInt(options.minExpires, 'minExpires', 60, true);
    const maxExpires = positiveInt(options.maxExpires, 'maxExpires', 7200);
    checkOption(minExpires <= maxExpires, 'minExpires', 'at most maxExpires');
    const nat = options.nat ?? 'auto';
    checkOption(nat === 'auto' || nat === 'contact' || nat === 'off', 'nat', "'auto', 'contact' or 'off'");
    const pathMode = options.pathWithoutSupport ?? 'reject';
    checkOption(pathMode === 'reject' || pathMode === 'store', 'pathWithoutSupport', "'reject' or 'store'");
    const limits: BindingLimits = { ...DEFAULT_LIMITS };
    for (const [name, value] of Object.entries(options.limits ?? {})) {
      checkOption(name in DEFAULT_LIMITS, `limits.${name}`, 'a known limit');
      if (value !== undefined) limits[name as keyof BindingLimits] = positiveInt(value, `limits.${name}`, 1);
    }
    this.#settings = {
      useDomain: options.useDomain === true,
      defaultExpires: Math.min(defaultExpires, maxExpires),
      minExpires,
      maxExpires,
      nat,
      pathWithoutSupport: pathMode,
      limits,
    };
    this.#maxPerAor = positiveInt(options.maxBindingsPerAor, 'maxBindingsPerAor', 10);
    this.#retryAfter = positiveInt(options.retryAfter, 'retryAfter', 5);
    this.#flowTimer = {
      datagram: positiveInt(options.flowTimer?.datagram, 'flowTimer.datagram', 25, true),
      stream: positiveInt(options.flowTimer?.stream, 'flowTimer.stream', 110, true),
    };
    checkOption(options.now === undefined || typeof options.now === 'function', 'now', 'a function');
    this.#now = options.now ?? Date.now;
    checkOption(options.authorize === undefined || typeof options.authorize === 'function', 'authorize', 'a function');
    this.#authorize = options.authorize ?? (({ user, toUri }) => user === toUri.user);
    this.#auth = options.auth === undefined ? undefined : isDigestServer(options.auth) ? options.auth : createDigestServer(options.auth);
    this.#gruu = options.gruu === false ? undefined : new GruuCodec(options.gruuSecret);
    this.store = options.store ?? new MemoryBindingStore({ now: this.#now });
    const store = this.store;
    checkOption(typeof store.apply === 'function' && typeof store.get === 'function', 'store', 'a BindingStore');
    if (typeof store.onExpired === 'function') {
      store.onExpired((bindings) => this.#onExpired(bindings));
    } else {
      const every = positiveInt(options.expireInterval, 'expireInterval', 1000);
      this.#expireTimer = setInterval(() => void this.#poll(), every);
      this.#expireTimer.unref?.();
    }
  }

  // ------------------------------------------------------------------ REGISTER

  /**
   * Handles a REGISTER (RFC 3261 §10.3) that arrived from `remote` and resolves with the response
   * to send (200, 401, 403, 404, 400, 420, 423, 439, 500, 503). Never rejects.
   */
  async register(rq: SipRequest, remote: Remote): Promise<SipResponse> {
    const rs = await this.#register(rq, remote);
    this.#stats.response(rs.status);
    return rs;
  }

  async #register(rq: SipRequest, remote: Remote): Promise<SipResponse> {
    if (this.#closed) return this.#serverError(rq, 503, 'Registrar Stopped');
    if (this.#auth !== undefined) {
      const denied = await this.#authenticate(rq, remote);
      if (denied !== undefined) return denied;
    }
    const now = this.#now();
    const plan = planRegister(rq, remote, now, this.#settings);
    if (!('aor' in plan)) return refusalResponse(rq, plan);
    if (plan.query) {
      let bindings: Binding[];
      try {
        bindings = await this.store.get(plan.aor, now);
      } catch (e) {
        return this.#storeFailed(rq, e);
      }
      return okResponse(rq, plan, bindings, this.#okSettings(now));
    }
    this.#attachFlowUris(plan);
    let result;
    try {
      result = await this.store.apply(plan.aor, {
        callId: plan.callId,
        cseq: plan.cseq,
        removeAll: plan.removeAll,
        upserts: plan.bindings,
        now,
        maxBindings: this.#maxPerAor,
      });
    } catch (e) {
      return this.#storeFailed(rq, e);
    }
    if (!result.ok) {
      switch (result.reason) {
        case 'out-of-order':
          // §10.3 step 7: an older request than the one stored; the update is aborted.
          return makeResponse(rq, 400, 'Out-of-order CSeq');
        case 'too-many':
          // A policy limit, not overload: retrying elsewhere does not help (not 503).
          return makeResponse(rq, 403, 'Too Many Bindings');
        case 'full':
          return this.#serverError(rq, 503, 'Registrar Full');
      }
    }
    this.#stats.added += result.added.length;
    this.#stats.refreshed += result.refreshed.length;
    this.#stats.removed += result.removed.length;
    for (const b of result.removed) this.#unindexFlow(b);
    for (const b of result.added) this.#indexFlow(b);
    for (const b of result.refreshed) this.#indexFlow(b);
    for (const b of result.added) this.emit('registered', { aor: plan.aor, binding: b, refreshed: false });
    for (const b of result.refreshed) this.emit('registered', { aor: plan.aor, binding: b, refreshed: true });
    for (const b of result.removed) this.emit('unregistered', { aor: plan.aor, binding: b, reason: 'register' });
    return okResponse(rq, plan, result.bindings, this.#okSettings(now));
  }

  async #authenticate(rq: SipRequest, remote: Remote): Promise<SipResponse | undefined> {
    const auth = this.#auth as DigestServer;
    let result: DigestResult;
    try {
      result = await auth.verify(rq, { source: `${remote.protocol}:${remote.address}` });
    } catch (e) {
      this.#stats.authErrors++;
      this.#report(new RegistrarError('ERR_STORE', 'the credential lookup failed', { cause: e }));
      return this.#serverError(rq, 500, 'Credential Lookup Failed');
    }
    if (!result.ok) {
      this.#stats.authFailures++;
      if (result.reason === 'blocked') {
        // Too many failures from this user or source: not 401 (the next guess) nor 403 (phones
        // stop for good); 503 says when to come back (RFC 3261 §21.5.4).
        return makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(result.retryAfter ?? this.#retryAfter) } });
      }
      return auth.challenge(makeResponse(rq, 401, 'Unauthorized'), result);
    }
    const toUri = rq.headers.to === undefined ? undefined : (parseUri(rq.headers.to.uri) ?? undefined);
    const aor = aorKey(toUri, this.#settings.useDomain);
    if (toUri === undefined || aor === undefined) return makeResponse(rq, 404, 'Not Found');
    let allowed: boolean;
    try {
      allowed = await this.#authorize({ user: result.user, aor, toUri, request: rq, remote });
    } catch (e) {
      this.#report(new RegistrarError('ERR_STORE', 'the authorize policy failed', { cause: e }));
      return this.#serverError(rq, 500, 'Policy Failed');
    }
    // RFC 3261 §10.3 step 3: the authenticated user must be allowed to change this AOR.
    if (allowed !== true) return makeResponse(rq, 403, 'Forbidden');
    return undefined;
  }

  #okSettings(now: number): { now: number; gruu: GruuCodec | undefined; flowTimer: { datagram: number; stream: number } } {
    return { now, gruu: this.#gruu, flowTimer: this.#flowTimer };
  }

  /** Flow-bound bindings name the flow by a signed URI (routable from any node sharing the secret). */
  #attachFlowUris(plan: RegisterPlan): void {
    const encode = this.#encodeFlowUri;
    if (encode === undefined) return;
    let uri: string | undefined;
    for (const b of plan.bindings) {
      if (b.flow === undefined) continue;
      if (uri === undefined) {
        const parsed = encode(b.flow);
        parsed.params['lr'] = null;
        uri = flat(stringifyUri(parsed));
      }
      b.flowUri = uri;
    }
  }

  #storeFailed(rq: SipRequest, e: unknown): SipResponse {
    this.#stats.storeErrors++;
    this.#report(e instanceof RegistrarError ? e : new RegistrarError('ERR_STORE', 'the binding store failed', { cause: e }));
    return this.#serverError(rq, 500, 'Registrar Store Unavailable');
  }

  #serverError(rq: SipRequest, status: number, reason: string): SipResponse {
    return makeResponse(rq, status, reason, { headers: { 'retry-after': String(this.#retryAfter) } });
  }

  #report(error: RegistrarError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  // ------------------------------------------------------------------ lookups

  /**
   * The targets for a Request-URI: the bindings of its AOR, or, for a GRUU (RFC 5627 §5.5),
   * those of the one instance it names. Never rejects.
   */
  async lookup(uri: string | SipUri): Promise<LookupResult> {
    this.#stats.lookups++;
    const parsed = parseUri(uri) ?? undefined;
    const gr = parsed?.params['gr'];
    let aor = aorKey(parsed, this.#settings.useDomain);
    let instance: string | undefined;
    let tag: string | undefined;
    if (parsed !== undefined && gr !== undefined) {
      if (typeof gr === 'string' && gr !== '') {
        instance = `<${gr}>`;
      } else if (parsed.user?.startsWith(TEMP_GRUU_PREFIX)) {
        const content = this.#gruu?.readTemporary(parsed.user);
        if (content === undefined) return { outcome: 'unknown-gruu', aor: undefined };
        aor = content.aor;
        instance = content.instance;
        tag = content.callIdTag;
      }
    }
    if (aor === undefined) return { outcome: 'not-registered', aor: undefined };
    let bindings: Binding[];
    try {
      bindings = await this.store.get(aor, this.#now());
    } catch (e) {
      this.#stats.storeErrors++;
      const error = e instanceof RegistrarError ? e : new RegistrarError('ERR_STORE', 'the binding store failed', { cause: e });
      this.#report(error);
      return { outcome: 'unavailable', aor, retryAfter: this.#retryAfter, error };
    }
    if (instance !== undefined) {
      bindings = bindings.filter((b) => b.instance === instance && (tag === undefined || callIdTag(b.callId) === tag));
    }
    if (bindings.length === 0) return { outcome: 'not-registered', aor };
    return { outcome: 'found', aor, targets: targetsOf(bindings) };
  }

  /** The live bindings of an AOR key (rejects with `ERR_STORE` when the store fails). */
  bindings(aor: string): Promise<Binding[]> {
    return this.store.get(aor, this.#now());
  }

  /** Removes every binding of an AOR (an operator's action); resolves with how many went. */
  async remove(aor: string): Promise<number> {
    const removed = await this.store.remove(aor);
    for (const b of removed) {
      this.#unindexFlow(b);
      this.emit('unregistered', { aor, binding: b, reason: 'admin' });
    }
    this.#stats.removed += removed.length;
    return removed.length;
  }

  // ------------------------------------------------------------------ flows

  /**
   * Uses `stack` for flows: bindings reached over a connection are named by the stack's signed
   * flow URI, and dropped when that connection closes (RFC 5626 §5.3 spirit: a flow that failed
   * cannot deliver). Returns a function that detaches again.
   */
  attach(stack: RegistrarStack): () => void {
    if (typeof stack.encodeFlowUri === 'function') this.#encodeFlowUri = (flow) => (stack.encodeFlowUri as (f: Remote) => SipUri)(flow);
    const onClose = (remote: Remote): void => void this.flowClosed(remote);
    stack.on('connectionClose', onClose);
    const detach = (): void => {
      stack.off?.('connectionClose', onClose);
    };
    this.#detach.push(detach);
    return detach;
  }

  /** A connection closed: its bindings go. Resolves with how many were removed. */
  async flowClosed(remote: FlowAddress): Promise<number> {
    const key = flowKeyOf(remote);
    const byAor = this.#flows.get(key);
    if (byAor === undefined) return 0;
    this.#flows.delete(key);
    let count = 0;
    for (const [aor, keys] of byAor) {
      let removed: Binding[];
      try {
        // Only bindings still on this flow: a REGISTER on a new connection may have moved one.
        removed = await this.store.remove(aor, [...keys], this.#flowUriOf(remote));
      } catch (e) {
        this.#stats.storeErrors++;
        this.#report(e instanceof RegistrarError ? e : new RegistrarError('ERR_STORE', 'the binding store failed', { cause: e }));
        continue;
      }
      count += removed.length;
      for (const b of removed) this.emit('unregistered', { aor, binding: b, reason: 'flow' });
    }
    this.#stats.flowsDropped += count;
    this.#stats.removed += count;
    return count;
  }

  #flowUriOf(remote: FlowAddress): string | undefined {
    const encode = this.#encodeFlowUri;
    if (encode === undefined) return undefined;
    const parsed = encode(remote);
    parsed.params['lr'] = null;
    return stringifyUri(parsed);
  }

  #indexFlow(b: Binding): void {
    if (b.flow === undefined || b.flow.protocol === 'UDP') return;
    const key = flowKeyOf(b.flow);
    let byAor = this.#flows.get(key);
    if (byAor === undefined) this.#flows.set(key, (byAor = new Map()));
    let keys = byAor.get(b.aor);
    if (keys === undefined) byAor.set(b.aor, (keys = new Set()));
    keys.add(b.key);
  }

  #unindexFlow(b: Binding): void {
    if (b.flow === undefined || b.flow.protocol === 'UDP') return;
    const key = flowKeyOf(b.flow);
    const byAor = this.#flows.get(key);
    const keys = byAor?.get(b.aor);
    if (keys === undefined || byAor === undefined) return;
    keys.delete(b.key);
    if (keys.size === 0) byAor.delete(b.aor);
    if (byAor.size === 0) this.#flows.delete(key);
  }

  // ------------------------------------------------------------------ expiry, stats, close

  #onExpired(bindings: Binding[]): void {
    this.#stats.expired += bindings.length;
    for (const b of bindings) {
      this.#unindexFlow(b);
      this.emit('expired', { aor: b.aor, binding: b });
    }
  }

  async #poll(): Promise<void> {
    if (this.#closed) return;
    try {
      const expired = await this.store.expire(this.#now(), 1000);
      if (expired.length > 0) this.#onExpired(expired);
    } catch (e) {
      this.#stats.storeErrors++;
      this.#report(e instanceof RegistrarError ? e : new RegistrarError('ERR_STORE', 'the binding store failed', { cause: e }));
    }
  }

  /** Counters since start, and the store's counts of AORs and bindings. */
  async stats(): Promise<ReturnType<RegistrarStats['snapshot']> & { aors: number; bindings: number }> {
    let counts = { aors: -1, bindings: -1 };
    try {
      counts = await this.store.count();
    } catch {
      // a store that cannot count now says -1
    }
    return { ...this.#stats.snapshot(), ...counts };
  }

  /** Stops timers, detaches from stacks and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#expireTimer !== undefined) clearInterval(this.#expireTimer);
    for (const detach of this.#detach.splice(0)) detach();
    this.#flows.clear();
    await this.store.close();
  }
}

/** A registrar with `options` (see `RegistrarOptions`). */
export function createRegistrar(options: RegistrarOptions = {}): Registrar {
  return new Registrar(options);
}

// Bindings in Redis, for registrars on several nodes. Updates are Lua scripts (redis-scripts.ts),
// atomic per AOR, so two nodes writing one AOR never lose a binding; expiry is Redis's (hash TTL)
// plus a sweep that reports each expiry once. The client is ioredis (loaded only when a URL is
// given), or any client with ioredis's `call(command, ...args)`.
//
// Redis down: every operation rejects at once (no offline queue) with ERR_STORE, the registrar
// answers 500/503 with Retry-After, and the client reconnects with a capped exponential backoff.
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_BINDINGS } from './memory-store.js';
import { RegistrarError, checkOption } from './errors.js';
import { APPLY_SCRIPT, EXPIRE_SCRIPT, REMOVE_SCRIPT } from './redis-scripts.js';
import type { ApplyResult, Binding, BindingChange, BindingStore } from './types.js';
import { RedisConnection } from './redis-client.js';
import type { RedisClientLike } from './redis-client.js';

export type { RedisClientLike } from './redis-client.js';

export interface RedisBindingStoreOptions {
  /** `redis://host:port/db`: the store makes its own ioredis client (ioredis must be installed). */
  url?: string | undefined;
  /** A client to use instead (the store does not close it unless `url` made it). */
  client?: RedisClientLike | undefined;
  /** Key prefix. Default `sipts:reg:`. */
  prefix?: string | undefined;
  /** Most bindings in all (across nodes); beyond it REGISTERs get 503. Default 1000000. */
  maxBindings?: number | undefined;
  /** ms a command may take before it fails (client made from `url`). Default 2000. */
  commandTimeout?: number | undefined;
  /** How long Redis keeps an AOR's hash past its last binding's expiry, in ms. Default 300000. */
  graceMs?: number | undefined;
  /** Longest reconnect backoff in ms (client made from `url`). Default 5000. */
  maxReconnectDelay?: number | undefined;
}

interface Script {
  text: string;
  sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

const apply = script(APPLY_SCRIPT);
const remove = script(REMOVE_SCRIPT);
const expire = script(EXPIRE_SCRIPT);

function storeError(e: unknown): RegistrarError {
  if (e instanceof RegistrarError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new RegistrarError('ERR_STORE', `redis: ${message}`, { cause: e });
}

function parseBindings(list: unknown): Binding[] {
  const out: Binding[] = [];
  if (!Array.isArray(list)) return out;
  for (const raw of list) if (typeof raw === 'string') out.push(JSON.parse(raw) as Binding);
  return out;
}

export class RedisBindingStore implements BindingStore {
  readonly #prefix: string;
  readonly #maxBindings: number;
  readonly #graceMs: number;
  readonly #redis: RedisConnection;

  constructor(options: RedisBindingStoreOptions) {
    checkOption(typeof options === 'object' && options !== null, '', 'an object');
    checkOption((options.url === undefined) !== (options.client === undefined), 'url', 'given, or else options.client (one of them)');
    this.#prefix = options.prefix ?? 'sipts:reg:';
    checkOption(typeof this.#prefix === 'string', 'prefix', 'a string');
    this.#maxBindings = options.maxBindings ?? DEFAULT_MAX_BINDINGS;
    checkOption(Number.isInteger(this.#maxBindings) && this.#maxBindings > 0, 'maxBindings', 'a positive integer');
    this.#graceMs = options.graceMs ?? 300_000;
    checkOption(Number.isInteger(this.#graceMs) && this.#graceMs >= 0, 'graceMs', 'an integer >= 0');
    this.#redis = new RedisConnection(options, 'the Redis store');
  }

  /** Errors the client reported (connection refused, reset...). */
  get clientErrors(): number {
    return this.#redis.errors;
  }

  /** Resolves once the client is connected (or false after `ms`), for start-up. */
  ready(ms = 5000): Promise<boolean> {
    return this.#redis.ready(ms);
  }


  #key(aor: string): string {
    return `${this.#prefix}b:${aor}`;
  }

  async #run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (this.#redis.closed) throw new RegistrarError('ERR_STORE_CLOSED', 'the binding store is closed');
    const client = await this.#redis.client().catch((e: unknown) => {
      throw storeError(e);
    });
    try {
      return await client.call('EVALSHA', s.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes('NOSCRIPT')) throw storeError(e);
    }
    try {
      return await client.call('EVAL', s.text, keys.length, ...keys, ...args);
    } catch (e) {
      throw storeError(e);
    }
  }

  async #call(command: string, ...args: (string | number)[]): Promise<unknown> {
    if (this.#redis.closed) throw new RegistrarError('ERR_STORE_CLOSED', 'the binding store is closed');
    const client = await this.#redis.client().catch((e: unknown) => {
      throw storeError(e);
    });
    try {
      return await client.call(command, ...args);
    } catch (e) {
      throw storeError(e);
    }
  }

  async get(aor: string, now: number): Promise<Binding[]> {
    const reply = await this.#call('HGETALL', this.#key(aor));
    const out: Binding[] = [];
    // ioredis's `call` answers HGETALL with the flat list [field, value, ...].
    const values = Array.isArray(reply) ? reply.filter((_, i) => i % 2 === 1) : typeof reply === 'object' && reply !== null ? Object.values(reply) : [];
    for (const raw of values) {
      if (typeof raw !== 'string') continue;
      const b = JSON.parse(raw) as Binding;
      if (b.expiresAt > now) out.push(b);
    }
    return out;
  }

  async apply(aor: string, change: BindingChange): Promise<ApplyResult> {
    const reply = await this.#run(apply, [this.#key(aor), `${this.#prefix}exp`, `${this.#prefix}aors`], [
      change.now,
      change.callId,
      change.cseq,
      change.removeAll ? '1' : '0',
      change.maxBindings,
      this.#maxBindings,
      aor,
      this.#graceMs,
      ...change.upserts.map((b) => JSON.stringify(b)),
    ]);
    if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw new RegistrarError('ERR_STORE', 'redis: unexpected reply to the apply script');
    const status = reply[0];
    if (status === 'out-of-order' || status === 'too-many' || status === 'full') return { ok: false, reason: status };
    const bindings = parseBindings(reply[1]);
    const byKey = new Map(bindings.map((b) => [b.key, b]));
    const pick = (keys: unknown): Binding[] => (Array.isArray(keys) ? keys.map((k) => byKey.get(String(k))).filter((b): b is Binding => b !== undefined) : []);
    return { ok: true, bindings, added: pick(reply[2]), refreshed: pick(reply[3]), removed: parseBindings(reply[4]) };
  }

  async remove(aor: string, keys?: readonly string[], flowUri?: string): Promise<Binding[]> {
    if (keys !== undefined && keys.length === 0) return [];
    const reply = await this.#run(remove, [this.#key(aor), `${this.#prefix}exp`, `${this.#prefix}aors`], [aor, flowUri ?? '', ...(keys ?? [])]);
    return parseBindings(reply);
  }

  async expire(now: number, limit: number): Promise<Binding[]> {
    const reply = await this.#run(expire, [`${this.#prefix}exp`, `${this.#prefix}aors`], [now, limit, `${this.#prefix}b:`]);
    return parseBindings(reply);
  }

  async count(): Promise<{ aors: number; bindings: number }> {
    const [bindings, aors] = await Promise.all([this.#call('ZCARD', `${this.#prefix}exp`), this.#call('SCARD', `${this.#prefix}aors`)]);
    return { aors: Number(aors), bindings: Number(bindings) };
  }

  close(): Promise<void> {
    return this.#redis.close();
  }

}

// The ioredis client both Redis stores use (bindings, digest replay state): loaded on demand (an
// optional peer), with the settings a registrar needs from it.
import { RegistrarError, checkOption } from './errors.js';

/** What the store needs of a Redis client: ioredis's generic `call`, and its events. */
export interface RedisClientLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  quit?(): Promise<unknown>;
  disconnect?(): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  /** ioredis: 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'end' ... */
  status?: string;
  once?(event: 'ready', listener: () => void): unknown;
  removeListener?(event: 'ready', listener: () => void): unknown;
}

/**
 * A new ioredis client for `url`. `what` names the store in the error thrown when ioredis is not
 * installed; `onError` counts the client's 'error' events.
 */
export async function openRedisClient(url: string, commandTimeout: number, maxDelay: number, what: string, onError: () => void): Promise<RedisClientLike> {
  let Redis: new (url: string, options: Record<string, unknown>) => RedisClientLike;
  try {
    const mod = (await import('ioredis')) as unknown as { default?: unknown; Redis?: unknown };
    Redis = (mod.Redis ?? mod.default) as typeof Redis;
  } catch (e) {
    throw new RegistrarError('ERR_REDIS_MISSING', `${what} needs the ioredis package (pnpm add ioredis)`, { cause: e });
  }
  const client = new Redis(url, {
    // Fail at once while disconnected instead of queueing REGISTERs behind a dead server: the
    // REGISTER gets its 500 + Retry-After now, not after a reconnect.
    enableOfflineQueue: false,
    // Commands issued in the same tick go out in one write (many REGISTERs at once).
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout,
    // Reconnect for ever, backing off 100 ms, 200 ms, ... up to maxDelay.
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 16), maxDelay),
  });
  // ioredis emits 'error' on every failed (re)connect: without a listener that would crash.
  client.on?.('error', onError);
  return client;
}

/** Resolves true once `client` is connected, or false after `ms`. */
export function whenReady(client: RedisClientLike, ms: number): Promise<boolean> {
  if (client.status === undefined || client.status === 'ready') return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    // Given up: the listener goes too, or every wait while Redis stays down would leave one.
    const timer = setTimeout(() => {
      client.removeListener?.('ready', onReady);
      resolve(false);
    }, ms);
    client.once?.('ready', onReady);
  });
}

/** The options both Redis stores take for their client. */
export interface RedisConnectionOptions {
  url?: string | undefined;
  client?: RedisClientLike | undefined;
  commandTimeout?: number | undefined;
  maxReconnectDelay?: number | undefined;
}

/**
 * A store's Redis client: the one it was given, or its own (opened on demand, closed with it).
 * `what` names the store in errors.
 */
export class RedisConnection {
  /** Resolves with the client; rejects when ioredis is missing. */
  readonly connecting: Promise<RedisClientLike>;
  readonly commandTimeout: number;
  readonly #own: boolean;
  #client: RedisClientLike | undefined;
  #closed = false;
  #connectedOnce = false;
  /** The one start-up wait every command shares (not a wait, and a listener, per command). */
  #firstWait: Promise<boolean> | undefined;
  /** Errors the client reported (connection refused, reset...). */
  errors = 0;

  constructor(options: RedisConnectionOptions, what: string) {
    const timeout = options.commandTimeout ?? 2000;
    checkOption(Number.isFinite(timeout) && timeout > 0, 'commandTimeout', 'a positive number of ms');
    this.commandTimeout = timeout;
    const maxDelay = options.maxReconnectDelay ?? 5000;
    checkOption(Number.isFinite(maxDelay) && maxDelay > 0, 'maxReconnectDelay', 'a positive number of ms');
    this.#own = options.client === undefined;
    if (options.client !== undefined) {
      this.#client = options.client;
      this.connecting = Promise.resolve(options.client);
    } else {
      this.connecting = openRedisClient(options.url as string, timeout, maxDelay, what, () => {
        this.errors++;
      }).then((client) => {
        this.#client = client;
        if (this.#closed) client.disconnect?.();
        return client;
      });
      this.connecting.catch(() => {});
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves true once connected, or false after `ms`. */
  async ready(ms: number): Promise<boolean> {
    return whenReady(await this.connecting, ms);
  }

  /**
   * The client for a command. Until its first connection, waits for it up to commandTimeout:
   * a node answers as soon as it listens, and its first REGISTERs must not fail (500) only because
   * the client is still connecting (with the offline queue off, ioredis refuses commands at once).
   * After that a disconnected client fails fast, as the store's 500 + Retry-After intends.
   */
  async client(): Promise<RedisClientLike> {
    const client = await this.connecting;
    if (!this.#connectedOnce) {
      if (client.status !== undefined && client.status !== 'ready') {
        this.#firstWait ??= whenReady(client, this.commandTimeout).finally(() => {
          this.#firstWait = undefined;
        });
        await this.#firstWait;
      }
      this.#connectedOnce = client.status === undefined || client.status === 'ready';
    }
    return client;
  }

  /** Marks the store closed; quits the client when it is the store's own. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (!this.#own || client === undefined) return;
    try {
      if (client.status === 'ready' && client.quit !== undefined) await client.quit();
      else client.disconnect?.();
    } catch {
      client.disconnect?.();
    }
  }
}

// SIP over WebSocket (RFC 7118), WS and WSS, on the `ws` package. One SIP message per
// WebSocket message; the `sip` subprotocol is required on both sides (RFC 7118 §4); every
// connection is a flow named by its local end (`remote.local`), as `sip` does. This file keeps
// the indexes, the server and the events; a connection lives in connection.ts, the upgrade
// checks in upgrade.ts.
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Server as TlsServer } from 'node:tls';
import { isUtf8 } from 'node:buffer';
import { normalizeAddress } from '@sipts/message';
import type { BoundAddress, Remote, SipMessage, TransportEvents } from '@sipts/message';
import type { WebSocket } from 'ws';
import { ConnectionState, WsConnection } from './connection.js';
import type { ConnectionOwner } from './connection.js';
import { WsTransportError } from './errors.js';
import { callCapture, logError, logRecv, logSend } from './logger.js';
import type { WsCaptureHook } from './logger.js';
import { resolveOptions } from './options.js';
import type { WsSettings, WsTransportOptions } from './options.js';
import { newStats } from './stats.js';
import type { WsTransportStats } from './stats.js';
import { copyRemote, dialPlan, flowKey, peerKey } from './target.js';
import type { WsSendOptions, WsTarget } from './target.js';
import { SIP_SUBPROTOCOL, UpgradeHandler, answerPlainRequest } from './upgrade.js';
import type { UpgradeOwner } from './upgrade.js';
import { loadWs, loadedWs } from './ws-module.js';
import type { WsModule } from './ws-module.js';

/** Bound address, as `Transport.address()` returns it (the type of @sipts/message). */
export type WsBoundAddress = BoundAddress;

/** The events of every transport (@sipts/message's `TransportEvents`). */
export type WsTransportEvents = TransportEvents;

type State = 'idle' | 'listening' | 'closed';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The WebSocket transport: an EventEmitter satisfying `Transport` of `@sipts/transaction` by
 * shape. `protocol` is `WSS` when `tls` is given (or `server` is an HTTPS server), else `WS`.
 * Events: `message(message, remote)`, `connectionOpen(remote)`, `connectionClose(remote)`,
 * `error(error)` (only when someone listens; otherwise errors go to `logger.error`).
 * Sending needs no `listen()`: outgoing connections work on their own. `ws` is loaded at the
 * first listen() or outgoing connection, not when this module is imported.
 */
export class WsTransport extends EventEmitter<WsTransportEvents> {
  readonly protocol: 'WS' | 'WSS';
  readonly reliable = true as const;

  /** The checked options, defaults filled in. */
  readonly #settings: WsSettings;
  /** Counters, updated in place by the connections; `stats()` returns a copy. */
  readonly #counters: WsTransportStats = newStats();
  /** What the connections and the upgrade handler see of this transport (kept off its public API). */
  readonly #owner: ConnectionOwner & UpgradeOwner;

  #state: State = 'idle';
  #capture: WsCaptureHook | undefined;
  #server: HttpServer | undefined;
  /** Whether `#server` is ours to close. */
  #ownServer = false;
  #upgrades: UpgradeHandler | undefined;
  #bound: WsBoundAddress | undefined;
  #listening: Promise<WsBoundAddress> | undefined;
  #closing: Promise<void> | undefined;
  /** The shared keep-alive timer, running while connections are open. */
  #pingTimer: NodeJS.Timeout | undefined;
  /** Resolves close() once the last connection is gone. */
  #allClosed: (() => void) | undefined;
  /** Every connection, open or opening. */
  readonly #all = new Set<WsConnection>();
  /** Open connections by flow key (remote address, port, local address, port). */
  readonly #flows = new Map<string, WsConnection>();
  /** Reusable connections by `address port` of the peer, and outgoing ones by dialled URL. */
  readonly #byPeer = new Map<string, WsConnection>();

  /** Throws `ERR_INVALID_OPTION` for an unusable option. */
  constructor(options: WsTransportOptions = {}) {
    super();
    const settings = resolveOptions(options);
    this.#settings = settings;
    this.setCapture(options.capture);
    this.protocol = settings.tls !== undefined || settings.server instanceof TlsServer ? 'WSS' : 'WS';
    this.onServerError = this.onServerError.bind(this);
    this.#owner = {
      settings,
      counters: this.#counters,
      accepting: () => this.#state === 'listening',
      atConnectionLimit: () => this.#atConnectionLimit(),
      accept: (ws, request) => this.#accept(ws, request),
      isClosed: () => this.#state === 'closed',
      connectionOpened: (connection) => this.#opened(connection),
      connectionMessage: (connection, message, data) => this.#message(connection, message, data),
      connectionClosed: (connection, announced) => this.#closed(connection, announced),
    };
  }

  /**
   * Install (or with undefined, remove) the raw-bytes capture hook: valid messages received
   * (before they are emitted) and messages sent (when handed to their connection).
   */
  setCapture(hook: WsCaptureHook | undefined): void {
    if (hook !== undefined && typeof hook !== 'function') throw new WsTransportError('ERR_INVALID_OPTION', 'options.capture must be a function');
    this.#capture = hook;
  }

  /** Counters since construction (a copy); README "Limits and defenses" says which limit each shows. */
  stats(): WsTransportStats {
    return { ...this.#counters };
  }

  address(): WsBoundAddress | undefined {
    return this.#bound === undefined ? undefined : { ...this.#bound };
  }

  /** The remotes of the open connections. */
  connections(): Remote[] {
    return [...this.#flows.values()].map((connection) => copyRemote(connection.remote));
  }

  /** Start the WebSocket server. Resolves with the bound address; rejects with `ERR_LISTEN`. */
  listen(): Promise<WsBoundAddress> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    this.#listening ??= this.#listen();
    return this.#listening;
  }

  async #listen(): Promise<WsBoundAddress> {
    let ws: WsModule;
    try {
      ws = await loadWs();
    } catch (error) {
      this.#listening = undefined;
      throw new WsTransportError('ERR_LISTEN', `cannot load the ws package: ${errorMessage(error)}`, { cause: error });
    }
    if (this.#state === 'closed') throw this.#closedError();
    const settings = this.#settings;
    const given = settings.server;
    const server = given ?? (settings.tls !== undefined ? createHttpsServer(settings.tls) : createHttpServer());
    const upgrades = new UpgradeHandler(this.#owner, ws, given === undefined);
    this.#server = server;
    this.#ownServer = given === undefined;
    this.#upgrades = upgrades;
    server.on('upgrade', upgrades.onUpgrade);
    if (this.#ownServer) {
      server.on('request', answerPlainRequest);
      const port = settings.port ?? (this.protocol === 'WSS' ? 443 : 80);
      try {
        await new Promise<void>((resolve, reject) => {
          // A close() before the bind completes cancels it: 'close' fires and 'listening' never does.
          const onClose = (): void => reject(new Error('closed before listening'));
          server.once('error', reject);
          server.once('close', onClose);
          server.listen(port, settings.address, () => {
            server.off('error', reject);
            server.off('close', onClose);
            resolve();
          });
        });
      } catch (error) {
        server.off('upgrade', upgrades.onUpgrade);
        server.off('request', answerPlainRequest);
        if (this.#server === server) this.#server = undefined;
        if ((this.#state as State) === 'closed') throw this.#closedError();
        this.#listening = undefined;
        throw new WsTransportError('ERR_LISTEN', `cannot listen on ${settings.address ?? '*'}:${port}: ${errorMessage(error)}`, { cause: error });
      }
    }
    if ((this.#state as State) === 'closed') {
      // close() ran while we were binding: it could not stop a listen() in flight, so do it here.
      if (this.#ownServer) await new Promise<void>((resolve) => server.close(() => resolve()));
      throw this.#closedError();
    }
    const info = server.address();
    if (info === null || typeof info !== 'object') {
      await this.#releaseServer();
      this.#listening = undefined;
      throw new WsTransportError('ERR_LISTEN', 'the given server is not listening (call its listen() first)');
    }
    server.on('error', this.onServerError);
    this.#bound = { address: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    this.#state = 'listening';
    return { ...this.#bound };
  }

  private onServerError(error: Error): void {
    this.#report(new WsTransportError('ERR_WS_SERVER', `WebSocket server error: ${error.message}`, { cause: error }));
  }

  #atConnectionLimit(): boolean {
    const max = this.#settings.maxConnections;
    return max > 0 && this.#all.size >= max;
  }

  /** The upgrade handler completed a handshake. */
  #accept(ws: WebSocket, request: IncomingMessage): void {
    if (this.#state === 'closed') {
      ws.terminate();
      return;
    }
    const connection = new WsConnection(this.#owner, ws, { protocol: this.protocol, address: '', port: 0 }, request.socket);
    this.#all.add(connection);
    this.#opened(connection);
  }

  /** A connection is open: index it as a flow, announce it. */
  #opened(connection: WsConnection): void {
    const remote = connection.remote;
    const local = remote.local ?? { address: '', port: 0 };
    connection.key = flowKey(remote.address, remote.port, local.address, local.port);
    this.#flows.set(connection.key, connection);
    this.#startPings();
    // RFC 5923-style reuse: a request towards this peer's address and port goes on this flow.
    const key = peerKey(remote.address, remote.port);
    const current = this.#byPeer.get(key);
    if (current === undefined || current.state !== ConnectionState.Open) {
      this.#byPeer.set(key, connection);
      connection.dialKeys.push(key);
    }
    this.emit('connectionOpen', copyRemote(remote));
  }

  #message(connection: WsConnection, message: SipMessage, data: Uint8Array): void {
    const remote = copyRemote(connection.remote);
    this.#counters.received++;
    logRecv(this.#settings.logger, message, remote);
    if (this.#capture !== undefined) callCapture(this.#capture, 'in', data, remote);
    this.emit('message', message, remote);
  }

  #closed(connection: WsConnection, announced: boolean): void {
    if (!this.#all.delete(connection)) return;
    if (connection.key !== undefined && this.#flows.get(connection.key) === connection) this.#flows.delete(connection.key);
    for (const key of connection.dialKeys) if (this.#byPeer.get(key) === connection) this.#byPeer.delete(key);
    if (announced) this.emit('connectionClose', copyRemote(connection.remote));
    if (this.#flows.size === 0) this.#stopPings();
    if (this.#all.size === 0) this.#allClosed?.();
  }

  #startPings(): void {
    const interval = this.#settings.pingInterval;
    if (interval === 0 || this.#pingTimer !== undefined) return;
    this.#pingTimer = setInterval(this.#pingAll, interval);
    // Never the reason the process stays up; close() clears it anyway.
    this.#pingTimer.unref();
  }

  #stopPings(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  readonly #pingAll = (): void => {
    for (const connection of this.#flows.values()) connection.heartbeat();
  };

  /**
   * Send one whole message as one WebSocket message: text when it is UTF-8 (RFC 7118 §5.1),
   * binary otherwise. With `target.local` the exact flow is used (`ERR_FLOW_GONE` when it is
   * closed); otherwise a connection to the URL (`target.url` / `options.url`) or to
   * `target.address:target.port` is reused, or opened (`ws://address:port/`, `wss://` for
   * WSS), with sends queued until it opens.
   */
  send(data: Uint8Array | string, target: WsTarget, options?: WsSendOptions): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError(target));
    const local: unknown = typeof target === 'object' && target !== null ? target.local : undefined;
    if (typeof target !== 'object' || target === null || typeof target.address !== 'string' || (local !== undefined && typeof (local as { address?: unknown }).address !== 'string')) {
      return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', 'the target must be a remote with an address and a port', { remote: target }));
    }
    const binary = typeof data !== 'string' && !isUtf8(data);
    if (target.local !== undefined) {
      const address = normalizeAddress(target.address);
      const localAddress = normalizeAddress(target.local.address);
      const connection = this.#flows.get(flowKey(address, target.port, localAddress, target.local.port));
      if (connection === undefined) {
        return Promise.reject(new WsTransportError('ERR_FLOW_GONE', `no open WebSocket connection ${address}:${target.port} via ${localAddress}:${target.local.port}`, { remote: target }));
      }
      return this.#sendOn(connection, data, binary, target);
    }
    const plan = dialPlan(target, target.url ?? options?.url, this.protocol === 'WSS');
    if (typeof plan === 'string') return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', plan, { remote: target }));
    const existing = this.#byPeer.get(plan.keys[0] as string);
    // Closed connections leave the index. One we are closing (its peer does not read) rejects
    // the send with its reason; one its peer is closing is replaced by a new connection.
    if (existing !== undefined && (existing.state !== ConnectionState.Open || existing.writable)) return this.#sendOn(existing, data, binary, target);
    if (this.#atConnectionLimit()) {
      this.#counters.connectionLimit++;
      return Promise.reject(new WsTransportError('ERR_MAX_CONNECTIONS', `connection limit (${this.#settings.maxConnections}) reached`, { remote: target }));
    }
    const ws = loadedWs();
    if (ws === undefined) {
      // First outgoing connection: load `ws`, then decide again (another send may have opened one meanwhile).
      return loadWs().then(
        () => this.send(data, target, options),
        (error: unknown) => {
          throw new WsTransportError('ERR_CONNECT_FAILED', `cannot load the ws package: ${errorMessage(error)}`, { cause: error, remote: target });
        },
      );
    }
    const connection = this.#connect(ws, plan.url, plan.keys, target);
    if (connection instanceof Error) {
      return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', `cannot open a WebSocket connection to ${plan.url}: ${connection.message}`, { cause: connection, remote: target }));
    }
    return this.#sendOn(connection, data, binary, target);
  }

  #sendOn(connection: WsConnection, data: Uint8Array | string, binary: boolean, target: Remote): Promise<void> {
    if (connection.state === ConnectionState.Open) logSend(this.#settings.logger, data, copyRemote(connection.remote));
    else if (connection.state === ConnectionState.Connecting) logSend(this.#settings.logger, data, target);
    if (this.#capture !== undefined) callCapture(this.#capture, 'out', data, connection.state === ConnectionState.Open ? copyRemote(connection.remote) : target);
    this.#counters.bytesSent += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    return connection.send(data, binary, target);
  }

  /** Open an outgoing connection requesting the `sip` subprotocol (RFC 7118 §4). */
  #connect(ws: WsModule, url: string, dialKeys: string[], target: Remote): WsConnection | Error {
    const secure = url.startsWith('wss:');
    let socket: WebSocket;
    try {
      socket = new ws.WebSocket(url, SIP_SUBPROTOCOL, {
        ...(secure ? this.#settings.tls : undefined),
        handshakeTimeout: this.#settings.connectTimeout,
        maxPayload: this.#settings.maxPayload,
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch (error) {
      // `ws` throws synchronously for a URL it cannot use (bad scheme, no host).
      return error instanceof Error ? error : new Error(String(error));
    }
    const connection = new WsConnection(this.#owner, socket, { protocol: secure ? 'WSS' : 'WS', address: target.address, port: target.port }, undefined);
    this.#all.add(connection);
    for (const key of dialKeys) {
      this.#byPeer.set(key, connection);
      connection.dialKeys.push(key);
    }
    return connection;
  }

  /**
   * Close the server (when we created it) and every connection: a close frame (1001), then a cut
   * after `closeTimeout`. Queued sends reject with `ERR_TRANSPORT_CLOSED`. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closed';
    this.#stopPings();
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const connectionsClosed = new Promise<void>((resolve) => {
      if (this.#all.size === 0) resolve();
      else this.#allClosed = resolve;
    });
    const reason = this.#closedError();
    for (const connection of this.#all) connection.close(1001, 'going away', reason);
    const serverClosed = this.#releaseServer();
    await connectionsClosed;
    this.#allClosed = undefined;
    await serverClosed;
    this.#upgrades?.close();
    this.#upgrades = undefined;
  }

  /** Detach from the server; close it when it is ours. */
  #releaseServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#bound = undefined;
    if (server === undefined) return Promise.resolve();
    if (this.#upgrades !== undefined) server.off('upgrade', this.#upgrades.onUpgrade);
    server.off('request', answerPlainRequest);
    if (!this.#ownServer) {
      server.off('error', this.onServerError);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      server.close(() => {
        server.off('error', this.onServerError);
        resolve();
      });
      server.closeAllConnections();
    });
  }

  #closedError(target?: Remote): WsTransportError {
    return new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport is closed', { remote: target });
  }

  /** Errors with no caller: to `logger.error`, and as an 'error' event when someone listens. */
  #report(error: WsTransportError): void {
    logError(this.#settings.logger, error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** `new WsTransport(options)`. */
export function createWsTransport(options: WsTransportOptions = {}): WsTransport {
  return new WsTransport(options);
}

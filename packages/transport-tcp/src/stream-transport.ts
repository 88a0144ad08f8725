// The shared stream-connection base of the TCP and TLS transports: listening, connection
// indexes (by flow and by remote), reuse, limits, events. Subclasses supply the sockets.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { normalizeAddress, stampReceived, validateMessage } from '@sipts/message';
import type { Remote, SipMessage, SipRequest } from '@sipts/message';
import { flowKey, isValidPort, isWildcardAddress, remoteKey } from './address.js';
import { ConnectionState, StreamConnection, describe } from './connection.js';
import type { ConnectionOwner } from './connection.js';
import { StreamTransportError, osCodeOf } from './errors.js';

/** `sip`'s logger hook. `send` sees the serialised bytes handed to the transport. */
export interface TransportLogger {
  send?(data: Uint8Array | string, target: Remote): void;
  recv?(message: SipMessage, remote: Remote): void;
  error?(error: Error): void;
}

/** Options shared by the stream transports (names and defaults as in `sip`). */
export interface StreamTransportOptions {
  /** Address to listen on and to send from. Default: every interface, dual stack (`::`) where the OS allows. */
  address?: string | undefined;
  /** Largest header section accepted, in bytes. Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for `maxHeaderBytes`. */
  maxBytesHeaders?: number | undefined;
  /** Largest body accepted, in bytes (checked before any of it is buffered). Default 604800. */
  maxContentLength?: number | undefined;
  /**
   * Milliseconds with nothing sent or received after which a connection that nobody holds
   * (`ref()`) is closed. Default 120000; 0 disables.
   */
  idleTimeout?: number | undefined;
  /** Milliseconds an outgoing connection (TLS: and its handshake) may take. Default 10000; 0: the OS's. */
  connectTimeout?: number | undefined;
  /** Cap on open connections, inbound and outbound together. Default 10000. */
  maxConnections?: number | undefined;
  /** Bytes that may wait in one connection's write buffer before `send()` rejects. Default 4 MiB. */
  maxBufferedBytes?: number | undefined;
  logger?: TransportLogger | undefined;
}

/** The events of a stream transport (the same shape as `TransportEvents` of @sipts/transaction). */
export interface StreamTransportEvents {
  message: [message: SipMessage, remote: Remote];
  /** Always a StreamTransportError (typed `Error` as in the Transport interface; see isStreamTransportError). */
  error: [error: Error];
  connectionOpen: [remote: Remote];
  connectionClose: [remote: Remote];
}

export interface StreamBoundAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export const DEFAULT_MAX_HEADER_BYTES = 60480;
export const DEFAULT_MAX_CONTENT_LENGTH = 604800;
export const DEFAULT_IDLE_TIMEOUT = 120_000;
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

function optionNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

/**
 * A SIP transport over a byte stream. Subclasses say how to create the server and how to open
 * an outgoing socket; everything else (framing, reuse, flows, limits, timers, events) is here.
 */
export abstract class StreamTransport extends EventEmitter<StreamTransportEvents> implements ConnectionOwner {
  readonly protocol: 'TCP' | 'TLS';
  readonly reliable = true;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  readonly maxConnections: number;
  readonly maxBufferedBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxContentLength: number;

  protected readonly bindAddress: string | undefined;
  protected readonly logger: TransportLogger | undefined;

  private readonly readyEvent: 'connect' | 'secureConnect';
  private readonly connections = new Set<StreamConnection>();
  /** Sockets the server accepted and that are not closed yet (TLS: handshaking ones too). */
  private readonly accepted = new Set<Socket>();
  /** remote|port|local|port -> connection (open ones). */
  private readonly byFlow = new Map<string, StreamConnection>();
  /** remote|port -> connection to reuse (open or still connecting). */
  private readonly byRemote = new Map<string, StreamConnection>();
  private server: Server | undefined;
  private bound: StreamBoundAddress | undefined;
  private listening: Promise<StreamBoundAddress> | undefined;
  private closing: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;

  protected constructor(protocol: 'TCP' | 'TLS', readyEvent: 'connect' | 'secureConnect', options: StreamTransportOptions) {
    super();
    this.protocol = protocol;
    this.readyEvent = readyEvent;
    this.bindAddress = options.address === undefined || options.address === '' ? undefined : normalizeAddress(options.address);
    this.maxHeaderBytes = optionNumber(options.maxHeaderBytes ?? options.maxBytesHeaders, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes');
    this.maxContentLength = optionNumber(options.maxContentLength, DEFAULT_MAX_CONTENT_LENGTH, 'maxContentLength');
    this.idleTimeout = optionNumber(options.idleTimeout, DEFAULT_IDLE_TIMEOUT, 'idleTimeout');
    this.connectTimeout = optionNumber(options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, 'connectTimeout');
    this.maxConnections = optionNumber(options.maxConnections, DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    this.maxBufferedBytes = optionNumber(options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 'maxBufferedBytes');
    this.logger = options.logger;
  }

  /** The port to listen on. */
  protected abstract listenPort(): number;
  /** A server that calls `onSocket` with each accepted (TLS: handshaken) socket. */
  protected abstract createServer(onSocket: (socket: Socket) => void): Server;
  /**
   * Start an outgoing connection to `address:port` (normalised; `target` is the caller's, for
   * extra fields such as TLS's `servername`); it must emit the ready event given to the constructor.
   */
  protected abstract openSocket(address: string, port: number, localAddress: string | undefined, target: Remote): Socket;

  /** Bind and listen; port 0 picks a free port. Resolves with the bound address. */
  listen(): Promise<StreamBoundAddress> {
    if (this.closing !== undefined) return Promise.reject(this.transportClosedError());
    this.listening ??= new Promise<StreamBoundAddress>((resolve, reject) => {
      const server = this.createServer(this.acceptSocket);
      // The kernel-level guard: sockets over the cap are closed on accept (before any TLS work).
      if (this.maxConnections > 0) server.maxConnections = this.maxConnections;
      // Every accepted TCP socket, including TLS ones still in their handshake (not yet
      // connections): close() must end them too, or server.close() would wait for them.
      server.on('connection', this.trackAccepted);
      server.on('drop', this.onDrop);
      this.server = server;
      const onListenError = (error: Error): void => {
        this.server = undefined;
        this.listening = undefined;
        server.close();
        reject(
          new StreamTransportError('ERR_LISTEN', `${this.protocol} cannot listen on ${this.bindAddress ?? '*'}:${this.listenPort()}: ${osCodeOf(error) ?? error.message}`, {
            osCode: osCodeOf(error),
            cause: error,
          }),
        );
      };
      server.once('error', onListenError);
      const listenOptions: { port: number; host?: string } = { port: this.listenPort() };
      if (this.bindAddress !== undefined) listenOptions.host = this.bindAddress;
      server.listen(listenOptions, () => {
        server.off('error', onListenError);
        if (this.closing !== undefined) {
          // close() ran while binding: do not leave a listening handle behind.
          server.close();
          reject(this.transportClosedError());
          return;
        }
        server.on('error', this.onServerError);
        const info = server.address() as AddressInfo;
        const family = (info.family as string | number) === 'IPv6' || (info.family as string | number) === 6 ? 'IPv6' : 'IPv4';
        this.bound = { address: info.address, port: info.port, family };
        resolve(this.bound);
      });
    });
    return this.listening;
  }

  /** The bound address after `listen()` resolved, else undefined. */
  address(): StreamBoundAddress | undefined {
    return this.bound;
  }

  /** Open connections (flows), inbound and outbound. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The flows currently open, as `Remote`s with `local`. */
  flows(): Remote[] {
    const out: Remote[] = [];
    for (const c of this.connections) if (c.state === ConnectionState.Open) out.push(c.remote);
    return out;
  }

  /**
   * Send one whole serialised message. With `target.local`, only on that exact flow (rejects
   * `ERR_FLOW_GONE` when it is closed); otherwise on a connection to `target.address:port`,
   * opening one if there is none (sends made while it connects wait for it).
   */
  send(data: Uint8Array | string, target: Remote): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(this.transportClosedError());
    if (typeof target !== 'object' || target === null || typeof target.address !== 'string' || target.address === '' || !isValidPort(target.port)) {
      return Promise.reject(new StreamTransportError('ERR_INVALID_TARGET', `invalid ${this.protocol} target ${safeDescribe(target)}`));
    }
    const address = normalizeAddress(target.address);
    let connection: StreamConnection | undefined;
    const local = target.local;
    if (local !== undefined) {
      connection = this.byFlow.get(flowKey(address, target.port, normalizeAddress(local.address), local.port));
      if (connection === undefined) {
        return Promise.reject(
          new StreamTransportError('ERR_FLOW_GONE', `no ${this.protocol} connection ${describe(target)} from ${local.address}:${local.port}`, {
            remote: target,
          }),
        );
      }
    } else {
      connection = this.byRemote.get(remoteKey(address, target.port));
      // A connection already closing (idle timeout, reset) is not reused: open a fresh one.
      if (connection === undefined || connection.state === ConnectionState.Closed || connection.socket.destroyed) {
        if (this.maxConnections > 0 && this.connections.size >= this.maxConnections) {
          return Promise.reject(
            new StreamTransportError('ERR_MAX_CONNECTIONS', `${this.protocol}: ${this.maxConnections} connections open, cannot open one to ${describe(target)}`, {
              remote: target,
            }),
          );
        }
        connection = this.connect(address, target.port, target);
      }
    }
    this.logger?.send?.(data, target);
    return connection.write(data);
  }

  /**
   * Hold the connection named by `flow` (with `local`: that exact flow; without: the one
   * reused for `address:port`) so the idle timeout does not close it; once per holder, paired
   * with `unref()`. Returns false when there is no such connection.
   */
  ref(flow: Remote): boolean {
    const connection = this.find(flow);
    if (connection === undefined) return false;
    connection.ref();
    return true;
  }

  /** Release one hold taken with `ref()`; the idle period restarts when the last is released. */
  unref(flow: Remote): boolean {
    const connection = this.find(flow);
    if (connection === undefined) return false;
    connection.unref();
    return true;
  }

  /** Whether a connection for `flow` is open (or, without `local`, open or connecting). */
  hasFlow(flow: Remote): boolean {
    return this.find(flow) !== undefined;
  }

  /** Close the connection named by `flow` (e.g. a registrar dropping a binding). */
  closeFlow(flow: Remote): boolean {
    const connection = this.find(flow);
    if (connection === undefined) return false;
    connection.destroy(new StreamTransportError('ERR_CONNECTION_CLOSED', `closed ${describe(connection.remote)} on request`, { remote: connection.remote }));
    return true;
  }

  /** Stop listening, close every connection (pending sends reject), release every timer. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const reason = this.transportClosedError();
    const server = this.server;
    this.server = undefined;
    this.bound = undefined;
    const serverClosed = new Promise<void>((resolve) => {
      if (server === undefined) resolve();
      else server.close(() => resolve());
    });
    const connectionsClosed = new Promise<void>((resolve) => {
      if (this.connections.size === 0) resolve();
      else this.allClosed = resolve;
    });
    for (const c of this.connections) c.destroy(reason);
    for (const socket of this.accepted) socket.destroy();
    this.closing = Promise.all([serverClosed, connectionsClosed]).then(() => undefined);
    return this.closing;
  }

  private find(flow: Remote): StreamConnection | undefined {
    if (typeof flow !== 'object' || flow === null || typeof flow.address !== 'string') return undefined;
    const address = normalizeAddress(flow.address);
    const local = flow.local;
    if (local !== undefined) return this.byFlow.get(flowKey(address, flow.port, normalizeAddress(local.address), local.port));
    return this.byRemote.get(remoteKey(address, flow.port));
  }

  private transportClosedError(): StreamTransportError {
    return new StreamTransportError('ERR_TRANSPORT_CLOSED', `the ${this.protocol} transport is closed`);
  }

  /** The socket of the connection named by `flow`, for subclasses (TLS peer certificates). */
  protected socketOf(flow: Remote): Socket | undefined {
    const connection = this.find(flow);
    return connection !== undefined && connection.state === ConnectionState.Open ? connection.socket : undefined;
  }

  private connect(address: string, port: number, target: Remote): StreamConnection {
    // Send from the configured address when it is a concrete one of the target's family.
    let localAddress: string | undefined;
    const bind = this.bindAddress;
    if (bind !== undefined && !isWildcardAddress(bind) && isIP(bind) === isIP(address)) localAddress = bind;
    const socket = this.openSocket(address, port, localAddress, target);
    const connection = new StreamConnection(this, socket, true, { protocol: this.protocol, address, port }, this.readyEvent);
    this.connections.add(connection);
    connection.dialKey = remoteKey(address, port);
    this.byRemote.set(connection.dialKey, connection);
    return connection;
  }

  private readonly trackAccepted = (socket: Socket): void => {
    this.accepted.add(socket);
    socket.once('close', () => this.accepted.delete(socket));
  };

  private readonly acceptSocket = (socket: Socket): void => {
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    if (this.closing !== undefined || remoteAddress === undefined || remotePort === undefined) {
      socket.destroy();
      return;
    }
    if (this.maxConnections > 0 && this.connections.size >= this.maxConnections) {
      socket.destroy();
      this.reportError(
        new StreamTransportError('ERR_MAX_CONNECTIONS', `${this.protocol}: ${this.maxConnections} connections open, refused one from ${remoteAddress}:${remotePort}`),
      );
      return;
    }
    const remote: Remote = {
      protocol: this.protocol,
      address: normalizeAddress(remoteAddress),
      port: remotePort,
      local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    };
    const connection = new StreamConnection(this, socket, false, remote, this.readyEvent);
    this.connections.add(connection);
    this.connectionOpened(connection);
  };

  /** net.Server closed a socket over `maxConnections` on accept. */
  private readonly onDrop = (data?: { remoteAddress?: string; remotePort?: number }): void => {
    const from = data?.remoteAddress === undefined ? 'a peer' : `${data.remoteAddress}:${String(data.remotePort)}`;
    this.reportError(new StreamTransportError('ERR_MAX_CONNECTIONS', `${this.protocol}: ${this.maxConnections} connections open, refused one from ${from}`));
  };

  private readonly onServerError = (error: Error): void => {
    this.reportError(new StreamTransportError('ERR_LISTEN', `${this.protocol} server error: ${osCodeOf(error) ?? error.message}`, { osCode: osCodeOf(error), cause: error }));
  };

  // ConnectionOwner: called by connections.

  /** @internal */
  connectionOpened(connection: StreamConnection): void {
    const socket = connection.socket;
    if (connection.outbound) {
      // The dialled address may have been a name; index the connection by what it reached.
      const address = normalizeAddress(socket.remoteAddress ?? connection.remote.address);
      const port = socket.remotePort ?? connection.remote.port;
      connection.remote = {
        protocol: this.protocol,
        address,
        port,
        local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
      };
    }
    const remote = connection.remote;
    const local = remote.local!;
    connection.remoteKey = remoteKey(remote.address, remote.port);
    connection.flowKey = flowKey(remote.address, remote.port, local.address, local.port);
    this.byFlow.set(connection.flowKey, connection);
    this.byRemote.set(connection.remoteKey, connection);
    connection.announced = true;
    this.emit('connectionOpen', remote);
  }

  /** @internal */
  connectionMessage(connection: StreamConnection, message: SipMessage): void {
    const invalid = validateMessage(message);
    if (invalid !== undefined) {
      this.connectionInvalid(
        connection,
        new StreamTransportError('ERR_INVALID_MESSAGE', `dropped a message from ${describe(connection.remote)}: ${invalid.message}`, {
          remote: connection.remote,
          cause: invalid,
        }),
      );
      return;
    }
    const remote = connection.remote;
    // RFC 3261 §18.2.1, RFC 3581 §4: received / rport on the top Via of requests.
    if ('method' in message) stampReceived(message as SipRequest, remote.address, remote.port);
    try {
      this.logger?.recv?.(message, remote);
      this.emit('message', message, remote);
    } catch (error) {
      // A listener's bug must not leave the framer half-way through a chunk: rethrow it
      // outside the socket's data callback, where it surfaces exactly as it would have.
      process.nextTick(rethrow, error);
    }
  }

  /**
   * @internal
   * A framed message that fails validation is dropped (RFC 3261 §18.3 leaves no way to answer a
   * request whose Via, From, To, Call-ID or CSeq is unusable) and reported; the stream goes on.
   */
  connectionInvalid(_connection: StreamConnection, error: StreamTransportError): void {
    this.reportError(error);
  }

  /** @internal */
  connectionClosed(connection: StreamConnection): void {
    this.connections.delete(connection);
    if (connection.dialKey !== undefined && this.byRemote.get(connection.dialKey) === connection) this.byRemote.delete(connection.dialKey);
    if (connection.remoteKey !== undefined && this.byRemote.get(connection.remoteKey) === connection) this.byRemote.delete(connection.remoteKey);
    if (connection.flowKey !== undefined && this.byFlow.get(connection.flowKey) === connection) this.byFlow.delete(connection.flowKey);
    if (connection.announced) this.emit('connectionClose', connection.remote);
    if (this.connections.size === 0 && this.allClosed !== undefined) {
      const done = this.allClosed;
      this.allClosed = undefined;
      done();
    }
  }

  /**
   * @internal
   * Errors with no caller to reject go to `logger.error` and to `'error'` listeners; with no
   * listener they are not thrown (an EventEmitter would throw an unhandled 'error').
   */
  reportError(error: StreamTransportError): void {
    this.logger?.error?.(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function rethrow(error: unknown): never {
  throw error;
}

function safeDescribe(target: unknown): string {
  if (typeof target !== 'object' || target === null) return String(target);
  const t = target as { address?: unknown; port?: unknown };
  return `${String(t.address)}:${String(t.port)}`;
}

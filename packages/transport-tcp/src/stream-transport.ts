// The shared stream-connection base of the TCP and TLS transports: listening, admission of
// inbound connections, connection indexes (by flow and by remote), reuse, events. Subclasses
// supply the sockets; limits.ts keeps the deadlines and budgets, options.ts the options.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { acceptMessage, normalizeAddress, rejectBytes } from '@sipts/message';
import type { BoundAddress, InboundRejection, MessageLimits, Remote, SipMessage, SipParseError, TransportEvents } from '@sipts/message';
import { flowKey, isValidPort, isWildcardAddress, remoteKey } from './address.js';
import { Admission } from './admission.js';
import type { AdmissionOwner } from './admission.js';
import { ConnectionState, StreamConnection, describe } from './connection.js';
import type { ConnectionOwner } from './connection.js';
import { StreamTransportError, osCodeOf } from './errors.js';
import { ConnectionLimits, now } from './limits.js';
import type { LimitsOwner } from './limits.js';
import { invalidOption, streamSettings } from './options.js';
import type { StreamCaptureHook, StreamTransportOptions, TransportLogger } from './options.js';
import { emptyStats } from './stats.js';
import type { StreamTransportStats } from './stats.js';

/** The events of a stream transport (message's one definition); `error` is always a StreamTransportError. */
export type StreamTransportEvents = TransportEvents;
/** Where a stream transport listens (message's one definition). */
export type StreamBoundAddress = BoundAddress;

/** Per-send options, the shape of `SendOptions` of @sipts/transaction. */
export interface StreamSendOptions {
  /**
   * false: send only on a connection already open to the target, never open one (rejects with
   * `ERR_NOT_CONNECTED`): for messages whose target a forger could choose. Default true.
   */
  connect?: boolean | undefined;
}

const EMPTY = new Uint8Array(0);

/**
 * A SIP transport over a byte stream. Subclasses say how to create the server and how to open
 * an outgoing socket; everything else (framing, reuse, flows, limits, timers, events) is here.
 */
export abstract class StreamTransport extends EventEmitter<StreamTransportEvents> implements ConnectionOwner, LimitsOwner, AdmissionOwner {
  readonly protocol: 'TCP' | 'TLS';
  readonly reliable = true;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  readonly headerTimeout: number;
  readonly bodyTimeout: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly evictAfter: number;
  readonly maxBufferedBytes: number;
  readonly maxPendingBytes: number;
  /** The size limits applied to what is received, as `maxHeaderBytes` / `maxContentLength` too. */
  readonly limits: MessageLimits;
  readonly maxHeaderBytes: number;
  readonly maxContentLength: number;

  protected readonly bindAddress: string | undefined;
  protected readonly logger: TransportLogger | undefined;
  private capture: StreamCaptureHook | undefined;

  private readonly readyEvent: 'connect' | 'secureConnect';
  private readonly guard: ConnectionLimits;
  private readonly counters: StreamTransportStats = emptyStats();
  private readonly admission: Admission;
  private readonly connections = new Set<StreamConnection>();
  private outbound = 0;
  /** remote|port|local|port -> connection (open ones). */
  private readonly byFlow = new Map<string, StreamConnection>();
  /** remote|port -> connection to reuse (open or still connecting). */
  private readonly byRemote = new Map<string, StreamConnection>();
  private server: Server | undefined;
  private bound: StreamBoundAddress | undefined;
  private listening: Promise<StreamBoundAddress> | undefined;
  private closing: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;

  /** Throws a StreamTransportError `ERR_INVALID_OPTION` for an unusable option. */
  protected constructor(protocol: 'TCP' | 'TLS', readyEvent: 'connect' | 'secureConnect', options: StreamTransportOptions) {
    super();
    const settings = streamSettings(options);
    this.protocol = protocol;
    this.readyEvent = readyEvent;
    this.bindAddress = settings.bindAddress;
    this.limits = settings.limits;
    this.maxHeaderBytes = settings.limits.maxHeaderBytes;
    this.maxContentLength = settings.limits.maxContentLength;
    this.idleTimeout = settings.idleTimeout;
    this.connectTimeout = settings.connectTimeout;
    this.headerTimeout = settings.headerTimeout;
    this.bodyTimeout = settings.bodyTimeout;
    this.maxConnections = settings.maxConnections;
    this.maxConnectionsPerSource = settings.maxConnectionsPerSource;
    this.evictAfter = settings.evictAfter;
    this.maxBufferedBytes = settings.maxBufferedBytes;
    this.maxPendingBytes = settings.maxPendingBytes;
    this.logger = settings.logger;
    this.capture = settings.capture;
    this.guard = new ConnectionLimits(settings, this);
    this.admission = new Admission(this, this.guard, this.counters);
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
      // Admission runs first on every accepted TCP socket, before any TLS work: the per-source
      // cap, maxConnections with eviction, and the tracking close() relies on (it must end
      // sockets still in their TLS handshake too, or server.close() would wait for them).
      server.prependListener('connection', this.admission.admit);
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

  /** Counters since construction, and the gauges `connections` and `pendingBytes` (a copy). */
  stats(): StreamTransportStats {
    return { ...this.counters, connections: this.admission.inbound + this.outbound, pendingBytes: this.guard.pendingBytes };
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
   * opening one if there is none (sends made while it connects wait for it) unless
   * `options.connect` is false.
   */
  send(data: Uint8Array | string, target: Remote, options?: StreamSendOptions): Promise<void> {
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
      // A connection already closing (idle timeout, reset, rejected) is not reused: open a fresh one.
      if (connection === undefined || connection.state >= ConnectionState.Closing || connection.socket.destroyed) {
        if (options?.connect === false) {
          return Promise.reject(new StreamTransportError('ERR_NOT_CONNECTED', `no open ${this.protocol} connection to ${describe(target)}`, { remote: target }));
        }
        if (!this.admission.hasRoom()) {
          return Promise.reject(
            new StreamTransportError('ERR_MAX_CONNECTIONS', `${this.protocol}: ${this.maxConnections} connections open, cannot open one to ${describe(target)}`, {
              remote: target,
            }),
          );
        }
        connection = this.connect(address, target.port, target);
      }
    }
    this.logSend(data, target);
    if (this.capture !== undefined) this.captured('out', typeof data === 'string' ? Buffer.from(data) : data, connection.remote);
    const written = connection.write(data);
    this.counters.sent++;
    this.counters.bytesSent += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.guard.touch(connection, now());
    return written;
  }

  /**
   * Hold the connection named by `flow` (with `local`: that exact flow; without: the one
   * reused for `address:port`) so the idle timeout does not close it; once per holder, paired
   * with `unref()`. Returns false when there is no such connection.
   */
  ref(flow: Remote): boolean {
    const connection = this.find(flow);
    if (connection === undefined) return false;
    if (++connection.refs === 1) this.guard.hold(connection);
    return true;
  }

  /** Release one hold taken with `ref()`; the idle period restarts when the last is released. */
  unref(flow: Remote): boolean {
    const connection = this.find(flow);
    if (connection === undefined) return false;
    if (connection.refs === 0) return true;
    if (--connection.refs === 0) this.guard.touch(connection, now());
    return true;
  }

  /** Whether a connection for `flow` is open (or, without `local`, open or connecting). */
  hasFlow(flow: Remote): boolean {
    const connection = this.find(flow);
    return connection !== undefined && connection.state < ConnectionState.Closing;
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
    this.guard.stop();
    const serverClosed = new Promise<void>((resolve) => {
      if (server === undefined) resolve();
      else server.close(() => resolve());
    });
    const connectionsClosed = new Promise<void>((resolve) => {
      if (this.connections.size === 0) resolve();
      else this.allClosed = resolve;
    });
    for (const c of this.connections) c.destroy(reason);
    this.admission.destroyAll();
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

  /**
   * For subclasses: a client's TLS handshake failed or timed out. The socket is destroyed (Node
   * reports a handshake timeout but leaves the socket open); counted and reported, unless we cut
   * it ourselves (refused, evicted, or closing: `socket` or the TCP socket under it).
   */
  protected handshakeFailed(socket: Socket, error: StreamTransportError): void {
    socket.destroy();
    if (this.admission.cutByUs(socket)) return;
    this.counters.handshakeFailures++;
    this.reportError(error);
  }

  private connect(address: string, port: number, target: Remote): StreamConnection {
    // Send from the configured address when it is a concrete one of the target's family.
    let localAddress: string | undefined;
    const bind = this.bindAddress;
    if (bind !== undefined && !isWildcardAddress(bind) && isIP(bind) === isIP(address)) localAddress = bind;
    const socket = this.openSocket(address, port, localAddress, target);
    const connection = new StreamConnection(this, socket, true, { protocol: this.protocol, address, port }, this.readyEvent);
    this.connections.add(connection);
    this.outbound++;
    connection.dialKey = remoteKey(address, port);
    this.byRemote.set(connection.dialKey, connection);
    return connection;
  }

  /** @internal Outbound connections open or connecting. */
  get outboundCount(): number {
    return this.outbound;
  }

  /** @internal True once close() was called. */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** @internal Admission closes a connection to make room for a newcomer. */
  evict(connection: StreamConnection, error: StreamTransportError): void {
    connection.destroy(error);
    this.reportError(error);
  }

  /** The server's connection listener (TLS: called after the handshake). */
  private readonly acceptSocket = (socket: Socket): void => {
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    if (this.closing !== undefined || socket.destroyed || remoteAddress === undefined || remotePort === undefined) {
      socket.destroy();
      return;
    }
    const remote: Remote = {
      protocol: this.protocol,
      address: normalizeAddress(remoteAddress),
      port: remotePort,
      local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    };
    // Admitted, and not evicted while in its TLS handshake.
    if (!this.admission.promote(flowKey(remote.address, remote.port, remote.local!.address, remote.local!.port))) {
      socket.destroy();
      return;
    }
    const connection = new StreamConnection(this, socket, false, remote, this.readyEvent);
    this.connections.add(connection);
    this.connectionOpened(connection);
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
    this.guard.touch(connection, now());
    this.safeEmit('connectionOpen', remote);
  }

  /** @internal */
  connectionData(connection: StreamConnection, pinged: boolean, bytes: number): void {
    this.counters.bytesReceived += bytes;
    if (pinged) this.counters.keepAlives++;
    this.guard.framed(connection, pinged);
  }

  /** @internal RFC 3261 §18.2.1, RFC 3581 §4: validated, `received`/`rport` stamped, by message's one inbound path. */
  connectionMessage(connection: StreamConnection, message: SipMessage, head: Uint8Array): void {
    const remote = connection.remote;
    const inbound = acceptMessage(message, remote, head, this.limits);
    if (inbound.kind !== 'message') {
      if (inbound.kind === 'rejected') this.rejectConnection(connection, inbound, false);
      return;
    }
    this.counters.received++;
    this.logRecv(inbound.message, remote);
    if (this.capture !== undefined) this.captured('in', wholeMessage(head, inbound.message.content ?? ''), remote);
    // The hot path: safeEmit without its rest arguments.
    try {
      this.emit('message', inbound.message, remote);
    } catch (error) {
      process.nextTick(rethrow, error);
    }
  }

  /** @internal A message that cannot be accepted: answered 400 when it is a request, then the connection closes. */
  connectionInvalid(connection: StreamConnection, error: SipParseError, head: Uint8Array | undefined, framing: boolean): void {
    this.rejectConnection(connection, rejectBytes(head ?? EMPTY, error, this.limits), framing);
  }

  /**
   * RFC 3261 §21.4.1 / §18.3: a malformed request is answered 400 (505 for another version)
   * when its start line can be read; then the connection is closed, since on a stream a peer
   * that sent one malformed message cannot be trusted to frame the next.
   */
  private rejectConnection(connection: StreamConnection, rejection: InboundRejection, framing: boolean): void {
    const remote = connection.remote;
    const reply = rejection.reply;
    if (framing) this.counters.framingErrors++;
    else this.counters.invalidMessages++;
    if (reply !== undefined) this.counters.badRequests++;
    const answered = reply === undefined ? '' : ` (answered ${rejection.status})`;
    const error = framing
      ? new StreamTransportError('ERR_FRAMING', `closing the connection from ${describe(remote)}: ${rejection.error.message}${answered}`, { remote, cause: rejection.error })
      : new StreamTransportError('ERR_INVALID_MESSAGE', `rejected a message from ${describe(remote)} and closed the connection: ${rejection.error.message}${answered}`, {
          remote,
          cause: rejection.error,
        });
    connection.reject(reply, error);
    this.reportError(error);
  }

  /** @internal */
  connectionRetired(connection: StreamConnection): void {
    this.guard.retire(connection);
  }

  /** @internal */
  connectionClosed(connection: StreamConnection): void {
    this.connections.delete(connection);
    if (connection.outbound) this.outbound--;
    if (connection.dialKey !== undefined && this.byRemote.get(connection.dialKey) === connection) this.byRemote.delete(connection.dialKey);
    if (connection.remoteKey !== undefined && this.byRemote.get(connection.remoteKey) === connection) this.byRemote.delete(connection.remoteKey);
    if (connection.flowKey !== undefined && this.byFlow.get(connection.flowKey) === connection) this.byFlow.delete(connection.flowKey);
    if (connection.announced) this.safeEmit('connectionClose', connection.remote);
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
    const logger = this.logger;
    if (logger?.error !== undefined) {
      try {
        logger.error(error);
      } catch {
        // A broken logger must not break the transport (this runs inside socket events).
      }
    }
    if (this.listenerCount('error') > 0) this.safeEmit('error', error);
  }

  // LimitsOwner: called by the limits (limits.ts).

  /** @internal */
  expire(connection: StreamConnection, why: 'header' | 'body' | 'idle'): void {
    const remote = connection.remote;
    if (why === 'idle') {
      this.counters.idleClosed++;
      connection.destroy(new StreamTransportError('ERR_CONNECTION_CLOSED', `closed idle connection with ${describe(remote)}`, { remote }));
      return;
    }
    const header = why === 'header';
    if (header) this.counters.headerTimeouts++;
    else this.counters.bodyTimeouts++;
    const error = new StreamTransportError(
      'ERR_MESSAGE_TIMEOUT',
      `closing the connection from ${describe(remote)}: ${header ? 'header section' : 'body'} not complete within ${header ? this.headerTimeout : this.bodyTimeout} ms`,
      { remote },
    );
    connection.destroy(error);
    this.reportError(error);
  }

  /** @internal */
  shed(connection: StreamConnection): void {
    this.counters.pendingShed++;
    const remote = connection.remote;
    const error = new StreamTransportError(
      'ERR_PENDING_LIMIT',
      `closing the connection from ${describe(remote)}: incomplete messages hold more than ${this.maxPendingBytes} bytes and its message started first`,
      { remote },
    );
    connection.destroy(error);
    this.reportError(error);
  }

  /**
   * Emit from inside a socket event: a listener that throws must not leave a framer half-way
   * through a chunk or a connection half-closed, so its exception is rethrown outside the
   * socket's callback, where it surfaces exactly as it would have.
   */
  private safeEmit<E extends keyof StreamTransportEvents>(event: E, ...args: StreamTransportEvents[E]): void {
    try {
      (this.emit as (event: E, ...args: StreamTransportEvents[E]) => boolean)(event, ...args);
    } catch (error) {
      process.nextTick(rethrow, error);
    }
  }

  /**
   * Install (or with undefined, remove) the raw-bytes capture hook: valid messages received
   * (before they are emitted) and messages sent (when handed to their connection).
   */
  setCapture(hook: StreamCaptureHook | undefined): void {
    if (hook !== undefined && typeof hook !== 'function') throw invalidOption('options.capture must be a function');
    this.capture = hook;
  }

  private captured(direction: 'in' | 'out', data: Uint8Array, remote: Remote): void {
    try {
      (this.capture as StreamCaptureHook)(direction, data, remote);
    } catch {
      // A broken capture hook must not break the transport.
    }
  }

  private logSend(data: Uint8Array | string, target: Remote): void {
    const send = this.logger?.send;
    if (send === undefined) return;
    try {
      send.call(this.logger, data, target);
    } catch {
      // A broken logger must not break the transport.
    }
  }

  private logRecv(message: SipMessage, remote: Remote): void {
    const recv = this.logger?.recv;
    if (recv === undefined) return;
    try {
      recv.call(this.logger, message, remote);
    } catch {
      // A broken logger must not break the transport (this runs inside the socket's data event).
    }
  }
}

/** The bytes of a framed message: its header section, then its body (only for a capture hook). */
function wholeMessage(head: Uint8Array, content: string): Uint8Array {
  return content.length === 0 ? head : Buffer.concat([head, Buffer.from(content, 'utf8')]);
}

function rethrow(error: unknown): never {
  throw error;
}

function safeDescribe(target: unknown): string {
  if (typeof target !== 'object' || target === null) return String(target);
  const t = target as { address?: unknown; port?: unknown };
  return `${String(t.address)}:${String(t.port)}`;
}

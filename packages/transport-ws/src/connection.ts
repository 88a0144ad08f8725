// One WebSocket connection (a flow): accepted, or opened by us. It owns its `ws` socket, the
// sends queued while it opens, its writes and their cap, its keep-alive state and its inbound
// frames (through `readMessage`, the one inbound path of @sipts/message). The transport that
// owns it keeps the indexes and emits the events.
import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import { normalizeAddress, readMessage } from '@sipts/message';
import type { InboundRejection, Remote, SipMessage } from '@sipts/message';
import type { RawData, WebSocket } from 'ws';
import { WsTransportError } from './errors.js';
import type { WsTransportErrorCode } from './errors.js';
import { logError } from './logger.js';
import type { WsSettings } from './options.js';
import type { WsTransportStats } from './stats.js';
import { copyRemote } from './target.js';

/** The states of a connection, as small integers (compared on every send). */
export const ConnectionState = {
  /** Ours, handshake in progress: sends wait in the queue. */
  Connecting: 0,
  Open: 1,
  /** We sent a close frame (close(), or `maxBufferedBytes`) and wait for the peer's, at most `closeTimeout`. */
  Closing: 2,
  Closed: 3,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** What a connection needs from the transport that owns it. */
export interface ConnectionOwner {
  readonly settings: WsSettings;
  /** The transport's counters, updated in place. */
  readonly counters: WsTransportStats;
  /** close() was called: queued sends reject with `ERR_TRANSPORT_CLOSED`. */
  isClosed(): boolean;
  /** The connection is open and has its `remote.local`: index it, announce it. */
  connectionOpened(connection: WsConnection): void;
  /** A valid message arrived (its request Via already stamped). */
  connectionMessage(connection: WsConnection, message: SipMessage, data: Uint8Array): void;
  /** The socket is gone; `announced`: connectionOpen was emitted for it. */
  connectionClosed(connection: WsConnection, announced: boolean): void;
}

interface PendingSend {
  readonly payload: string | Uint8Array;
  readonly binary: boolean;
  readonly target: Remote;
  readonly resolve: () => void;
  readonly reject: (error: WsTransportError) => void;
}

// `ws` readyState values (the WHATWG WebSocket constants), so that this file needs no value from `ws`.
const WS_OPEN = 1;

// RFC 5626 §4.4.1: the answer to a CRLFCRLF keep-alive ping is a single CRLF pong.
const PONG = '\r\n';

// RFC 6455 §7.4.1: 1008, the peer broke our policy (it must read what it is sent). Not 1013
// (Try Again Later), which describes a server overloaded for a while: the fault here is the
// peer's, and a client that reconnects at once and still does not read would fill up again.
const CLOSE_BUFFER_FULL = 1008;

/** The `remote` of an open connection, from its socket. */
export function socketRemote(protocol: string, socket: Socket, fallback: Remote): Remote {
  return {
    protocol,
    address: normalizeAddress(socket.remoteAddress ?? fallback.address),
    port: socket.remotePort ?? fallback.port,
    local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
  };
}

export function describe(remote: Remote): string {
  return `${remote.address}:${remote.port}`;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function byteLength(payload: string | Uint8Array): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
}

/** A connection that failed before it opened: timed out (`connectTimeout`) or failed. */
export function connectError(target: Remote, cause: unknown): WsTransportError {
  // `ws` reports its handshake timer expiring with this message and no code.
  const timedOut = cause instanceof Error && cause.message.includes('timed out');
  return new WsTransportError(
    timedOut ? 'ERR_CONNECT_TIMEOUT' : 'ERR_CONNECT_FAILED',
    `WebSocket connection to ${describe(target)} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause, remote: target },
  );
}

export class WsConnection {
  state: ConnectionState;
  /** The peer; `remote.local` is set once the connection is open. */
  remote: Remote;
  /** Key in the transport's flow index once open. */
  key: string | undefined;
  /** Its keys in the transport's reuse index (the peer's address and port, a dialled URL). */
  readonly dialKeys: string[] = [];
  /** A ping went out and nothing came back since. */
  awaitingPong = false;
  readonly ws: WebSocket;

  readonly #owner: ConnectionOwner;
  /** Sends made while connecting, written in order once open. */
  #queue: PendingSend[] = [];
  #queuedBytes = 0;
  /** Sends handed to `ws`, oldest first: `ws` calls back in the order it wrote them. */
  readonly #writing: PendingSend[] = [];
  /** Why we closed it, for the sends that find it closing or closed. */
  #closeReason: WsTransportError | undefined;
  #cutTimer: NodeJS.Timeout | undefined;
  /** The socket of an outgoing connection, from its upgrade response. */
  #socket: Socket | undefined;

  /** `socket` given: an accepted connection, open at once; else ours, connecting. */
  constructor(owner: ConnectionOwner, ws: WebSocket, remote: Remote, socket: Socket | undefined) {
    this.#owner = owner;
    this.ws = ws;
    this.remote = socket === undefined ? remote : socketRemote(remote.protocol, socket, remote);
    this.state = socket === undefined ? ConnectionState.Connecting : ConnectionState.Open;
    ws.on('message', this.#onMessage);
    ws.on('pong', this.#onPong);
    ws.on('error', this.#onError);
    ws.on('close', this.#onClose);
    if (socket === undefined) {
      ws.once('upgrade', this.#onUpgrade);
      ws.once('open', this.#onOpen);
    }
  }

  /**
   * Open, and `ws` still takes data: false once the peer's close frame arrived, before the
   * 'close' event makes the state Closed.
   */
  get writable(): boolean {
    return this.state === ConnectionState.Open && this.ws.readyState === WS_OPEN;
  }

  /** Send one whole message: now when open, after the handshake when connecting. */
  send(payload: string | Uint8Array, binary: boolean, target: Remote): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: PendingSend = { payload, binary, target, resolve, reject };
      if (this.state === ConnectionState.Open) {
        this.#write(pending);
        return;
      }
      if (this.state !== ConnectionState.Connecting) {
        reject(this.#goneError(target));
        return;
      }
      const bytes = byteLength(payload);
      if (this.#queue.length >= this.#owner.settings.maxQueued || this.#queuedBytes + bytes > this.#owner.settings.maxBufferedBytes) {
        this.#owner.counters.queueFull++;
        reject(
          new WsTransportError('ERR_WS_QUEUE_FULL', `${this.#queue.length} messages (${this.#queuedBytes} bytes) already wait for the connection to ${describe(target)} to open`, {
            remote: target,
          }),
        );
        return;
      }
      this.#queue.push(pending);
      this.#queuedBytes += bytes;
    });
  }

  /**
   * Close with a close frame (`code`), cut after `closeTimeout` if the peer does not answer. A
   * connection still connecting is cut at once. Sends from now on reject with `reason`.
   */
  close(code: number, text: string, reason: WsTransportError): void {
    if (this.state === ConnectionState.Closing || this.state === ConnectionState.Closed) return;
    this.#closeReason = reason;
    if (this.state === ConnectionState.Connecting) {
      this.#rejectQueue(reason);
      this.ws.terminate();
      return;
    }
    this.state = ConnectionState.Closing;
    this.ws.close(code, text);
    const timeout = this.#owner.settings.closeTimeout;
    if (timeout === 0) {
      this.ws.terminate();
      return;
    }
    this.#cutTimer = setTimeout(this.#cut, timeout);
    // Never the reason the process stays up.
    this.#cutTimer.unref();
  }

  /** The keep-alive sweep: ping, or cut a peer that did not answer the last ping. */
  heartbeat(): void {
    if (this.state !== ConnectionState.Open) return;
    if (this.awaitingPong) {
      this.#owner.counters.pingTimeouts++;
      logError(this.#owner.settings.logger, new WsTransportError('ERR_WS_CONNECTION', `WebSocket peer ${describe(this.remote)} stopped answering pings; connection cut`, { remote: copyRemote(this.remote) }));
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    try {
      this.ws.ping();
    } catch {
      // Closing under us: the close handler cleans up.
    }
    this.#checkBuffered();
  }

  #write(pending: PendingSend): void {
    if (this.ws.readyState !== WS_OPEN) {
      // The peer's close frame arrived ('close' follows): `ws` would answer out of order.
      pending.reject(this.#goneError(pending.target));
      return;
    }
    this.#writing.push(pending);
    this.ws.send(pending.payload, { binary: pending.binary }, this.#written);
    this.#checkBuffered();
  }

  /** `ws` wrote (or failed to write) the oldest send. */
  readonly #written = (error?: Error): void => {
    const pending = this.#writing.shift();
    if (pending === undefined) return;
    if (error === undefined || error === null) {
      this.#owner.counters.sent++;
      pending.resolve();
      return;
    }
    this.#owner.counters.sendErrors++;
    const reason = this.#closeReason;
    pending.reject(
      reason?.code === 'ERR_BUFFER_FULL'
        ? this.#coded('ERR_BUFFER_FULL', reason.message, pending.target, error)
        : this.#coded('ERR_WS_SEND', `WebSocket send to ${describe(pending.target)} failed: ${error.message}`, pending.target, error),
    );
  };

  /** A reply of our own (400, pong): nobody waits for it, so a failure is only logged. */
  #reply(data: string | Uint8Array, binary: boolean): void {
    if (this.ws.readyState !== WS_OPEN) return;
    this.ws.send(data, { binary }, this.#replyWritten);
    this.#checkBuffered();
  }

  readonly #replyWritten = (error?: Error): void => {
    if (error === undefined || error === null) return;
    logError(this.#owner.settings.logger, this.#coded('ERR_WS_SEND', `WebSocket reply to ${describe(this.remote)} failed: ${error.message}`, this.remote, error));
  };

  /**
   * A peer that does not read makes `ws` buffer everything we write: past `maxBufferedBytes`
   * the connection is closed, so one stuck peer cannot take the process's memory.
   */
  #checkBuffered(): void {
    const max = this.#owner.settings.maxBufferedBytes;
    if (this.state !== ConnectionState.Open || this.ws.bufferedAmount <= max) return;
    this.#owner.counters.bufferOverflows++;
    const error = new WsTransportError('ERR_BUFFER_FULL', `more than ${max} bytes wait to be written to ${describe(this.remote)}, which does not read; connection closed (1008)`, {
      remote: copyRemote(this.remote),
    });
    logError(this.#owner.settings.logger, error);
    this.close(CLOSE_BUFFER_FULL, 'output buffer full', error);
  }

  readonly #cut = (): void => {
    this.#cutTimer = undefined;
    if (this.state === ConnectionState.Closed) return;
    this.#owner.counters.closeTimeouts++;
    this.ws.terminate();
  };

  readonly #onUpgrade = (response: { socket: Socket }): void => {
    this.#socket = response.socket;
  };

  readonly #onOpen = (): void => {
    const socket = this.#socket;
    if (this.#owner.isClosed() || socket === undefined || this.state !== ConnectionState.Connecting) {
      this.ws.terminate();
      return;
    }
    this.remote = socketRemote(this.remote.protocol, socket, this.remote);
    this.state = ConnectionState.Open;
    this.#owner.connectionOpened(this);
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const pending of queue) {
      if (this.state === ConnectionState.Open) this.#write(pending);
      else pending.reject(this.#goneError(pending.target));
    }
  };

  /** One WebSocket message = one SIP message (RFC 7118 §5). */
  readonly #onMessage = (data: RawData): void => {
    this.awaitingPong = false;
    const owner = this.#owner;
    const bytes = toBytes(data);
    owner.counters.bytesReceived += bytes.length;
    const inbound = readMessage(bytes, this.remote, owner.settings.limits);
    switch (inbound.kind) {
      case 'message':
        owner.connectionMessage(this, inbound.message, bytes);
        return;
      case 'keepalive':
        owner.counters.keepAlives++;
        // RFC 5626 §4.4.1: CRLFCRLF ping, CRLF pong (SIP.js and others use it over WebSocket).
        if (inbound.ping && this.state === ConnectionState.Open) {
          owner.counters.pongs++;
          this.#reply(PONG, false);
        }
        return;
      case 'rejected':
        this.#rejected(inbound);
        return;
    }
  };

  /** Not a valid message: answer 400 (505) on the flow if it is a request, else drop it. */
  #rejected(rejection: InboundRejection): void {
    const counters = this.#owner.counters;
    const reply = this.state === ConnectionState.Open ? rejection.reply : undefined;
    if (rejection.error.code === 'ERR_TOO_LARGE') counters.tooLarge++;
    logError(
      this.#owner.settings.logger,
      this.#coded(
        'ERR_INVALID_MESSAGE',
        `invalid SIP message from ${describe(this.remote)}: ${rejection.error.message}${reply === undefined ? ' (dropped)' : ` (answered ${rejection.status})`}`,
        copyRemote(this.remote),
        rejection.error,
      ),
    );
    if (reply === undefined) {
      counters.dropped++;
      return;
    }
    counters.badRequests++;
    // RFC 7118 §5.1: a text frame when the bytes are UTF-8 (the copied header lines may not be).
    this.#reply(reply, !isUtf8(reply));
  }

  readonly #onPong = (): void => {
    this.awaitingPong = false;
  };

  readonly #onError = (error: Error): void => {
    if (this.state === ConnectionState.Connecting) {
      // Failing to connect is reported to the queued senders, not as an event.
      const failure = connectError(this.remote, error);
      if (failure.code === 'ERR_CONNECT_TIMEOUT') this.#owner.counters.connectTimeouts++;
      this.#closeReason ??= failure;
      this.#rejectQueue(failure);
      return;
    }
    // `ws` closes the connection after these: 1009 for a message over maxPayload, 1002/1007 for the others.
    const code = (error as { code?: unknown }).code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#owner.counters.oversizeFrames++;
    else if (typeof code === 'string' && code.startsWith('WS_ERR_')) this.#owner.counters.protocolErrors++;
    logError(this.#owner.settings.logger, this.#coded('ERR_WS_CONNECTION', `WebSocket connection ${describe(this.remote)}: ${error.message}`, copyRemote(this.remote), error));
  };

  readonly #onClose = (): void => {
    if (this.state === ConnectionState.Closed) return;
    const announced = this.state === ConnectionState.Open || this.state === ConnectionState.Closing;
    this.state = ConnectionState.Closed;
    if (this.#cutTimer !== undefined) clearTimeout(this.#cutTimer);
    this.#cutTimer = undefined;
    this.#rejectQueue(this.#owner.isClosed() ? this.#closedError() : (this.#closeReason ?? connectError(this.remote, new Error('connection closed before it opened'))));
    // `ws` calls back every write before 'close'; whatever did not get its callback fails here.
    const writing = this.#writing.splice(0);
    for (const pending of writing) {
      this.#owner.counters.sendErrors++;
      pending.reject(this.#goneError(pending.target));
    }
    this.#owner.connectionClosed(this, announced);
  };

  #rejectQueue(error: WsTransportError): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const pending of queue) pending.reject(this.#coded(error.code, error.message, pending.target, error.cause));
  }

  /** The error for a send that finds the connection closing or closed. */
  #goneError(target: Remote): WsTransportError {
    const reason = this.#closeReason;
    if (this.#owner.isClosed()) return this.#closedError(target);
    if (reason?.code === 'ERR_BUFFER_FULL') return this.#coded('ERR_BUFFER_FULL', reason.message, target, undefined);
    return this.#coded('ERR_FLOW_GONE', `the WebSocket connection to ${describe(target)} closed`, target, undefined);
  }

  #closedError(target?: Remote): WsTransportError {
    return this.#coded('ERR_TRANSPORT_CLOSED', 'the WebSocket transport was closed', target, undefined);
  }

  #coded(code: WsTransportErrorCode, message: string, remote: Remote | undefined, cause: unknown): WsTransportError {
    return new WsTransportError(code, message, cause === undefined ? { remote } : { cause, remote });
  }
}

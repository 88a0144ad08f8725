// One stream connection (a flow): a socket, its SIP framer and its queue of pending sends.
// Shared by TCP and TLS; the transport that owns it keeps the indexes, the timers and the limits.
import type { Socket } from 'node:net';
import { StreamFramer } from '@sipts/message';
import type { MessageLimits, Remote, SipMessage, SipParseError } from '@sipts/message';
import { StreamTransportError, osCodeOf } from './errors.js';
import type { StreamTransportErrorCode } from './errors.js';

/** The states of a connection, as small integers (compared on every send). */
export const ConnectionState = {
  Connecting: 0,
  Open: 1,
  /** Rejected or shut: the last bytes (a 400) are going out; nothing more is read or sent. */
  Closing: 2,
  Closed: 3,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Which deadline a connection's incomplete message runs against (see limits.ts). */
export const Incomplete = {
  None: 0,
  Header: 1,
  Body: 2,
} as const;
export type Incomplete = (typeof Incomplete)[keyof typeof Incomplete];

/** What a connection needs from the transport that owns it. */
export interface ConnectionOwner {
  readonly protocol: 'TCP' | 'TLS';
  readonly connectTimeout: number;
  readonly maxBufferedBytes: number;
  readonly limits: MessageLimits;
  connectionOpened(connection: StreamConnection): void;
  /** After each chunk was framed: deadlines, activity, the pending-bytes budget. */
  connectionData(connection: StreamConnection, pinged: boolean, bytes: number): void;
  connectionMessage(connection: StreamConnection, message: SipMessage, head: Uint8Array): void;
  /** A message that cannot be accepted (`framing`: nor can the stream go on); `head` for a 400. */
  connectionInvalid(connection: StreamConnection, error: SipParseError, head: Uint8Array | undefined, framing: boolean): void;
  /** The connection stops counting: it was rejected, shed or destroyed (called once, before it closes). */
  connectionRetired(connection: StreamConnection): void;
  connectionClosed(connection: StreamConnection): void;
  reportError(error: StreamTransportError): void;
}

interface PendingSend {
  resolve: () => void;
  reject: (error: StreamTransportError) => void;
}

// RFC 5626 §4.4.1: the answer to a CRLFCRLF keep-alive ping is a single CRLF pong.
const PONG = Buffer.from('\r\n', 'latin1');
/** How long a rejected connection's 400 may take to leave (a peer that does not read) before the socket is destroyed. */
const LINGER_MS = 2_000;

export class StreamConnection {
  state: ConnectionState;
  /** The peer and, once connected, the local end: the flow, as delivered with messages. */
  remote: Remote;
  /** Whether we opened it (a request we sent) or accepted it. */
  readonly outbound: boolean;
  /** Index keys held by the owning transport (filled in by it). */
  dialKey: string | undefined;
  remoteKey: string | undefined;
  flowKey: string | undefined;
  /** Holds taken with `ref()`: while above zero the idle timeout does not close the connection. */
  refs = 0;
  /** True once `connectionOpen` was emitted, so `connectionClose` pairs with it. */
  announced = false;
  /** True once it stopped counting against the limits (see ConnectionOwner.connectionRetired). */
  retired = false;

  // Kept by the transport's limits (limits.ts): when the last message (or ping) went either
  // way, which deadline the incomplete message runs against and since when, the framer's
  // progress last seen, and the bytes the framer held at the last count.
  lastActive = 0;
  incomplete: Incomplete = Incomplete.None;
  incompleteSince = 0;
  progress = 0;
  heldBytes = 0;

  readonly socket: Socket;
  readonly framer: StreamFramer;
  private readonly owner: ConnectionOwner;
  private readonly pending: PendingSend[] = [];
  /** Messages sent while connecting, written in order once the connection is up. */
  private queued: Array<Uint8Array | string> = [];
  private queuedBytes = 0;
  private closeReason: StreamTransportError | undefined;
  /** The TCP connect of a TLS connection completed (so a later failure is the handshake's). */
  private tcpConnected = false;
  /** A CRLFCRLF keep-alive ping was framed in the chunk being pushed. */
  private pingsSeen = false;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    owner: ConnectionOwner,
    socket: Socket,
    outbound: boolean,
    remote: Remote,
    readyEvent: 'connect' | 'secureConnect',
  ) {
    this.owner = owner;
    this.socket = socket;
    this.outbound = outbound;
    this.remote = remote;
    this.state = outbound ? ConnectionState.Connecting : ConnectionState.Open;
    this.framer = new StreamFramer({
      maxHeaderBytes: owner.limits.maxHeaderBytes,
      maxContentLength: owner.limits.maxContentLength,
      onMessage: this.onFramedMessage,
      onInvalid: this.onInvalidMessage,
      onError: this.onFramingError,
      onKeepAlive: this.onKeepAlive,
    });

    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
    socket.on('end', this.onEnd);
    if (outbound) {
      if (readyEvent !== 'connect') socket.once('connect', this.onTcpConnect);
      socket.once(readyEvent, this.onReady);
      if (owner.connectTimeout > 0) socket.setTimeout(owner.connectTimeout);
    } else {
      socket.setNoDelay(true);
    }
  }

  /**
   * Send one whole message; resolves once the socket has taken the bytes. While connecting
   * (TLS: until the handshake completed, so a failed handshake fails the send), data waits here.
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.state >= ConnectionState.Closing || this.socket.destroyed) {
      return Promise.reject(this.closedError('the connection is closed'));
    }
    const waiting = this.state === ConnectionState.Connecting ? this.queuedBytes : this.socket.writableLength;
    if (waiting > this.owner.maxBufferedBytes) {
      return Promise.reject(
        new StreamTransportError('ERR_BUFFER_FULL', `more than ${this.owner.maxBufferedBytes} bytes wait to be written to ${describe(this.remote)}`, {
          remote: this.remote,
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (this.state === ConnectionState.Connecting) {
        this.queued.push(data);
        this.queuedBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      } else {
        this.socket.write(data, this.onWritten);
      }
    });
  }

  /** Close now; pending sends reject with `reason`. */
  destroy(reason: StreamTransportError): void {
    this.closeReason ??= reason;
    this.retire();
    this.socket.destroy();
  }

  /**
   * Close after writing `reply` (a 400 for the message that made us give up, RFC 3261 §21.4.1):
   * the reply and our FIN go out, then the socket is destroyed once the kernel has taken them.
   * What the peer sends meanwhile is read and dropped (unread bytes at close would turn the FIN
   * into a reset that can cost the peer the 400). A peer that does not read is cut off after
   * LINGER_MS.
   */
  reject(reply: Uint8Array | undefined, reason: StreamTransportError): void {
    if (this.state >= ConnectionState.Closing) return;
    this.closeReason ??= reason;
    this.retire();
    if (this.socket.destroyed) return;
    if (reply !== undefined) this.socket.end(reply, this.onFlushed);
    else this.socket.end(this.onFlushed);
    this.linger = setTimeout(destroySocket, LINGER_MS, this.socket);
    this.linger.unref();
  }

  /** Stop reading and counting: the framer lets go of what it holds, the owner forgets the limits. */
  private retire(): void {
    if (this.state < ConnectionState.Closing) this.state = ConnectionState.Closing;
    this.framer.stop();
    if (!this.retired) {
      this.retired = true;
      this.owner.connectionRetired(this);
    }
  }

  /** The error for a send that cannot complete: the reason the connection closed, if telling. */
  private closedError(why: string): StreamTransportError {
    const reason = this.closeReason;
    if (reason !== undefined && reason.code !== 'ERR_FRAMING' && reason.code !== 'ERR_INVALID_MESSAGE') return reason;
    return new StreamTransportError('ERR_CONNECTION_CLOSED', `${why}: ${describe(this.remote)}`, {
      remote: this.remote,
      cause: reason,
    });
  }

  // Socket write callbacks run in write order, so one shared callback settles the oldest send.
  // A failed write is settled by onClose instead, with the reason the socket closed.
  private readonly onWritten = (error?: Error | null): void => {
    if (error != null) return;
    this.pending.shift()?.resolve();
  };

  private readonly onFlushed = (): void => {
    this.socket.destroy();
  };

  private readonly onTcpConnect = (): void => {
    this.tcpConnected = true;
  };

  private readonly onReady = (): void => {
    if (this.state !== ConnectionState.Connecting) return;
    const socket = this.socket;
    this.state = ConnectionState.Open;
    socket.setNoDelay(true);
    // The connect timeout is over; idleness is the transport's to measure (limits.ts).
    socket.setTimeout(0);
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const data of queued) socket.write(data, this.onWritten);
    this.owner.connectionOpened(this);
  };

  private readonly onData = (chunk: Buffer): void => {
    // Closing: the rest of what the peer sends is read and dropped (an unread byte would turn
    // our FIN into a reset and could cost the peer the 400).
    if (this.state !== ConnectionState.Open) return;
    this.framer.push(chunk);
    const pinged = this.pingsSeen;
    this.pingsSeen = false;
    // A callback may have closed it (a rejected message, a listener calling closeFlow()).
    if (this.state !== ConnectionState.Open) return;
    this.owner.connectionData(this, pinged, chunk.length);
    // RFC 5626 §4.4.1: answer keep-alive pings with one CRLF pong per chunk at most, so a flood
    // of CRLFs never makes us write more than the peer sent.
    if (pinged && this.state === ConnectionState.Open) this.socket.write(PONG);
  };

  private readonly onKeepAlive = (): void => {
    this.pingsSeen = true;
  };

  private readonly onFramedMessage = (message: SipMessage, head: Uint8Array): void => {
    this.owner.connectionMessage(this, message, head);
  };

  private readonly onInvalidMessage = (error: SipParseError, head: Uint8Array): void => {
    this.owner.connectionInvalid(this, error, head, false);
  };

  private readonly onFramingError = (error: SipParseError, head: Uint8Array | undefined): void => {
    this.owner.connectionInvalid(this, error, head, true);
  };

  private readonly onEnd = (): void => {
    // The peer finished sending. Bytes of a message still in the framer will never complete.
    if (this.framer.bufferedBytes > 0 && this.closeReason === undefined) {
      const error = new StreamTransportError('ERR_CONNECTION_CLOSED', `the peer ${describe(this.remote)} closed the connection in the middle of a message`, {
        remote: this.remote,
      });
      this.closeReason = error;
      this.owner.reportError(error);
    }
  };

  private readonly onError = (error: Error): void => {
    if (this.closeReason !== undefined) return;
    const osCode = osCodeOf(error);
    let code: StreamTransportErrorCode;
    let text: string;
    if (this.state === ConnectionState.Connecting) {
      if (this.tcpConnected) {
        code = 'ERR_TLS_HANDSHAKE';
        text = `TLS handshake with ${describe(this.remote)} failed`;
      } else {
        code = 'ERR_CONNECT_FAILED';
        text = `cannot connect to ${describe(this.remote)}`;
      }
    } else {
      code = 'ERR_CONNECTION_CLOSED';
      text = `connection with ${describe(this.remote)} failed`;
    }
    const wrapped = new StreamTransportError(code, `${text}: ${osCode ?? error.message}`, { remote: this.remote, osCode, cause: error });
    this.closeReason = wrapped;
    // A send waiting on this connection carries the error to its caller; otherwise report it.
    if (this.pending.length === 0) this.owner.reportError(wrapped);
  };

  /** Only armed while connecting (connectTimeout). */
  private readonly onTimeout = (): void => {
    if (this.state !== ConnectionState.Connecting) return;
    this.destroy(
      new StreamTransportError('ERR_CONNECT_TIMEOUT', `no connection to ${describe(this.remote)} within ${this.owner.connectTimeout} ms`, {
        remote: this.remote,
      }),
    );
  };

  private readonly onClose = (): void => {
    this.state = ConnectionState.Closed;
    if (this.linger !== undefined) clearTimeout(this.linger);
    this.linger = undefined;
    this.framer.stop();
    if (!this.retired) {
      this.retired = true;
      this.owner.connectionRetired(this);
    }
    this.queued = [];
    this.queuedBytes = 0;
    const pending = this.pending.splice(0);
    if (pending.length > 0) {
      const error = this.closedError('the connection closed before the data was written');
      for (const p of pending) p.reject(error);
    }
    this.owner.connectionClosed(this);
  };
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** `TCP 192.0.2.1:5060` / `TLS [2001:db8::1]:5061`, for messages. */
export function describe(remote: Remote): string {
  const host = remote.address.indexOf(':') !== -1 ? `[${remote.address}]` : remote.address;
  return `${remote.protocol} ${host}:${remote.port}`;
}

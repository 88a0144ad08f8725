// One stream connection (a flow): a socket, its SIP framer, its idle timer and its queue of
// pending sends. Shared by TCP and TLS; the transport that owns it keeps the indexes.
import type { Socket } from 'node:net';
import { StreamFramer } from '@sipts/message';
import type { Remote, SipMessage } from '@sipts/message';
import { StreamTransportError, osCodeOf } from './errors.js';
import type { StreamTransportErrorCode } from './errors.js';

/** The states of a connection, as small integers (compared on every send). */
export const ConnectionState = {
  Connecting: 0,
  Open: 1,
  Closed: 2,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** What a connection needs from the transport that owns it. */
export interface ConnectionOwner {
  readonly protocol: 'TCP' | 'TLS';
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  readonly maxBufferedBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxContentLength: number;
  connectionOpened(connection: StreamConnection): void;
  connectionMessage(connection: StreamConnection, message: SipMessage): void;
  connectionInvalid(connection: StreamConnection, error: StreamTransportError): void;
  connectionClosed(connection: StreamConnection): void;
  reportError(error: StreamTransportError): void;
}

interface PendingSend {
  resolve: () => void;
  reject: (error: StreamTransportError) => void;
}

// RFC 5626 §4.4.1: the answer to a CRLFCRLF keep-alive ping is a single CRLF pong.
const PONG = Buffer.from('\r\n', 'latin1');

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

  readonly socket: Socket;
  private readonly owner: ConnectionOwner;
  private readonly framer: StreamFramer;
  private readonly pending: PendingSend[] = [];
  /** Messages sent while connecting, written in order once the connection is up. */
  private queued: Array<Uint8Array | string> = [];
  private queuedBytes = 0;
  private closeReason: StreamTransportError | undefined;
  /** The TCP connect of a TLS connection completed (so a later failure is the handshake's). */
  private tcpConnected = false;
  /** A CRLFCRLF keep-alive ping was framed in the chunk being pushed. */
  private pingsSeen = false;

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
      maxHeaderBytes: owner.maxHeaderBytes,
      maxContentLength: owner.maxContentLength,
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
      this.startIdleTimer();
      socket.setNoDelay(true);
    }
  }

  /**
   * Send one whole message; resolves once the socket has taken the bytes. While connecting
   * (TLS: until the handshake completed, so a failed handshake fails the send), data waits here.
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.state === ConnectionState.Closed || this.socket.destroyed) {
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
    this.socket.destroy();
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (this.refs === 0) return;
    this.refs--;
    // The idle timer may have fired while held; restart the idle period from now.
    if (this.refs === 0 && this.state === ConnectionState.Open) this.startIdleTimer();
  }

  private startIdleTimer(): void {
    // net.Socket restarts this timer on every read and write: idle means nothing sent or received.
    this.socket.setTimeout(this.owner.idleTimeout > 0 ? this.owner.idleTimeout : 0);
  }

  /** The error for a send that cannot complete: the reason the connection closed, if telling. */
  private closedError(why: string): StreamTransportError {
    const reason = this.closeReason;
    if (reason !== undefined && reason.code !== 'ERR_FRAMING') return reason;
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

  private readonly onTcpConnect = (): void => {
    this.tcpConnected = true;
  };

  private readonly onReady = (): void => {
    if (this.state !== ConnectionState.Connecting) return;
    const socket = this.socket;
    this.state = ConnectionState.Open;
    socket.setNoDelay(true);
    this.startIdleTimer();
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const data of queued) socket.write(data, this.onWritten);
    this.owner.connectionOpened(this);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.framer.push(chunk);
    // RFC 5626 §4.4.1: answer keep-alive pings with one CRLF pong per chunk at most, so a flood
    // of CRLFs never makes us write more than the peer sent.
    if (this.pingsSeen) {
      this.pingsSeen = false;
      if (this.state === ConnectionState.Open) this.socket.write(PONG);
    }
  };

  private readonly onKeepAlive = (): void => {
    this.pingsSeen = true;
  };

  private readonly onFramedMessage = (message: SipMessage): void => {
    this.owner.connectionMessage(this, message);
  };

  private readonly onInvalidMessage = (error: Error): void => {
    this.owner.connectionInvalid(
      this,
      new StreamTransportError('ERR_INVALID_MESSAGE', `dropped an unparsable message from ${describe(this.remote)}: ${error.message}`, {
        remote: this.remote,
        cause: error,
      }),
    );
  };

  private readonly onFramingError = (error: Error): void => {
    const framing = new StreamTransportError('ERR_FRAMING', `closing the connection from ${describe(this.remote)}: ${error.message}`, {
      remote: this.remote,
      cause: error,
    });
    this.closeReason ??= framing;
    this.owner.reportError(framing);
    this.socket.destroy();
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

  private readonly onTimeout = (): void => {
    if (this.state === ConnectionState.Connecting) {
      this.destroy(
        new StreamTransportError('ERR_CONNECT_TIMEOUT', `no connection to ${describe(this.remote)} within ${this.owner.connectTimeout} ms`, {
          remote: this.remote,
        }),
      );
    } else if (this.refs === 0) {
      this.destroy(
        new StreamTransportError('ERR_CONNECTION_CLOSED', `closed idle connection with ${describe(this.remote)}`, {
          remote: this.remote,
        }),
      );
    }
    // Held (refs > 0): stay open; unref() restarts the idle period.
  };

  private readonly onClose = (): void => {
    this.state = ConnectionState.Closed;
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

/** `TCP 192.0.2.1:5060` / `TLS [2001:db8::1]:5061`, for messages. */
export function describe(remote: Remote): string {
  const host = remote.address.indexOf(':') !== -1 ? `[${remote.address}]` : remote.address;
  return `${remote.protocol} ${host}:${remote.port}`;
}

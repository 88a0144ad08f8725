// SIP over UDP (RFC 3261 §18): one datagram carries one message. Requests get `received` and
// `rport` stamped on their top Via (RFC 3581); malformed requests are answered 400; nothing
// the network sends can throw out of this class.
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { invalidLimitOption, messageLimits, normalizeAddress, readMessage } from '@sipts/message';
import type { BoundAddress, InboundRejection, MessageLimits, Remote, SipMessage, TransportEvents } from '@sipts/message';
import { UdpTransportError } from './errors.js';
import { DelayProbe, isProbe } from './delay-probe.js';
import { isStun, stunBindingResponse } from './stun.js';

/** Peer address strings kept as one instance each (see #peerAddress). */
const MAX_INTERNED_ADDRESSES = 4096;
/** RFC 3261 §18.1.1: without a known path MTU, a request over 1300 bytes must not go over UDP. */
export const UDP_MTU_ALLOWANCE = 1300;
/** Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const UDP_MAX_PAYLOAD_IPV4 = 65507;
/** Largest UDP payload over IPv6 without jumbograms: 65535 - 8 (UDP header). */
export const UDP_MAX_PAYLOAD_IPV6 = 65527;

const DEFAULT_PORT = 5060;
const DEFAULT_RECV_BUFFER_SIZE = 8 * 1024 * 1024;

/** The `sip`-style logger hook. Every method is optional and its exceptions are swallowed. */
export interface UdpTransportLogger {
  /** Called with the bytes about to be sent and their target. */
  send?(data: Uint8Array | string, target: Remote): void;
  /** Called with each valid message before it is emitted. */
  recv?(message: SipMessage, remote: Remote): void;
  /** Dropped datagrams, failed 400 replies, socket errors, buffer size failures. */
  error?(error: Error): void;
  /** Non-fatal notices, such as the OS granting a smaller receive buffer than asked. */
  warn?(message: string): void;
}

/**
 * Raw-bytes capture (HEP, pcap-like tools): every valid SIP message received and every message
 * sent, with the peer and `remote.local` set to our end. Off (undefined) by default; then it
 * costs one check per message. Exceptions thrown by it are swallowed.
 */
export type UdpCaptureHook = (direction: 'in' | 'out', data: Uint8Array, remote: Remote) => void;

export interface UdpTransportOptions {
  /** Port to bind (`sip`'s `port`); 0 picks a free port. Default 5060. */
  port?: number | undefined;
  /**
   * Address to bind (`sip`'s `address`). Default: all interfaces, dual-stack (`::` accepting
   * IPv4 as well) where the OS allows, else `0.0.0.0`. An IPv4 address binds udp4, an IPv6
   * address (with or without brackets) udp6.
   */
  address?: string | undefined;
  /** For an IPv6 bind: refuse IPv4 (no dual-stack). Default false. */
  ipv6Only?: boolean | undefined;
  /** Largest header section in bytes, handed to the parser. Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for `maxHeaderBytes`, read when that is not set. */
  maxBytesHeaders?: number | undefined;
  /** Body limit in bytes. Default 604800. */
  maxContentLength?: number | undefined;
  /**
   * SO_RCVBUF in bytes, set after binding. Default 8 MiB: a garbage-collection pause of a few
   * hundred ms at thousands of datagrams per second overflows the OS default (~208 KiB) and
   * the kernel drops requests silently. Linux caps it at `net.core.rmem_max`; a smaller grant
   * is reported through `logger.warn` and readable with `bufferSizes()`. 0 keeps the OS default.
   */
  recvBufferSize?: number | undefined;
  /** SO_SNDBUF in bytes, set after binding. Default: the OS default. */
  sendBufferSize?: number | undefined;
  /**
   * RFC 3261 §18.1.1 allowance for requests sent without `allowOversize`. Default 1300
   * (path MTU unknown). Set it to MTU - 200 when the path MTU is known.
   */
  mtuAllowance?: number | undefined;
  logger?: UdpTransportLogger | undefined;
  /** Raw-bytes capture of every message in and out (see `setCapture`). Default none. */
  capture?: UdpCaptureHook | undefined;
}

/** Per-send options; same shape as `SendOptions` of `@sipts/transaction`. */
export interface UdpSendOptions {
  /** Send a request over the MTU allowance anyway (no congestion-controlled transport to use). */
  allowOversize?: boolean | undefined;
}

/** Bound address, as `Transport.address()` returns it. */
export type UdpBoundAddress = BoundAddress;

/** The events of every transport (UDP never emits the connection ones). */
export type UdpTransportEvents = TransportEvents;

/** Counters for what the transport did with the datagrams it saw. */
export interface UdpTransportStats {
  /** Valid messages emitted. */
  received: number;
  /** Datagrams dropped: unparseable, missing mandatory headers, responses or ACKs that were bad. */
  dropped: number;
  /** 400 responses sent for malformed requests. */
  badRequests: number;
  /** Empty or CRLF-only datagrams ignored (keep-alives). */
  keepAlives: number;
  /** STUN Binding keep-alives answered (RFC 5626 §4.4.2). */
  stunBindings: number;
  /** Datagrams handed to the socket. */
  sent: number;
  /** Sends rejected (by a check or by the socket). */
  sendErrors: number;
  /** Bytes of every datagram received (STUN and keep-alives included) / sent by `send()`. */
  bytesReceived: number;
  bytesSent: number;
}

type State = 'idle' | 'binding' | 'listening' | 'closed';

/** What `listen()` decided about the socket family and the address to bind. */
interface BindPlan {
  type: SocketType;
  address: string;
  /** Fall back to udp4 on 0.0.0.0 if IPv6 is unavailable (default address only). */
  fallback: boolean;
}

const RESPONSE_PREFIX = [0x53, 0x49, 0x50, 0x2f]; // "SIP/"

function isResponseBytes(data: Uint8Array): boolean {
  return (
    data.length > 4 &&
    data[0] === RESPONSE_PREFIX[0] &&
    data[1] === RESPONSE_PREFIX[1] &&
    data[2] === RESPONSE_PREFIX[2] &&
    data[3] === RESPONSE_PREFIX[3]
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * dgram's address lookup, for the socket of a transport. send() only ever passes an IP literal
 * (it checks), for which the default `dns.lookup` just defers its answer to the next tick: a
 * queued callback and a bound function per datagram. This answers at once; anything else (never
 * expected) still goes to `dns.lookup`.
 */
const literalLookup = ((hostname: string, options: unknown, callback: (error: Error | null, address: string, family: number) => void): void => {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else (dnsLookup as (h: string, o: unknown, c: typeof callback) => void)(hostname, options, callback);
}) as unknown as typeof dnsLookup;

/**
 * The UDP transport: an EventEmitter satisfying `Transport` of `@sipts/transaction` by shape.
 * Events: `message(message, remote)`, `error(error)` (only when someone listens; otherwise
 * the error goes to `logger.error`). UDP has no connections, so `connectionOpen` /
 * `connectionClose` are never emitted.
 */
export class UdpTransport extends EventEmitter<UdpTransportEvents> {
  readonly protocol = 'UDP' as const;
  readonly reliable = false as const;

  readonly #options: UdpTransportOptions;
  readonly #logger: UdpTransportLogger | undefined;
  readonly #limits: MessageLimits;
  readonly #mtuAllowance: number;
  readonly #stats: UdpTransportStats = {
    received: 0,
    dropped: 0,
    badRequests: 0,
    keepAlives: 0,
    stunBindings: 0,
    sent: 0,
    sendErrors: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
  #capture: UdpCaptureHook | undefined;

  #state: State = 'idle';
  #socket: Socket | undefined;
  #bound: UdpBoundAddress | undefined;
  /**
   * Our end, shared (frozen) by every remote this transport reports: a proxy keeps a remote per
   * transaction for up to 32 s, so a copy per datagram would be live heap for nothing.
   */
  #local: Readonly<{ address: string; port: number }> | undefined;
  /**
   * The peers' address strings, one instance each: dgram makes a new string per datagram, and
   * transactions keep them (RFC 3261 §17: 32 s). Bounded; emptied when full.
   */
  readonly #addresses = new Map<string, string>();
  /** udp6 socket that also reaches IPv4 peers through IPv4-mapped addresses. */
  #dualStack = false;
  #listening: Promise<UdpBoundAddress> | undefined;
  #closing: Promise<void> | undefined;
  #bufferSizes: { recv: number; send: number } | undefined;
  #probe: DelayProbe | undefined;

  constructor(options: UdpTransportOptions = {}) {
    super();
    this.#options = options;
    this.#logger = options.logger;
    validateOptions(options);
    this.setCapture(options.capture);
    this.#limits = messageLimits(options);
    this.#mtuAllowance = options.mtuAllowance ?? UDP_MTU_ALLOWANCE;
    this.onDatagram = this.onDatagram.bind(this);
    this.onSocketError = this.onSocketError.bind(this);
  }

  /**
   * Install (or with undefined, remove) the raw-bytes capture hook: valid messages received
   * (after parsing, before they are emitted) and messages sent (when handed to the socket).
   */
  setCapture(hook: UdpCaptureHook | undefined): void {
    if (hook !== undefined && typeof hook !== 'function') throw new UdpTransportError('ERR_INVALID_OPTION', 'options.capture must be a function');
    this.#capture = hook;
  }

  /** Counters since construction (a copy). */
  stats(): UdpTransportStats {
    return { ...this.#stats };
  }

  /** SO_RCVBUF / SO_SNDBUF as the OS reports them after binding (Linux reports double the grant). */
  bufferSizes(): { recv: number; send: number } | undefined {
    return this.#bufferSizes === undefined ? undefined : { ...this.#bufferSizes };
  }

  address(): UdpBoundAddress | undefined {
    return this.#bound === undefined ? undefined : { ...this.#bound };
  }

  /** Bind the socket. Resolves with the bound address; rejects with `ERR_LISTEN`. */
  listen(): Promise<UdpBoundAddress> {
    if (this.#state === 'closed') {
      return Promise.reject(new UdpTransportError('ERR_TRANSPORT_CLOSED', 'the UDP transport is closed'));
    }
    this.#listening ??= this.#bind();
    return this.#listening;
  }

  async #bind(): Promise<UdpBoundAddress> {
    this.#state = 'binding';
    const port = this.#options.port ?? DEFAULT_PORT;
    const plan = this.#plan();
    let socket: Socket;
    try {
      socket = await this.#bindSocket(plan.type, plan.address, port);
    } catch (error) {
      // The default address prefers dual-stack; a host without IPv6 gets plain udp4.
      const code = (error as NodeJS.ErrnoException).code;
      if (!plan.fallback || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL' && code !== 'EPROTONOSUPPORT')) {
        this.#bindFailed();
        throw new UdpTransportError('ERR_LISTEN', `cannot bind UDP ${plan.address}:${port}: ${errorMessage(error)}`, { cause: error });
      }
      try {
        socket = await this.#bindSocket('udp4', '0.0.0.0', port);
      } catch (error2) {
        this.#bindFailed();
        throw new UdpTransportError('ERR_LISTEN', `cannot bind UDP 0.0.0.0:${port}: ${errorMessage(error2)}`, { cause: error2 });
      }
    }
    if ((this.#state as State) === 'closed') {
      // close() ran while binding: release the socket we just got.
      socket.close();
      throw new UdpTransportError('ERR_TRANSPORT_CLOSED', 'the UDP transport was closed while binding');
    }
    this.#socket = socket;
    socket.on('message', this.onDatagram);
    socket.on('error', this.onSocketError);
    const info = socket.address();
    const family = info.family === 'IPv6' ? 'IPv6' : 'IPv4';
    this.#bound = { address: info.address, port: info.port, family };
    this.#local = Object.freeze({ address: info.address, port: info.port });
    this.#dualStack = family === 'IPv6' && this.#options.ipv6Only !== true && info.address === '::';
    this.#setBufferSizes(socket);
    this.#state = 'listening';
    return { ...this.#bound };
  }

  /** A failed bind leaves the transport as before, so listen() may be tried again (unless closed). */
  #bindFailed(): void {
    if (this.#state !== 'closed') {
      this.#state = 'idle';
      this.#listening = undefined;
    }
  }

  #plan(): BindPlan {
    const requested = this.#options.address;
    if (requested === undefined || requested === '') return { type: 'udp6', address: '::', fallback: this.#options.ipv6Only !== true };
    const address = normalizeAddress(requested);
    return { type: isIP(address) === 6 ? 'udp6' : 'udp4', address, fallback: false };
  }

  #bindSocket(type: SocketType, address: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      let socket: Socket;
      try {
        socket = createSocket({ type, ipv6Only: this.#options.ipv6Only === true, lookup: literalLookup });
      } catch (error) {
        reject(error);
        return;
      }
      const onError = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      try {
        socket.bind({ port, address, exclusive: true }, () => {
          socket.off('error', onError);
          resolve(socket);
        });
      } catch (error) {
        socket.off('error', onError);
        reject(error);
      }
    });
  }

  #setBufferSizes(socket: Socket): void {
    const recv = this.#options.recvBufferSize ?? DEFAULT_RECV_BUFFER_SIZE;
    const send = this.#options.sendBufferSize;
    if (recv > 0) {
      try {
        socket.setRecvBufferSize(recv);
      } catch (error) {
        this.#report(new UdpTransportError('ERR_UDP_BUFFER_SIZE', `cannot set the UDP receive buffer to ${recv} bytes: ${errorMessage(error)}`, { cause: error }));
      }
    }
    if (send !== undefined && send > 0) {
      try {
        socket.setSendBufferSize(send);
      } catch (error) {
        this.#report(new UdpTransportError('ERR_UDP_BUFFER_SIZE', `cannot set the UDP send buffer to ${send} bytes: ${errorMessage(error)}`, { cause: error }));
      }
    }
    try {
      this.#bufferSizes = { recv: socket.getRecvBufferSize(), send: socket.getSendBufferSize() };
      // Linux reports twice the granted size; a grant below the request means rmem_max capped it.
      if (recv > 0 && this.#bufferSizes.recv < recv) {
        this.#warn(
          `UDP receive buffer is ${this.#bufferSizes.recv} bytes, less than the ${recv} requested ` +
            '(raise net.core.rmem_max, or the kernel drops datagrams during event-loop pauses)',
        );
      }
    } catch {
      this.#bufferSizes = undefined;
    }
  }

  /**
   * Send one whole message in one datagram. `target.address` is an IP literal (IPv6 with or
   * without brackets); names are resolved above this layer (RFC 3263). Rejects with a
   * `UdpTransportError`: `ERR_UDP_TOO_LARGE`, `ERR_UDP_MTU` (a request over the allowance
   * without `allowOversize`; responses are exempt), `ERR_INVALID_TARGET`, `ERR_UDP_FAMILY`,
   * `ERR_NOT_LISTENING`, `ERR_TRANSPORT_CLOSED`, `ERR_UDP_SEND`.
   */
  send(data: Uint8Array | string, target: Remote, options?: UdpSendOptions): Promise<void> {
    const socket = this.#socket;
    if (this.#state !== 'listening' || socket === undefined) {
      return this.#sendFailed(
        this.#state === 'closed'
          ? new UdpTransportError('ERR_TRANSPORT_CLOSED', 'the UDP transport is closed', { remote: target })
          : new UdpTransportError('ERR_NOT_LISTENING', 'send() before listen() resolved', { remote: target }),
      );
    }
    const address = typeof target.address === 'string' ? normalizeAddress(target.address) : '';
    const family = isIP(address);
    const port = target.port;
    if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      return this.#sendFailed(
        new UdpTransportError('ERR_INVALID_TARGET', `invalid UDP target ${String(target.address)}:${String(port)} (an IP literal and a port are required)`, { remote: target }),
      );
    }
    let destination = address;
    if (this.#bound?.family === 'IPv4' && family === 6) {
      return this.#sendFailed(new UdpTransportError('ERR_UDP_FAMILY', `cannot reach IPv6 ${address} from a udp4 socket`, { remote: target }));
    }
    if (this.#bound?.family === 'IPv6' && family === 4) {
      if (!this.#dualStack) {
        return this.#sendFailed(new UdpTransportError('ERR_UDP_FAMILY', `cannot reach IPv4 ${address} from an IPv6-only socket`, { remote: target }));
      }
      destination = `::ffff:${address}`;
    }

    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const max = family === 4 ? UDP_MAX_PAYLOAD_IPV4 : UDP_MAX_PAYLOAD_IPV6;
    if (bytes.length > max) {
      return this.#sendFailed(
        new UdpTransportError('ERR_UDP_TOO_LARGE', `a ${bytes.length}-byte message does not fit in a UDP datagram (max ${max} bytes over IPv${family})`, { remote: target }),
      );
    }
    // RFC 3261 §18.1.1 concerns requests; responses go back the way the request came (§18.2.2).
    if (bytes.length > this.#mtuAllowance && options?.allowOversize !== true && !isResponseBytes(bytes)) {
      return this.#sendFailed(
        new UdpTransportError('ERR_UDP_MTU', `a ${bytes.length}-byte request exceeds the UDP allowance of ${this.#mtuAllowance} bytes (RFC 3261 §18.1.1): use a congestion-controlled transport or allowOversize`, { remote: target }),
      );
    }

    this.#log('send', data, target);
    if (this.#capture !== undefined) this.#captured('out', bytes, { protocol: 'UDP', address, port, local: this.#local });
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(bytes, port, destination, (error) => {
          if (error) {
            this.#stats.sendErrors++;
            reject(new UdpTransportError('ERR_UDP_SEND', `UDP send to ${address}:${port} failed: ${error.message}`, { cause: error, remote: target }));
          } else {
            this.#stats.sent++;
            this.#stats.bytesSent += bytes.length;
            resolve();
          }
        });
      } catch (error) {
        // dgram throws synchronously for a socket closed under us (ERR_SOCKET_DGRAM_NOT_RUNNING).
        this.#stats.sendErrors++;
        reject(new UdpTransportError('ERR_UDP_SEND', `UDP send to ${address}:${port} failed: ${errorMessage(error)}`, { cause: error, remote: target }));
      }
    });
  }

  #sendFailed(error: UdpTransportError): Promise<never> {
    this.#stats.sendErrors++;
    return Promise.reject(error);
  }

  /** Release the socket. Idempotent; pending sends settle through dgram's callbacks. */
  /**
   * The receive delay in ms: how long a datagram arriving now waits before this transport reads
   * it (kernel queue + event loop), measured by a probe sent to our own socket. Each call sends
   * a probe unless one sent less than a second ago is in flight (a full queue may drop a probe,
   * so an older one gets a successor) and returns the latest estimate (0 before the first one).
   * A stack calls it every few tens of ms to decide on load shedding.
   */
  receiveDelay(): number {
    const bound = this.#bound;
    if (this.#state !== 'listening' || bound === undefined) return 0;
    this.#probe ??= new DelayProbe();
    const v6 = bound.family === 'IPv6';
    const wildcard = bound.address === '::' || bound.address === '0.0.0.0';
    const address = wildcard ? (v6 ? '::1' : '127.0.0.1') : bound.address;
    return this.#probe.tick(address, bound.port, v6 ? 'udp6' : 'udp4', performance.now());
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closed';
    this.#probe?.close();
    this.#probe = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#bound = undefined;
    this.#closing = new Promise<void>((resolve) => {
      if (socket === undefined) {
        resolve();
        return;
      }
      socket.off('message', this.onDatagram);
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.#closing;
  }

  /**
   * RFC 3261 §18.1.1: the largest request this transport sends without `allowOversize` (the
   * `mtuAllowance` option). A stack compares the bytes it is about to send with it.
   */
  get mtuAllowance(): number {
    return this.#mtuAllowance;
  }

  /** dgram 'message' handler (bound once in the constructor). */
  private onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    const local = this.#local;
    if (local === undefined) return;
    this.#stats.bytesReceived += data.length;
    if ((data[0] as number) < 3) {
      if (isStun(data)) {
        this.#stun(data, rinfo);
        return;
      }
      if (isProbe(data) && this.#probe?.receive(data, performance.now()) === true) return;
    }
    const remote: Remote = { protocol: 'UDP', address: this.#peerAddress(rinfo.address), port: rinfo.port, local };
    const inbound = readMessage(data, remote, this.#limits);
    switch (inbound.kind) {
      case 'message':
        this.#stats.received++;
        this.#log('recv', inbound.message, remote);
        if (this.#capture !== undefined) this.#captured('in', data, remote);
        this.emit('message', inbound.message, remote);
        return;
      case 'keepalive':
        // RFC 5626 §4.4.1 pings are for streams; on UDP they are noise and never answered.
        this.#stats.keepAlives++;
        return;
      case 'rejected':
        this.#reject(inbound, remote);
        return;
    }
  }

  #peerAddress(raw: string): string {
    const known = this.#addresses.get(raw);
    if (known !== undefined) return known;
    if (this.#addresses.size >= MAX_INTERNED_ADDRESSES) this.#addresses.clear();
    const address = normalizeAddress(raw);
    this.#addresses.set(raw, address);
    return address;
  }

  /** RFC 5626 §4.4.2: a STUN Binding keep-alive on the SIP port gets its Binding response. */
  #stun(data: Buffer, rinfo: RemoteInfo): void {
    const socket = this.#socket;
    const response = stunBindingResponse(data, normalizeAddress(rinfo.address), rinfo.port);
    if (response === undefined || socket === undefined) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.stunBindings++;
    try {
      // Back to the exact source (an IPv4-mapped one stays mapped on a dual-stack socket).
      socket.send(response, rinfo.port, rinfo.address, (error) => {
        if (error) this.#report(new UdpTransportError('ERR_UDP_SEND', `STUN response to ${rinfo.address}:${rinfo.port} failed: ${error.message}`, { cause: error }), false);
      });
    } catch (error) {
      this.#report(new UdpTransportError('ERR_UDP_SEND', `STUN response to ${rinfo.address}:${rinfo.port} failed: ${errorMessage(error)}`, { cause: error }), false);
    }
  }

  /** A datagram that is not a valid message: answer 400/505 if it is a request, else drop it. */
  #reject(rejection: InboundRejection, remote: Remote): void {
    const response = rejection.reply;
    this.#report(
      new UdpTransportError(
        'ERR_INVALID_MESSAGE',
        `invalid SIP message from ${remote.address}:${remote.port}: ${rejection.error.message}${response ? ` (answered ${rejection.status})` : ' (dropped)'}`,
        { cause: rejection.error, remote },
      ),
      false,
    );
    const socket = this.#socket;
    if (response === undefined || socket === undefined) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.badRequests++;
    const destination = this.#dualStack && isIP(remote.address) === 4 ? `::ffff:${remote.address}` : remote.address;
    try {
      socket.send(response, remote.port, destination, (sendError) => {
        if (sendError) this.#report(new UdpTransportError('ERR_UDP_SEND', `sending ${rejection.status} to ${remote.address}:${remote.port} failed: ${sendError.message}`, { cause: sendError, remote }), false);
      });
    } catch (sendError) {
      this.#report(new UdpTransportError('ERR_UDP_SEND', `sending ${rejection.status} to ${remote.address}:${remote.port} failed: ${errorMessage(sendError)}`, { cause: sendError, remote }), false);
    }
  }

  /** dgram 'error' handler (bound once in the constructor). */
  private onSocketError(error: Error): void {
    this.#report(new UdpTransportError('ERR_UDP_SOCKET', `UDP socket error: ${error.message}`, { cause: error }));
  }

  /**
   * Errors with no caller to reject: to `logger.error`, and as an 'error' event when `emit` and
   * someone listens (an unheard 'error' event would throw out of the EventEmitter).
   */
  #report(error: UdpTransportError, emit = true): void {
    const logger = this.#logger;
    if (logger?.error !== undefined) {
      try {
        logger.error(error);
      } catch {
        // A broken logger must not break the transport.
      }
    }
    if (emit && this.listenerCount('error') > 0) this.emit('error', error);
  }

  #warn(message: string): void {
    try {
      this.#logger?.warn?.(message);
    } catch {
      // A broken logger must not break the transport.
    }
  }

  #captured(direction: 'in' | 'out', data: Uint8Array, remote: Remote): void {
    try {
      (this.#capture as UdpCaptureHook)(direction, data, remote);
    } catch {
      // A broken capture hook must not break the transport.
    }
  }

  #log(kind: 'send', data: Uint8Array | string, remote: Remote): void;
  #log(kind: 'recv', data: SipMessage, remote: Remote): void;
  #log(kind: 'send' | 'recv', data: Uint8Array | string | SipMessage, remote: Remote): void {
    const logger = this.#logger;
    if (logger === undefined) return;
    try {
      if (kind === 'send') logger.send?.(data as Uint8Array | string, remote);
      else logger.recv?.(data as SipMessage, remote);
    } catch {
      // A broken logger must not break the transport.
    }
  }
}

function validateOptions(options: UdpTransportOptions): void {
  const limit = invalidLimitOption(options);
  if (limit !== undefined) throw new UdpTransportError('ERR_INVALID_OPTION', `options.${limit} must be a positive integer number of bytes`);
  const port = options.port;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new UdpTransportError('ERR_INVALID_OPTION', 'options.port must be an integer in 0..65535');
  }
  for (const name of ['recvBufferSize', 'sendBufferSize', 'mtuAllowance'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw new UdpTransportError('ERR_INVALID_OPTION', `options.${name} must be a non-negative integer number of bytes`);
    }
  }
  if (options.address !== undefined && typeof options.address !== 'string') {
    throw new UdpTransportError('ERR_INVALID_OPTION', 'options.address must be a string');
  }
}

/** `new UdpTransport(options)`. */
export function createUdpTransport(options: UdpTransportOptions = {}): UdpTransport {
  return new UdpTransport(options);
}

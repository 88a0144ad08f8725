// Sending HEP packets to a collector without ever holding up SIP: every send is fire-and-forget,
// what waits is bounded (`maxQueue` packets in flight or waiting for a connection, `maxBufferedBytes`
// in a TCP socket), and whatever does not fit is dropped and counted.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP, connect, type Socket as TcpSocket } from 'node:net';
import { HepError } from './errors.js';

export interface HepSenderOptions {
  /** The collector, `host:port` (`[v6]:port` for IPv6) or `{ host, port }`. */
  target: string | { host: string; port: number };
  /** `udp` (default, what Homer's heplify-server listens to on 9060) or `tcp`. */
  transport?: 'udp' | 'tcp' | undefined;
  /** Packets that may be in flight (UDP) or wait for the TCP connection. Default 1000. */
  maxQueue?: number | undefined;
  /** Bytes that may wait in the TCP socket before packets are dropped. Default 1 MiB. */
  maxBufferedBytes?: number | undefined;
  /** Delay before reconnecting a lost TCP connection, ms. Default 1000. */
  reconnectDelay?: number | undefined;
  /** Send failures (never thrown). Default: ignored (counted in `stats().errors`). */
  onError?: ((error: HepError) => void) | undefined;
}

/** What a sender did since it was created. */
export interface HepSenderStats {
  /** Packets handed to the socket. */
  sent: number;
  /** Packets dropped because the queue or the TCP buffer was full, or the sender was closed. */
  dropped: number;
  /** Packets lost to a socket error. */
  errors: number;
  /** Packets waiting now (UDP: in flight; TCP: waiting for the connection). */
  queued: number;
}

type State = 'connecting' | 'open' | 'closed';

/** Parses `host:port`, `[v6]:port` or `{ host, port }`. Throws `ERR_INVALID_OPTION`. */
export function parseHepTarget(target: HepSenderOptions['target']): { host: string; port: number } {
  let host: string;
  let port: number;
  if (typeof target === 'string') {
    const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(target) ?? /^([^:[\]]+):(\d{1,5})$/.exec(target);
    if (m === null) throw new HepError('ERR_INVALID_OPTION', `HEP target "${target}" is not host:port`);
    host = m[1] as string;
    port = Number(m[2]);
  } else if (typeof target === 'object' && target !== null) {
    host = target.host;
    port = target.port;
  } else {
    throw new HepError('ERR_INVALID_OPTION', 'options.target must be host:port or { host, port }');
  }
  if (typeof host !== 'string' || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new HepError('ERR_INVALID_OPTION', `HEP target ${String(host)}:${String(port)} needs a host and a port in 1..65535`);
  }
  return { host, port };
}

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new HepError('ERR_INVALID_OPTION', `options.${name} must be a positive integer`);
  return value;
}

export class HepSender {
  readonly #host: string;
  /** The collector's address: the host, or what a host name resolved to (looked up once). */
  #address: string | undefined;
  readonly #port: number;
  readonly #tcp: boolean;
  readonly #maxQueue: number;
  readonly #maxBuffered: number;
  readonly #reconnectDelay: number;
  readonly #onError: ((error: HepError) => void) | undefined;
  readonly #stats: HepSenderStats = { sent: 0, dropped: 0, errors: 0, queued: 0 };
  #state: State = 'connecting';
  #udp: UdpSocket | undefined;
  #socket: TcpSocket | undefined;
  #waiting: Uint8Array[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #udpSent = (error: Error | null): void => {
    this.#stats.queued--;
    if (error) this.#failed(error);
  };

  /** Throws `HepError` `ERR_INVALID_OPTION`. */
  constructor(options: HepSenderOptions) {
    if (typeof options !== 'object' || options === null) throw new HepError('ERR_INVALID_OPTION', 'options must be an object');
    const { host, port } = parseHepTarget(options.target);
    this.#host = host;
    this.#port = port;
    const transport = options.transport ?? 'udp';
    if (transport !== 'udp' && transport !== 'tcp') throw new HepError('ERR_INVALID_OPTION', 'options.transport must be "udp" or "tcp"');
    this.#tcp = transport === 'tcp';
    this.#maxQueue = positiveInteger(options.maxQueue, 'maxQueue', 1000);
    this.#maxBuffered = positiveInteger(options.maxBufferedBytes, 'maxBufferedBytes', 1024 * 1024);
    this.#reconnectDelay = positiveInteger(options.reconnectDelay, 'reconnectDelay', 1000);
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new HepError('ERR_INVALID_OPTION', 'options.onError must be a function');
    this.#onError = options.onError;
    if (this.#tcp) this.#connect();
    else this.#openUdp();
  }

  stats(): HepSenderStats {
    return { ...this.#stats };
  }

  /** Queue one packet; never throws, never waits. Returns false when it was dropped. */
  send(packet: Uint8Array): boolean {
    if (this.#state === 'closed') {
      this.#stats.dropped++;
      return false;
    }
    if (this.#tcp) return this.#sendTcp(packet);
    const address = this.#address;
    if (this.#stats.queued >= this.#maxQueue || this.#udp === undefined || address === undefined) {
      this.#stats.dropped++;
      return false;
    }
    this.#stats.queued++;
    this.#stats.sent++;
    try {
      this.#udp.send(packet, this.#port, address, this.#udpSent);
    } catch (error) {
      this.#stats.queued--;
      this.#failed(error);
    }
    return true;
  }

  /** Stop: waiting packets are dropped (counted), sockets closed. */
  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#stats.dropped += this.#waiting.length;
    this.#stats.queued -= this.#waiting.length;
    this.#waiting = [];
    const closing: Promise<void>[] = [];
    const udp = this.#udp;
    if (udp !== undefined) closing.push(new Promise((resolve) => udp.close(() => resolve())));
    const socket = this.#socket;
    if (socket !== undefined) closing.push(new Promise<void>((resolve) => socket.end(() => resolve())).then(() => void socket.destroy()));
    return Promise.all(closing).then(() => undefined);
  }

  #openUdp(): void {
    if (isIP(this.#host) !== 0) {
      this.#openUdpTo(this.#host);
      return;
    }
    // A name is resolved once, not by dgram on every send; until then packets are dropped.
    lookup(this.#host, (error, address) => {
      if (this.#state === 'closed') return;
      if (error) this.#failed(error);
      else this.#openUdpTo(address);
    });
  }

  #openUdpTo(address: string): void {
    const udp = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    udp.on('error', (error) => this.#failed(error));
    udp.unref();
    this.#address = address;
    this.#udp = udp;
    this.#state = 'open';
  }

  #sendTcp(packet: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#state === 'open' && socket !== undefined) {
      if (socket.writableLength > this.#maxBuffered) {
        this.#stats.dropped++;
        return false;
      }
      this.#stats.sent++;
      socket.write(packet);
      return true;
    }
    if (this.#waiting.length >= this.#maxQueue) {
      this.#stats.dropped++;
      return false;
    }
    this.#waiting.push(packet);
    this.#stats.queued++;
    return true;
  }

  #connect(): void {
    this.#timer = undefined;
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    const socket = connect({ host: this.#host, port: this.#port });
    this.#socket = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.#state === 'closed') return;
      this.#state = 'open';
      const waiting = this.#waiting;
      this.#waiting = [];
      this.#stats.queued -= waiting.length;
      for (const packet of waiting) {
        this.#stats.sent++;
        socket.write(packet);
      }
    });
    socket.on('error', (error) => this.#failed(error));
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#state === 'closed') return;
      this.#state = 'connecting';
      this.#timer = setTimeout(() => this.#connect(), this.#reconnectDelay);
      this.#timer.unref();
    });
  }

  #failed(cause: unknown): void {
    this.#stats.errors++;
    const onError = this.#onError;
    if (onError === undefined) return;
    try {
      onError(new HepError('ERR_SEND', `HEP to ${this.#host}:${this.#port}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }));
    } catch {
      // A broken callback must not break capture.
    }
  }
}

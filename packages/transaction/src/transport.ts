// The Transport interface: owned by the layer that consumes it (transactions), satisfied by
// shape by @sipts/transport-udp, -tcp, -tls and -ws, which never import this package at run time.
import type { BoundAddress, Remote, TransportEvents, TransportProtocol } from '@sipts/message';

export type { BoundAddress, TransportEvents, TransportProtocol };

export interface SendOptions {
  /**
   * RFC 3261 §18.1.1: a request over 1300 bytes (path MTU unknown) must go over a congestion
   * controlled transport. UDP refuses such a send with `ERR_UDP_MTU` unless the caller sets this
   * (responses, or a stack with no other transport to try).
   */
  allowOversize?: boolean | undefined;
  /**
   * `false`: stream transports send only on a connection that is already open (and reject
   * otherwise); they never open one. For messages nobody asked for, such as a response
   * forwarded by Via alone, whose target a forger could choose. Default true.
   */
  connect?: boolean | undefined;
}

export interface Transport {
  readonly protocol: TransportProtocol;
  /** RFC 3261 §17: reliable transports get no retransmissions and zero-length wait timers. */
  readonly reliable: boolean;
  /** Bind and listen (port 0 picks a free port). */
  listen(): Promise<BoundAddress>;
  /** The bound address after `listen()`, else undefined. */
  address(): BoundAddress | undefined;
  /**
   * Send one whole serialised message. Stream transports send on the exact flow named by
   * `target.local` when given (rejecting when it is gone), else reuse a connection to
   * `target.address:target.port`, else open one. Errors reject with a coded error.
   */
  send(data: Uint8Array | string, target: Remote, options?: SendOptions): Promise<void>;
  on<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this;
  off<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this;
  /** Release every socket and timer. */
  close(): Promise<void>;
}

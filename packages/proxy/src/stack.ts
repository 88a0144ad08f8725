// What the proxy needs from a SIP stack (the port it owns): the shape of @sipts/core's SipStack,
// kept narrow so tests drive the proxy with a fake stack.
import type { Remote, SipMessage, SipRequest, SipResponse, SipUri } from '@sipts/message';

/** Called with every response to a request sent through the stack (provisional and final). */
export type ResponseCallback = (response: SipResponse, remote?: Remote) => void;

/**
 * The stack's handle for the server transaction a request arrived on (@sipts/core's
 * `ServerReply`): a response goes out on that transaction without matching it again by Via,
 * Call-ID and CSeq.
 */
export interface StackReply {
  /** Sends `response` on the transaction; false when the transaction discards it. */
  reply(response: SipResponse): boolean;
  /** True once a final response went out on the transaction. */
  readonly finalSent: boolean;
}

/**
 * Called by the stack with every request outside an existing transaction (and every ACK for a
 * 2xx). `reply` is the handle of its server transaction; a stack that has none (a fake stack,
 * a `sip@0.0.6`-style handler call) leaves it out and the proxy answers through `send`.
 */
export type StackRequestHandler = (request: SipRequest, remote: Remote, reply?: StackReply) => void;

export interface ProxyStack {
  /**
   * Send a response (matched to its server transaction by the top Via) or a request (a new client
   * transaction: the stack adds its own Via on top and calls back with every response).
   */
  send(message: SipMessage, callback?: ResponseCallback): void;
  /**
   * Cancel an INVITE this stack is sending (RFC 3261 §9.1): `request` is the object that was
   * passed to `send`. The INVITE's client transaction sends the CANCEL (same branch, same
   * target) once a provisional response has arrived; the INVITE's callback still gets its final
   * response (normally 487). Does nothing for a request that is unknown or already answered.
   */
  cancel(request: SipRequest): unknown;
  /** Release every socket, transaction and timer. */
  destroy(): void | Promise<void>;
  /** Like destroy, resolving once every socket is closed (preferred by `stop()` when present). */
  close?(): Promise<void>;
  /** The host this stack names itself by (Via sent-by, flow URIs). */
  hostname?(): string;
  /** A URI naming a connection (flow) of this stack, for Route / Record-Route (RFC 5626). */
  encodeFlowUri?(flow: Remote): SipUri;
  /** A flow token URI (RFC 5626 style) minted by this stack decodes to its connection. */
  decodeFlowUri?(uri: string | SipUri): unknown;
  /** Where the stack listens, once it does (port 0 is resolved here). */
  addresses?(): { protocol: string; address: string; port: number }[];
  /** The address the stack puts in Via sent-by. */
  sentBy?(): string;
  /** Resolves when every transport listens. */
  ready?(): Promise<unknown>;
  /**
   * Optional: send a request or response without a transaction (stateless forwarding,
   * RFC 3261 §16.11). Requests keep the Via list they carry (the proxy adds its own, without a
   * branch: the stack computes one from the request and signs it).
   */
  sendStateless?(message: SipMessage): void;
}

/** Builds the stack the proxy runs on; `onRequest` receives every request outside a transaction. */
export type StackFactory<O> = (options: O, onRequest: StackRequestHandler) => ProxyStack;

// What the proxy needs from a SIP stack: the object `create()` of `sip@0.0.6` (and of
// @sipts/core) returns. Kept narrow so tests drive the proxy with a fake stack.
import type { Remote, SipMessage, SipRequest, SipResponse, SipUri } from '@sipts/message';

/** Called with every response to a request sent through the stack (provisional and final). */
export type ResponseCallback = (response: SipResponse, remote?: Remote) => void;

/** Called with every request the stack receives outside an existing transaction. */
export type RequestHandler = (request: SipRequest, remote: Remote) => void;

export interface ProxyStack {
  /**
   * Send a response (matched to its server transaction by the top Via) or a request (a new client
   * transaction; the stack adds its own Via on top, except on CANCEL, which carries the Via of the
   * request it cancels, and calls back with every response).
   */
  send(message: SipMessage, callback?: ResponseCallback): void;
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
export type StackFactory<O> = (options: O, onRequest: RequestHandler) => ProxyStack;

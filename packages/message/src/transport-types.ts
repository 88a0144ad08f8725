// The shapes every transport shares, defined once: transports (which never import the
// transaction layer at run time) and the Transport interface of @sipts/transaction both use them.
import type { Remote, SipMessage } from './types.js';

/** The transports of RFC 3261 §18 and RFC 7118. */
export type TransportProtocol = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/** Where a transport is bound once it listens. */
export interface BoundAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** Events a transport emits (an EventEmitter with these typed events). */
export interface TransportEvents {
  /** A whole, parsed message with the mandatory headers present (Via, From, To, Call-ID, CSeq). */
  message: [message: SipMessage, remote: Remote];
  /** An I/O or protocol error that has no caller to reject; never thrown. */
  error: [error: Error];
  /** A stream/WebSocket connection (flow) opened or closed; `remote.local` names it. */
  connectionOpen: [remote: Remote];
  connectionClose: [remote: Remote];
}

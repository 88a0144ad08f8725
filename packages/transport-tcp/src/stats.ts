// The counters a stream transport keeps (see README, "Limits and defenses").

/** What a stream transport did, since it was created; `stats()` returns a copy. */
export interface StreamTransportStats {
  /** Connections open now: inbound (TLS handshakes included) and outbound, closing ones too. */
  connections: number;
  /** Inbound connections accepted (not refused). */
  accepted: number;
  /** Valid messages emitted as `message`. */
  received: number;
  /** Messages handed to a socket by `send()`. */
  sent: number;
  /** CRLFCRLF keep-alive pings answered with a pong (RFC 5626 §4.4.1). */
  keepAlives: number;
  /** 400 (or 505) responses sent to a malformed request before closing its connection. */
  badRequests: number;
  /** Framed messages rejected (missing or malformed Via, From, To, Call-ID, CSeq, or a header that does not parse); the connection was closed. */
  invalidMessages: number;
  /** Connections closed because their bytes could not be framed (header or body over the limit, no or bad Content-Length, garbage). */
  framingErrors: number;
  /** Connections closed because a header section took longer than `headerTimeout`. */
  headerTimeouts: number;
  /** Connections closed because a body took longer than `bodyTimeout`. */
  bodyTimeouts: number;
  /** Connections closed after `idleTimeout` with no message and no hold. */
  idleClosed: number;
  /** Bytes incomplete messages hold now, all connections together (a gauge, compared with `maxPendingBytes`). */
  pendingBytes: number;
  /** Connections closed because incomplete messages held more than `maxPendingBytes`. */
  pendingShed: number;
  /** Inbound connections refused: their source already had `maxConnectionsPerSource`. */
  refusedPerSource: number;
  /** Inbound connections refused: `maxConnections` open and nobody to evict. */
  refusedMaxConnections: number;
  /** Connections evicted for a new one: their message or TLS handshake was older than `evictAfter`. */
  evictedSlow: number;
  /** Connections evicted for a new one: unheld and idle the longest (longer than `evictAfter`). */
  evictedIdle: number;
  /** TLS handshakes from clients that failed or timed out (0 for TCP). */
  handshakeFailures: number;
  /** Bytes read from every connection (keep-alives included) / handed to sockets by `send()`. */
  bytesReceived: number;
  bytesSent: number;
}

export function emptyStats(): StreamTransportStats {
  return {
    connections: 0,
    accepted: 0,
    received: 0,
    sent: 0,
    keepAlives: 0,
    badRequests: 0,
    invalidMessages: 0,
    framingErrors: 0,
    headerTimeouts: 0,
    bodyTimeouts: 0,
    idleClosed: 0,
    pendingBytes: 0,
    pendingShed: 0,
    refusedPerSource: 0,
    refusedMaxConnections: 0,
    evictedSlow: 0,
    evictedIdle: 0,
    handshakeFailures: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
}

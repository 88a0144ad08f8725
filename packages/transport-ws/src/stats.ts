// What the transport counts: every message in and out, and every limit or defense that fired
// (README "Limits and defenses" names the counter of each).

export interface WsTransportStats {
  /** Valid messages emitted. */
  received: number;
  /** Frames dropped as invalid, without a reply (responses, ACKs, garbage). */
  dropped: number;
  /** 400/505 responses sent for malformed requests (RFC 3261 §21.4.1, §21.5.7). */
  badRequests: number;
  /** Of `dropped` and `badRequests`: messages over `maxHeaderBytes` / `maxContentLength` (`ERR_TOO_LARGE`). */
  tooLarge: number;
  /** Whitespace-only frames seen (keep-alives, RFC 5626 §4.4.1). */
  keepAlives: number;
  /** CRLF pongs sent for CRLFCRLF pings (RFC 5626 §4.4.1). */
  pongs: number;
  /** Upgrades refused, for any reason (no `sip` subprotocol, wrong path, connection cap, not listening). */
  refusedUpgrades: number;
  /** Upgrades refused (503) and dials rejected (`ERR_MAX_CONNECTIONS`) because `maxConnections` was reached. */
  connectionLimit: number;
  /** Connections closed by `ws` for a message over `maxHeaderBytes + maxContentLength` (1009). */
  oversizeFrames: number;
  /** Connections closed by `ws` for another WebSocket protocol error (bad framing, invalid UTF-8 in a text frame). */
  protocolErrors: number;
  /** Connections closed (1008) because more than `maxBufferedBytes` waited to be written: a peer that does not read. */
  bufferOverflows: number;
  /** Sends rejected with `ERR_WS_QUEUE_FULL` (`maxQueuedMessages` or `maxBufferedBytes` queued while connecting). */
  queueFull: number;
  /** Connections cut for not answering a ping within `pingInterval`. */
  pingTimeouts: number;
  /** Outgoing connections that did not open within `connectTimeout`. */
  connectTimeouts: number;
  /** Connections cut because they did not answer our close frame within `closeTimeout`. */
  closeTimeouts: number;
  /** Messages written. */
  sent: number;
  /** Sends rejected after they were handed to a connection (write errors, connection closed under them). */
  sendErrors: number;
  /** Bytes of every WebSocket message received (keep-alives included) / handed to connections by `send()`. */
  bytesReceived: number;
  bytesSent: number;
}

export function newStats(): WsTransportStats {
  return {
    received: 0,
    dropped: 0,
    badRequests: 0,
    tooLarge: 0,
    keepAlives: 0,
    pongs: 0,
    refusedUpgrades: 0,
    connectionLimit: 0,
    oversizeFrames: 0,
    protocolErrors: 0,
    bufferOverflows: 0,
    queueFull: 0,
    pingTimeouts: 0,
    connectTimeouts: 0,
    closeTimeouts: 0,
    sent: 0,
    sendErrors: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
}

// Accepting WebSocket connections: the HTTP upgrade is checked (path, RFC 7118 §4 `sip`
// subprotocol, connection cap) before `ws` does the handshake; a refusal is a plain HTTP answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { normalizeAddress } from '@sipts/message';
import type { WebSocket, WebSocketServer } from 'ws';
import { WsTransportError } from './errors.js';
import { logError } from './logger.js';
import type { WsSettings } from './options.js';
import type { WsTransportStats } from './stats.js';
import type { WsModule } from './ws-module.js';

/** RFC 7118 §4: the WebSocket subprotocol for SIP. */
export const SIP_SUBPROTOCOL = 'sip';

/** What the upgrade handler needs from the transport. */
export interface UpgradeOwner {
  readonly settings: WsSettings;
  readonly counters: WsTransportStats;
  /** Listening and not closed. */
  accepting(): boolean;
  /** `maxConnections` connections are open or opening. */
  atConnectionLimit(): boolean;
  /** The handshake completed: a new connection. */
  accept(ws: WebSocket, request: IncomingMessage): void;
}

/** Does a `Sec-WebSocket-Protocol` header value offer `sip`? */
export function offersSip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const token of header.split(',')) if (token.trim() === SIP_SUBPROTOCOL) return true;
  return false;
}

/** The path of a request target, without its query. */
function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

/** Refuse an upgrade with a plain HTTP response and drop the socket. */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  try {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  } catch {
    // The socket may already be gone; destroy below either way.
  }
  socket.destroy();
}

/** Plain HTTP requests (not upgrades) to a server of our own: 426 Upgrade Required. */
export function answerPlainRequest(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain', Connection: 'close' });
  response.end('SIP over WebSocket (RFC 7118): upgrade with subprotocol "sip"\n');
}

/** The `upgrade` listener of one HTTP(S) server, with the `ws` server that does the handshakes. */
export class UpgradeHandler {
  readonly #owner: UpgradeOwner;
  readonly #wss: WebSocketServer;
  /** The HTTP server is ours: nobody else may want an upgrade on another path. */
  readonly #ownServer: boolean;

  constructor(owner: UpgradeOwner, ws: WsModule, ownServer: boolean) {
    this.#owner = owner;
    this.#ownServer = ownServer;
    // noServer: onUpgrade checks the subprotocol, path and connection cap itself. No
    // compression (SIP messages are small; it costs memory per connection).
    this.#wss = new ws.WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: owner.settings.maxPayload,
      handleProtocols: () => SIP_SUBPROTOCOL,
    });
  }

  /** HTTP upgrade: path, RFC 7118 §4 subprotocol, connection cap, then the handshake. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const owner = this.#owner;
    const path = owner.settings.path;
    if (path !== undefined && pathOf(request.url) !== path) {
      // On a shared server another handler may own this path.
      if (this.#ownServer) this.#refuse(request, socket, 404, 'Not Found');
      return;
    }
    if (!owner.accepting()) {
      this.#refuse(request, socket, 503, 'Service Unavailable');
      return;
    }
    if (!offersSip(request.headers['sec-websocket-protocol'])) {
      // RFC 7118 §4: a SIP WebSocket server only accepts clients that negotiate `sip`.
      this.#refuse(request, socket, 400, 'SIP subprotocol required');
      return;
    }
    if (owner.atConnectionLimit()) {
      owner.counters.connectionLimit++;
      this.#refuse(request, socket, 503, 'Service Unavailable');
      return;
    }
    socket.on('error', ignore);
    this.#wss.handleUpgrade(request, socket, head, this.#handshaken);
  };

  /** Stop handshakes in progress from completing. */
  close(): void {
    this.#wss.close();
  }

  readonly #handshaken = (ws: WebSocket, request: IncomingMessage): void => {
    this.#owner.accept(ws, request);
  };

  #refuse(request: IncomingMessage, socket: Duplex, status: number, reason: string): void {
    this.#owner.counters.refusedUpgrades++;
    const peer = request.socket;
    logError(
      this.#owner.settings.logger,
      new WsTransportError('ERR_WS_CONNECTION', `refused WebSocket upgrade from ${normalizeAddress(peer.remoteAddress ?? '?')}:${peer.remotePort ?? 0}: ${status} ${reason}`),
    );
    refuseUpgrade(socket, status, reason);
  }
}

/** Socket errors during the handshake: `ws` ends the socket; nothing to report. */
function ignore(): void {}

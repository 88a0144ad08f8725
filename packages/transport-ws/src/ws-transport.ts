// SIP over WebSocket (RFC 7118), WS and WSS, on the `ws` package. One SIP message per
// WebSocket message; the `sip` subprotocol is required on both sides (RFC 7118 §4); every
// connection is a flow named by its local end (`remote.local`), as `sip` does.
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { isUtf8 } from 'node:buffer';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { buildBadRequest, isSipParseError, normalizeAddress, parse, stampReceived, validateMessage } from '@sipts/message';
import type { Remote, SipMessage, SipRequest } from '@sipts/message';
import { WsTransportError } from './errors.js';

/** RFC 7118 §4: the WebSocket subprotocol for SIP. */
export const SIP_SUBPROTOCOL = 'sip';

const DEFAULT_MAX_HEADER_BYTES = 60480;
const DEFAULT_MAX_CONTENT_LENGTH = 604800;
const DEFAULT_MAX_CONNECTIONS = 10000;
const DEFAULT_CONNECT_TIMEOUT = 10000;
const DEFAULT_MAX_QUEUED = 256;
const DEFAULT_CLOSE_TIMEOUT = 2000;
const DEFAULT_PING_INTERVAL = 30000;

/** The `sip`-style logger hook. Every method is optional and its exceptions are swallowed. */
export interface WsTransportLogger {
  /** Called with the bytes about to be sent and their target. */
  send?(data: Uint8Array | string, target: Remote): void;
  /** Called with each valid message before it is emitted. */
  recv?(message: SipMessage, remote: Remote): void;
  /** Dropped frames, refused upgrades, connection and server errors. */
  error?(error: Error): void;
}

/** Server and client TLS options in one object, as `sip`'s `tls` option. */
export type WsTlsOptions = HttpsServerOptions & TlsConnectionOptions;

export interface WsTransportOptions {
  /**
   * Port of the WebSocket server (`sip`'s `ws_port`); 0 picks a free port. Default 80 for WS,
   * 443 for WSS (the ws:/wss: URI defaults of RFC 6455 §3).
   */
  ws_port?: number | undefined;
  /** Address to listen on (`sip`'s `address`). Default: all interfaces (dual-stack where the OS allows). */
  address?: string | undefined;
  /**
   * WSS when present: the server is `https.createServer(tls)` and outgoing `wss:` connections use
   * the same object as client options (`ca`, `rejectUnauthorized`, `servername`, client certificates).
   */
  tls?: WsTlsOptions | undefined;
  /**
   * Attach to an existing HTTP(S) server instead of creating one (share a port with a web app).
   * `listen()` then only installs the upgrade handler; `close()` leaves the server running.
   * WSS when it is an HTTPS server.
   */
  server?: HttpServer | undefined;
  /** Accept upgrades on this path only (`/ws`). Default: any path. */
  path?: string | undefined;
  /** Largest header section in bytes, handed to the parser. Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for `maxHeaderBytes`, read when that is not set. */
  maxBytesHeaders?: number | undefined;
  /** Body limit in bytes. Default 604800. A WebSocket message may be at most header + body limits. */
  maxContentLength?: number | undefined;
  /** Open connections (accepted and outgoing) before upgrades are refused with 503. Default 10000. */
  maxConnections?: number | undefined;
  /** Outgoing connection + handshake timeout in ms. Default 10000. */
  connectTimeout?: number | undefined;
  /** Sends queued per connection while it opens. Default 256. */
  maxQueuedMessages?: number | undefined;
  /**
   * Every this many ms each open connection is pinged; one that has neither answered the
   * previous ping nor sent anything since is cut (a phone that left the network sends no FIN,
   * and a registrar wants its connectionClose). One shared timer. 0 disables. Default 30000.
   */
  pingInterval?: number | undefined;
  /** How long close() waits for peers to answer the close frame before cutting them off (ms). Default 2000. */
  closeTimeout?: number | undefined;
  logger?: WsTransportLogger | undefined;
}

/** A target: a `Remote`, optionally with the URL to dial for a new connection. */
export interface WsTarget extends Remote {
  /**
   * `ws://` or `wss://` URL to open when no connection exists (needed for WSS to a host name,
   * so TLS verifies the name, or for a path). Connections opened by URL are reused by URL.
   */
  url?: string | undefined;
}

/** Per-send options; `allowOversize` (from `SendOptions` of `@sipts/transaction`) is ignored. */
export interface WsSendOptions {
  allowOversize?: boolean | undefined;
  /** Same as `target.url`. */
  url?: string | undefined;
}

export interface WsBoundAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface WsTransportEvents {
  message: [message: SipMessage, remote: Remote];
  error: [error: Error];
  connectionOpen: [remote: Remote];
  connectionClose: [remote: Remote];
}

export interface WsTransportStats {
  /** Valid messages emitted. */
  received: number;
  /** Frames dropped as invalid. */
  dropped: number;
  /** 400/505 responses sent for malformed requests. */
  badRequests: number;
  /** CRLF keep-alive frames seen (RFC 5626 §4.4.1; a double CRLF is answered with a CRLF). */
  keepAlives: number;
  /** Upgrades refused (no `sip` subprotocol, wrong path, connection cap). */
  refusedUpgrades: number;
  /** Messages written. */
  sent: number;
}

interface PendingSend {
  payload: string | Uint8Array;
  binary: boolean;
  target: Remote;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One WebSocket connection: accepted, or opened by us. */
class Flow {
  /** `remote.local` is set once the connection is open. */
  remote: Remote;
  /** Key in `#flows` once open: remote address, port, local address, port. */
  key: string | undefined;
  /** Its keys in `#byPeer`: `address port` of the peer, and the dialled URL or address for outgoing ones. */
  dialKeys: string[] = [];
  open = false;
  queue: PendingSend[] = [];
  /** A ping went out and nothing came back since. */
  awaitingPong = false;

  constructor(
    readonly ws: WebSocket,
    remote: Remote,
  ) {
    this.remote = remote;
  }
}

type State = 'idle' | 'listening' | 'closed';

function flowKey(address: string, port: number, localAddress: string, localPort: number): string {
  return `${address} ${port} ${localAddress} ${localPort}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function copyRemote(remote: Remote): Remote {
  return remote.local === undefined
    ? { protocol: remote.protocol, address: remote.address, port: remote.port }
    : { protocol: remote.protocol, address: remote.address, port: remote.port, local: { address: remote.local.address, port: remote.local.port } };
}

/** Does a `Sec-WebSocket-Protocol` header value offer `sip`? */
function offersSip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const token of header.split(',')) if (token.trim() === SIP_SUBPROTOCOL) return true;
  return false;
}

/** An absolute ws: or wss: URL with a host (RFC 6455 §3). */
function isWebSocketUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

/** Refuse an upgrade with a plain HTTP response and drop the socket. */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  try {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } catch {
    // The socket may already be gone; destroy below either way.
  }
  socket.destroy();
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Exactly CRLF CRLF: an RFC 5626 §4.4.1 ping. */
function isDoubleCrlf(data: Buffer): boolean {
  return data.length === 4 && data[0] === 0x0d && data[1] === 0x0a && data[2] === 0x0d && data[3] === 0x0a;
}

function isWhitespaceOnly(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/**
 * The WebSocket transport: an EventEmitter satisfying `Transport` of `@sipts/transaction` by
 * shape. `protocol` is `WSS` when `tls` is given (or `server` is an HTTPS server), else `WS`.
 * Events: `message(message, remote)`, `connectionOpen(remote)`, `connectionClose(remote)`,
 * `error(error)` (only when someone listens; otherwise errors go to `logger.error`).
 * Sending needs no `listen()`: outgoing connections work on their own.
 */
export class WsTransport extends EventEmitter<WsTransportEvents> {
  readonly protocol: 'WS' | 'WSS';
  readonly reliable = true as const;

  readonly #options: WsTransportOptions;
  readonly #logger: WsTransportLogger | undefined;
  readonly #maxHeaderBytes: number;
  readonly #maxContentLength: number;
  readonly #maxConnections: number;
  readonly #maxQueued: number;
  readonly #wss: WebSocketServer;
  readonly #stats: WsTransportStats = { received: 0, dropped: 0, badRequests: 0, keepAlives: 0, refusedUpgrades: 0, sent: 0 };

  #state: State = 'idle';
  #server: HttpServer | undefined;
  /** Whether `#server` is ours to close. */
  #ownServer = false;
  #bound: WsBoundAddress | undefined;
  #listening: Promise<WsBoundAddress> | undefined;
  #closing: Promise<void> | undefined;
  /** The shared keep-alive timer, running while connections are open. */
  #pingTimer: NodeJS.Timeout | undefined;
  /** Resolves close() once the last connection is gone. */
  #allClosed: (() => void) | undefined;
  /** Every connection, open or opening. */
  readonly #all = new Set<Flow>();
  /** Open connections by flow key (remote address, port, local address, port). */
  readonly #flows = new Map<string, Flow>();
  /** Reusable connections by `address port` of the peer, and outgoing ones by dialled URL. */
  readonly #byPeer = new Map<string, Flow>();

  constructor(options: WsTransportOptions = {}) {
    super();
    this.#options = options;
    this.#logger = options.logger;
    this.#maxHeaderBytes = options.maxHeaderBytes ?? options.maxBytesHeaders ?? DEFAULT_MAX_HEADER_BYTES;
    this.#maxContentLength = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
    this.#maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.#maxQueued = options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED;
    this.protocol = options.tls !== undefined || options.server instanceof TlsServer ? 'WSS' : 'WS';
    // noServer: the upgrade handler below checks the subprotocol, path and connection cap itself.
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.#maxHeaderBytes + this.#maxContentLength,
      handleProtocols: () => SIP_SUBPROTOCOL,
    });
    this.onUpgrade = this.onUpgrade.bind(this);
    this.onPlainRequest = this.onPlainRequest.bind(this);
    this.onServerError = this.onServerError.bind(this);
  }

  stats(): WsTransportStats {
    return { ...this.#stats };
  }

  address(): WsBoundAddress | undefined {
    return this.#bound === undefined ? undefined : { ...this.#bound };
  }

  /** The remotes of the open connections. */
  connections(): Remote[] {
    return [...this.#flows.values()].map((flow) => copyRemote(flow.remote));
  }

  /** Start the WebSocket server. Resolves with the bound address; rejects with `ERR_LISTEN`. */
  listen(): Promise<WsBoundAddress> {
    if (this.#state === 'closed') {
      return Promise.reject(new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport is closed'));
    }
    this.#listening ??= this.#listen();
    return this.#listening;
  }

  async #listen(): Promise<WsBoundAddress> {
    const given = this.#options.server;
    const server = given ?? (this.#options.tls !== undefined ? createHttpsServer(this.#options.tls) : createHttpServer());
    this.#server = server;
    this.#ownServer = given === undefined;
    server.on('upgrade', this.onUpgrade);
    if (this.#ownServer) {
      server.on('request', this.onPlainRequest);
      const port = this.#options.ws_port ?? (this.protocol === 'WSS' ? 443 : 80);
      const address = this.#options.address === undefined || this.#options.address === '' ? undefined : normalizeAddress(this.#options.address);
      try {
        await new Promise<void>((resolve, reject) => {
          // A close() before the bind completes cancels it: 'close' fires and 'listening' never does.
          const onClose = (): void => reject(new Error('closed before listening'));
          server.once('error', reject);
          server.once('close', onClose);
          server.listen(port, address, () => {
            server.off('error', reject);
            server.off('close', onClose);
            resolve();
          });
        });
      } catch (error) {
        server.off('upgrade', this.onUpgrade);
        server.off('request', this.onPlainRequest);
        if (this.#server === server) this.#server = undefined;
        if ((this.#state as State) === 'closed') {
          throw new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport was closed while listening');
        }
        this.#listening = undefined;
        throw new WsTransportError('ERR_LISTEN', `cannot listen on ${address ?? '*'}:${port}: ${errorMessage(error)}`, { cause: error });
      }
    }
    if (this.#state === 'closed') {
      // close() ran while we were binding: it could not stop a listen() in flight, so do it here.
      if (this.#ownServer) await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport was closed while listening');
    }
    const info = server.address();
    if (info === null || typeof info !== 'object') {
      this.#releaseServer();
      this.#listening = undefined;
      throw new WsTransportError('ERR_LISTEN', 'the given server is not listening (call its listen() first)');
    }
    server.on('error', this.onServerError);
    this.#bound = { address: info.address, port: info.port, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    this.#state = 'listening';
    return { ...this.#bound };
  }

  /** Plain HTTP requests (not upgrades) to our own server. */
  private onPlainRequest(_request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain', Connection: 'close' });
    response.end('SIP over WebSocket (RFC 7118): upgrade with subprotocol "sip"\n');
  }

  private onServerError(error: Error): void {
    this.#report(new WsTransportError('ERR_WS_SERVER', `WebSocket server error: ${error.message}`, { cause: error }));
  }

  /** HTTP upgrade: RFC 7118 §4 subprotocol check, path, connection cap, then the handshake. */
  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = this.#options.path;
    if (path !== undefined) {
      const url = request.url ?? '/';
      const query = url.indexOf('?');
      if ((query === -1 ? url : url.slice(0, query)) !== path) {
        // On a shared server another handler may own this path.
        if (this.#ownServer) this.#refuse(request, socket, 404, 'Not Found');
        return;
      }
    }
    if (this.#state !== 'listening') {
      this.#refuse(request, socket, 503, 'Service Unavailable');
      return;
    }
    if (!offersSip(request.headers['sec-websocket-protocol'])) {
      // RFC 7118 §4: a SIP WebSocket server only accepts clients that negotiate `sip`.
      this.#refuse(request, socket, 400, 'SIP subprotocol required');
      return;
    }
    if (this.#all.size >= this.#maxConnections) {
      this.#refuse(request, socket, 503, 'Service Unavailable');
      return;
    }
    socket.on('error', () => undefined);
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, request));
  }

  #refuse(request: IncomingMessage, socket: Duplex, status: number, reason: string): void {
    this.#stats.refusedUpgrades++;
    const peer = request.socket;
    this.#log(
      'error',
      new WsTransportError('ERR_WS_CONNECTION', `refused WebSocket upgrade from ${normalizeAddress(peer.remoteAddress ?? '?')}:${peer.remotePort ?? 0}: ${status} ${reason}`),
    );
    refuseUpgrade(socket, status, reason);
  }

  #accept(ws: WebSocket, request: IncomingMessage): void {
    const socket = request.socket;
    if (this.#state === 'closed') {
      ws.terminate();
      return;
    }
    const remote: Remote = {
      protocol: this.protocol,
      address: normalizeAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    };
    const flow = new Flow(ws, remote);
    this.#all.add(flow);
    this.#attach(flow);
    this.#opened(flow, socket);
  }

  /** Listeners shared by accepted and outgoing connections (one set per connection, not per message). */
  #attach(flow: Flow): void {
    const ws = flow.ws;
    ws.on('message', (data: RawData) => this.#onFrame(flow, data));
    ws.on('pong', () => {
      flow.awaitingPong = false;
    });
    ws.on('error', (error: Error) => this.#onConnectionError(flow, error));
    ws.on('close', () => this.#onClosed(flow));
  }

  /** A connection is open: register it as a flow, announce it, flush what was queued. */
  #opened(flow: Flow, socket: Socket): void {
    const local = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
    flow.remote = {
      protocol: flow.remote.protocol,
      address: normalizeAddress(socket.remoteAddress ?? flow.remote.address),
      port: socket.remotePort ?? flow.remote.port,
      local,
    };
    flow.key = flowKey(flow.remote.address, flow.remote.port, local.address, local.port);
    flow.open = true;
    this.#flows.set(flow.key, flow);
    this.#startPings();
    // RFC 5923-style reuse: a request towards this peer's address and port goes on this flow.
    const peerKey = `${flow.remote.address} ${flow.remote.port}`;
    const current = this.#byPeer.get(peerKey);
    if (current === undefined || current.ws.readyState !== WebSocket.OPEN) {
      this.#byPeer.set(peerKey, flow);
      flow.dialKeys.push(peerKey);
    }
    this.emit('connectionOpen', copyRemote(flow.remote));
    const queue = flow.queue;
    flow.queue = [];
    for (const pending of queue) this.#write(flow, pending);
  }

  #onConnectionError(flow: Flow, error: Error): void {
    if (!flow.open) {
      // Failing to connect is reported to the queued senders, not as an event.
      flow.queue.forEach((pending) => pending.reject(this.#connectError(pending.target, error)));
      flow.queue = [];
      return;
    }
    this.#log('error', new WsTransportError('ERR_WS_CONNECTION', `WebSocket connection error: ${error.message}`, { cause: error, remote: copyRemote(flow.remote) }));
  }

  #connectError(target: Remote, cause: unknown): WsTransportError {
    // `ws` reports its handshake timer expiring with this message and no code.
    const timedOut = cause instanceof Error && /timed out/i.test(cause.message);
    return new WsTransportError(timedOut ? 'ERR_CONNECT_TIMEOUT' : 'ERR_CONNECT_FAILED', `WebSocket connection to ${target.address}:${target.port} failed: ${errorMessage(cause)}`, { cause, remote: target });
  }

  #onClosed(flow: Flow): void {
    if (!this.#all.delete(flow)) return;
    if (flow.key !== undefined && this.#flows.get(flow.key) === flow) this.#flows.delete(flow.key);
    for (const key of flow.dialKeys) if (this.#byPeer.get(key) === flow) this.#byPeer.delete(key);
    const queue = flow.queue;
    flow.queue = [];
    for (const pending of queue) {
      pending.reject(
        this.#state === 'closed'
          ? new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport was closed', { remote: pending.target })
          : this.#connectError(pending.target, new Error('connection closed before it opened')),
      );
    }
    if (flow.open) {
      flow.open = false;
      this.emit('connectionClose', copyRemote(flow.remote));
    }
    if (this.#flows.size === 0) this.#stopPings();
    if (this.#all.size === 0) this.#allClosed?.();
  }

  #startPings(): void {
    const interval = this.#options.pingInterval ?? DEFAULT_PING_INTERVAL;
    if (interval <= 0 || this.#pingTimer !== undefined) return;
    this.#pingTimer = setInterval(() => this.#pingAll(), interval);
    // Never the reason the process stays up; close() clears it anyway.
    this.#pingTimer.unref();
  }

  #stopPings(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #pingAll(): void {
    for (const flow of this.#flows.values()) {
      if (flow.awaitingPong) {
        this.#log('error', new WsTransportError('ERR_WS_CONNECTION', 'WebSocket peer stopped answering pings; connection cut', { remote: copyRemote(flow.remote) }));
        flow.ws.terminate();
        continue;
      }
      flow.awaitingPong = true;
      try {
        flow.ws.ping();
      } catch {
        // Closing under us: the close handler cleans up.
      }
    }
  }

  /** One WebSocket message = one SIP message (RFC 7118 §5). */
  #onFrame(flow: Flow, raw: RawData): void {
    flow.awaitingPong = false;
    const data = toBuffer(raw);
    const remote = copyRemote(flow.remote);
    if (isWhitespaceOnly(data)) {
      this.#stats.keepAlives++;
      // RFC 5626 §4.4.1: CRLFCRLF ping, CRLF pong (SIP.js and others use it over WebSocket).
      if (isDoubleCrlf(data) && flow.ws.readyState === WebSocket.OPEN) flow.ws.send('\r\n');
      return;
    }
    let message: SipMessage;
    try {
      message = parse(data, { maxHeaderBytes: this.#maxHeaderBytes, maxContentLength: this.#maxContentLength });
      const invalid = validateMessage(message);
      if (invalid !== undefined) throw invalid;
    } catch (error) {
      this.#invalidFrame(flow, data, error, remote);
      return;
    }
    // RFC 7118 §5 with RFC 3261 §18.2.1 / RFC 3581: the Via sent-by of a WebSocket client is
    // usually an invented `.invalid` name, so `received` is nearly always added.
    if ('method' in message) stampReceived(message as SipRequest, remote.address, remote.port);
    this.#stats.received++;
    this.#log('recv', message, remote);
    this.emit('message', message, remote);
  }

  /** A frame that is not a valid message: answer 400 (505) on the flow if it is a request, else drop it. */
  #invalidFrame(flow: Flow, data: Buffer, error: unknown, remote: Remote): void {
    const version = isSipParseError(error) && error.code === 'ERR_VERSION';
    const reason = version ? 'Version Not Supported' : isSipParseError(error) ? `Bad Request (${error.message})` : 'Bad Request';
    const response = buildBadRequest(data, version ? 505 : 400, reason, this.#maxHeaderBytes);
    this.#log(
      'error',
      new WsTransportError('ERR_INVALID_MESSAGE', `invalid SIP message from ${remote.address}:${remote.port}: ${errorMessage(error)}${response ? ' (answered)' : ' (dropped)'}`, {
        cause: error,
        remote,
      }),
    );
    if (response === undefined || flow.ws.readyState !== WebSocket.OPEN) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.badRequests++;
    flow.ws.send(response.toString('utf8'), (sendError) => {
      if (sendError) this.#log('error', new WsTransportError('ERR_WS_SEND', `sending 400 failed: ${sendError.message}`, { cause: sendError, remote }));
    });
  }

  /**
   * Send one whole message as one WebSocket message: text when it is UTF-8 (RFC 7118 §5.1),
   * binary otherwise. With `target.local` the exact flow is used (`ERR_FLOW_GONE` when it is
   * closed); otherwise a connection to the URL (`target.url` / `options.url`) or to
   * `target.address:target.port` is reused, or opened (`ws://address:port/`, `wss://` for
   * WSS), with sends queued until it opens.
   */
  send(data: Uint8Array | string, target: WsTarget, options?: WsSendOptions): Promise<void> {
    if (this.#state === 'closed') {
      return Promise.reject(new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport is closed', { remote: target }));
    }
    const binary = typeof data !== 'string' && !isUtf8(data);
    if (target.local !== undefined) {
      const address = normalizeAddress(target.address);
      const localAddress = normalizeAddress(target.local.address);
      const flow = this.#flows.get(flowKey(address, target.port, localAddress, target.local.port));
      if (flow === undefined || flow.ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(
          new WsTransportError('ERR_FLOW_GONE', `no open WebSocket connection ${address}:${target.port} via ${localAddress}:${target.local.port}`, { remote: target }),
        );
      }
      return this.#enqueue(flow, data, binary, target);
    }
    const url = target.url ?? options?.url;
    let dialKeys: string[];
    let dialUrl: string;
    if (url !== undefined) {
      if (!isWebSocketUrl(url)) {
        return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', `not a ws: or wss: URL: ${url}`, { remote: target }));
      }
      dialKeys = [url];
      dialUrl = url;
    } else {
      const address = normalizeAddress(typeof target.address === 'string' ? target.address : '');
      const port = target.port;
      if (address === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
        return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', `invalid WebSocket target ${String(target.address)}:${String(port)}`, { remote: target }));
      }
      const secure = (target.protocol ?? '').toUpperCase() === 'WSS' || ((target.protocol ?? '').toUpperCase() !== 'WS' && this.protocol === 'WSS');
      dialKeys = [`${address} ${port}`];
      dialUrl = `${secure ? 'wss' : 'ws'}://${isIP(address) === 6 ? `[${address}]` : address}:${port}/`;
    }
    const existing = this.#byPeer.get(dialKeys[0] as string);
    if (existing !== undefined && existing.ws.readyState <= WebSocket.OPEN) return this.#enqueue(existing, data, binary, target);
    if (this.#all.size >= this.#maxConnections) {
      return Promise.reject(new WsTransportError('ERR_MAX_CONNECTIONS', `connection limit (${this.#maxConnections}) reached`, { remote: target }));
    }
    const flow = this.#connect(dialUrl, dialKeys, target);
    if (flow instanceof Error) {
      return Promise.reject(new WsTransportError('ERR_INVALID_TARGET', `cannot open a WebSocket connection to ${dialUrl}: ${flow.message}`, { cause: flow, remote: target }));
    }
    return this.#enqueue(flow, data, binary, target);
  }

  #enqueue(flow: Flow, payload: Uint8Array | string, binary: boolean, target: Remote): Promise<void> {
    this.#log('send', payload, flow.open ? copyRemote(flow.remote) : target);
    return new Promise<void>((resolve, reject) => {
      const pending: PendingSend = { payload, binary, target, resolve, reject };
      if (flow.open) {
        this.#write(flow, pending);
      } else if (flow.queue.length >= this.#maxQueued) {
        reject(new WsTransportError('ERR_WS_QUEUE_FULL', `${flow.queue.length} messages already wait for the connection to open`, { remote: target }));
      } else {
        flow.queue.push(pending);
      }
    });
  }

  #write(flow: Flow, pending: PendingSend): void {
    if (flow.ws.readyState !== WebSocket.OPEN) {
      pending.reject(new WsTransportError('ERR_FLOW_GONE', 'the WebSocket connection closed', { remote: pending.target }));
      return;
    }
    flow.ws.send(pending.payload, { binary: pending.binary }, (error) => {
      if (error) {
        pending.reject(new WsTransportError('ERR_WS_SEND', `WebSocket send failed: ${error.message}`, { cause: error, remote: pending.target }));
      } else {
        this.#stats.sent++;
        pending.resolve();
      }
    });
  }

  /** Open an outgoing connection requesting the `sip` subprotocol (RFC 7118 §4). */
  #connect(url: string, dialKeys: string[], target: Remote): Flow | Error {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, SIP_SUBPROTOCOL, {
        ...(url.startsWith('wss:') ? this.#options.tls : undefined),
        handshakeTimeout: this.#options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
        maxPayload: this.#maxHeaderBytes + this.#maxContentLength,
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch (error) {
      // `ws` throws synchronously for a URL it cannot use (bad scheme, no host).
      return error instanceof Error ? error : new Error(String(error));
    }
    const flow = new Flow(ws, { protocol: url.startsWith('wss:') ? 'WSS' : 'WS', address: target.address, port: target.port });
    this.#all.add(flow);
    for (const key of dialKeys) {
      this.#byPeer.set(key, flow);
      flow.dialKeys.push(key);
    }
    let socket: Socket | undefined;
    ws.once('upgrade', (response: IncomingMessage) => {
      socket = response.socket;
    });
    ws.once('open', () => {
      if (this.#state === 'closed' || socket === undefined) {
        ws.terminate();
        return;
      }
      this.#opened(flow, socket);
    });
    this.#attach(flow);
    return flow;
  }

  /**
   * Close the server (when we created it) and every connection: a close frame (1001), then a cut
   * after `closeTimeout`. Queued sends reject with `ERR_TRANSPORT_CLOSED`. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closed';
    this.#stopPings();
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const connectionsClosed = new Promise<void>((resolve) => {
      if (this.#all.size === 0) resolve();
      else this.#allClosed = resolve;
    });
    for (const flow of this.#all) {
      const queue = flow.queue;
      flow.queue = [];
      for (const pending of queue) {
        pending.reject(new WsTransportError('ERR_TRANSPORT_CLOSED', 'the WebSocket transport was closed', { remote: pending.target }));
      }
      if (flow.open) flow.ws.close(1001, 'going away');
      else flow.ws.terminate();
    }
    const cut = setTimeout(() => {
      for (const flow of this.#all) flow.ws.terminate();
    }, this.#options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    const serverClosed = this.#releaseServer();
    await connectionsClosed;
    clearTimeout(cut);
    this.#allClosed = undefined;
    await serverClosed;
    this.#wss.close();
  }

  /** Detach from the server; close it when it is ours. */
  #releaseServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#bound = undefined;
    if (server === undefined) return Promise.resolve();
    server.off('upgrade', this.onUpgrade);
    server.off('request', this.onPlainRequest);
    if (!this.#ownServer) {
      server.off('error', this.onServerError);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      server.close(() => {
        server.off('error', this.onServerError);
        resolve();
      });
      server.closeAllConnections();
    });
  }

  /** Errors with no caller: to `logger.error`, and as an 'error' event when someone listens. */
  #report(error: WsTransportError): void {
    this.#log('error', error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #log(kind: 'send', data: Uint8Array | string, remote: Remote): void;
  #log(kind: 'recv', data: SipMessage, remote: Remote): void;
  #log(kind: 'error', error: Error): void;
  #log(kind: 'send' | 'recv' | 'error', data: Uint8Array | string | SipMessage | Error, remote?: Remote): void {
    const logger = this.#logger;
    if (logger === undefined) return;
    try {
      if (kind === 'send') logger.send?.(data as Uint8Array | string, remote as Remote);
      else if (kind === 'recv') logger.recv?.(data as SipMessage, remote as Remote);
      else logger.error?.(data as Error);
    } catch {
      // A broken logger must not break the transport.
    }
  }
}

/** `new WsTransport(options)`. */
export function createWsTransport(options: WsTransportOptions = {}): WsTransport {
  return new WsTransport(options);
}

// SIP over TLS (RFC 3261 §18, §26.2): the stream base of @sipts/transport-tcp over node:tls.
import { isIP } from 'node:net';
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { ConnectionOptions, PeerCertificate, TLSSocket, TlsOptions } from 'node:tls';
import { normalizeAddress } from '@sipts/message';
import type { Remote } from '@sipts/message';
import { StreamTransport, StreamTransportError } from '@sipts/transport-tcp';
import type { StreamSendOptions, StreamTransportOptions } from '@sipts/transport-tcp';

/** Options passed through to both `tls.createServer` and `tls.connect`, as `sip` does. */
export type TlsPassThroughOptions = TlsOptions & ConnectionOptions;

export interface TlsTransportOptions extends StreamTransportOptions {
  /** Port to listen on (`sip`'s name). Default 5061; 0 picks a free port. Wins over `port`. */
  tls_port?: number | undefined;
  /** The same, for use on its own; read only when `tls_port` is not set. */
  port?: number | undefined;
  /** Certificates and the rest, for the server and for outgoing connections (as `sip`). */
  tls?: TlsPassThroughOptions | undefined;
  /** Overrides for outgoing connections only (a client certificate, `ca`, `checkServerIdentity`...). */
  tlsClient?: ConnectionOptions | undefined;
}

/** A send target; `servername` (the SIP domain resolved into `address`) is used for SNI and the certificate check. */
export interface TlsTarget extends Remote {
  servername?: string | undefined;
}

export const DEFAULT_TLS_PORT = 5061;

export class TlsTransport extends StreamTransport {
  declare readonly protocol: 'TLS';
  private readonly port: number;
  private readonly serverOptions: TlsOptions;
  private readonly clientOptions: ConnectionOptions;

  /** Throws a StreamTransportError `ERR_INVALID_OPTION` for an unusable option. */
  constructor(options: TlsTransportOptions = {}) {
    super('TLS', 'secureConnect', options);
    for (const name of ['tls_port', 'port'] as const) {
      const value = options[name];
      if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535)) {
        throw new StreamTransportError('ERR_INVALID_OPTION', `options.${name} must be an integer in 0..65535, got ${String(value)}`);
      }
    }
    for (const name of ['tls', 'tlsClient'] as const) {
      const value: unknown = options[name];
      if (value !== undefined && (typeof value !== 'object' || value === null)) {
        throw new StreamTransportError('ERR_INVALID_OPTION', `options.${name} must be an object of node:tls options`);
      }
    }
    this.port = options.tls_port ?? options.port ?? DEFAULT_TLS_PORT;
    // The handshake of a client is part of getting its first header section in: unless the
    // caller set one, it gets headerTimeout (Node's own default is 120 s), so a client that
    // stalls its handshake holds a slot no longer than one that stalls its headers.
    this.serverOptions = this.headerTimeout > 0 ? { handshakeTimeout: this.headerTimeout, ...options.tls } : { ...options.tls };
    this.clientOptions = { ...options.tls, ...options.tlsClient };
  }

  /**
   * As the stream base's `send`; a target may add `servername`, the SIP domain its address was
   * resolved from, which the server certificate is checked against (and sent as SNI).
   */
  override send(data: Uint8Array | string, target: TlsTarget, options?: StreamSendOptions): Promise<void> {
    return super.send(data, target, options);
  }

  /** The certificate the peer of `flow` presented (a server's, or a client's when `requestCert` was set). */
  peerCertificate(flow: Remote): PeerCertificate | undefined {
    const socket = this.socketOf(flow) as TLSSocket | undefined;
    if (socket === undefined) return undefined;
    const certificate = socket.getPeerCertificate();
    // Node returns an empty object when the peer sent no certificate.
    return certificate !== null && Object.keys(certificate).length > 0 ? certificate : undefined;
  }

  /** Whether the peer's certificate of `flow` verified against the trusted CAs. */
  peerAuthorized(flow: Remote): boolean {
    const socket = this.socketOf(flow) as TLSSocket | undefined;
    return socket !== undefined && socket.authorized;
  }

  protected listenPort(): number {
    return this.port;
  }

  protected createServer(onSocket: (socket: Socket) => void): Server {
    const server = createServer(this.serverOptions, onSocket);
    // A client that fails the handshake (or runs out of handshakeTimeout) never becomes a
    // connection; say why, never throw.
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      const address = socket.remoteAddress;
      const remote: Remote | undefined =
        address === undefined ? undefined : { protocol: 'TLS', address: normalizeAddress(address), port: socket.remotePort ?? 0 };
      this.handshakeFailed(
        socket,
        new StreamTransportError('ERR_TLS_HANDSHAKE', `TLS handshake from ${address ?? 'a client'} failed: ${error.message}`, {
          remote,
          osCode: (error as { code?: string }).code,
          cause: error,
        }),
      );
    });
    return server;
  }

  protected openSocket(address: string, port: number, localAddress: string | undefined, target: Remote): Socket {
    // tls.connect hands net options (localAddress) on to the TCP socket; its types omit them.
    const options: ConnectionOptions & { localAddress?: string } = { ...this.clientOptions, host: address, port };
    if (localAddress !== undefined) options.localAddress = localAddress;
    // SNI and the certificate check use the SIP domain when the caller knows it (RFC 5922 §7.1);
    // Node refuses an IP address as SNI, so an address alone is checked against IP SANs.
    const servername = (target as TlsTarget).servername ?? this.clientOptions.servername;
    if (servername !== undefined && servername !== '') options.servername = servername;
    else if (isIP(address) === 0) options.servername = address;
    return connect(options);
  }
}

export function createTlsTransport(options: TlsTransportOptions = {}): TlsTransport {
  return new TlsTransport(options);
}

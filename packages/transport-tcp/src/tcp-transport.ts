// SIP over TCP (RFC 3261 §18): the stream base over node:net.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { checkPortOption } from './options.js';
import type { StreamTransportOptions } from './options.js';
import { StreamTransport } from './stream-transport.js';

export interface TcpTransportOptions extends StreamTransportOptions {
  /** Port to listen on. Default 5060; 0 picks a free port. */
  port?: number | undefined;
}

export const DEFAULT_TCP_PORT = 5060;

export class TcpTransport extends StreamTransport {
  declare readonly protocol: 'TCP';
  private readonly port: number;

  /** Throws a StreamTransportError `ERR_INVALID_OPTION` for an unusable option. */
  constructor(options: TcpTransportOptions = {}) {
    super('TCP', 'connect', options);
    checkPortOption(options.port, 'port');
    this.port = options.port ?? DEFAULT_TCP_PORT;
  }

  protected listenPort(): number {
    return this.port;
  }

  protected createServer(onSocket: (socket: Socket) => void): Server {
    return createServer(onSocket);
  }

  protected openSocket(address: string, port: number, localAddress: string | undefined): Socket {
    return localAddress === undefined ? connect({ host: address, port }) : connect({ host: address, port, localAddress });
  }
}

export function createTcpTransport(options: TcpTransportOptions = {}): TcpTransport {
  return new TcpTransport(options);
}

// Creating and binding the transports the options ask for, shared by the stack and by the
// `makeTransport` of the sip API.
import type { Transport } from '@sipts/transaction';
import { TcpTransport } from '@sipts/transport-tcp';
import { TlsTransport } from '@sipts/transport-tls';
import { UdpTransport } from '@sipts/transport-udp';
import { WsTransport } from '@sipts/transport-ws';
import type { NormalizedOptions } from './options.js';
import type { TargetProtocol } from './resolver.js';

/** What the stack hands every transport as its logger. */
export interface TransportLogger {
  error(error: unknown): void;
  warn?(message: string): void;
}

/**
 * Creates the enabled transports in the order UDP, TCP, TLS, WS/WSS, hands each to `attach`
 * (so listeners are in place before any message can arrive) and binds it. With `port: 0`, TCP
 * takes the port UDP got when it is free, so one port serves both. Rejects with the first
 * bind error; transports attached so far are the caller's to close.
 */
export async function listenTransports(
  o: NormalizedOptions,
  logger: TransportLogger,
  attach: (protocol: TargetProtocol, transport: Transport) => void,
): Promise<void> {
  // The transports report what they drop (bad datagrams, frames, connections) through `error`;
  // the stack logs send/recv itself.
  const common = { maxBytesHeaders: o.maxBytesHeaders, maxContentLength: o.maxContentLength, logger };
  const withAddress = o.address === undefined ? {} : { address: o.address };
  const stream = {
    ...(o.idleTimeout !== undefined ? { idleTimeout: o.idleTimeout } : {}),
    ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
  };
  let sharedPort = o.port;
  if (o.udp) {
    const udp = new UdpTransport({
      port: o.port,
      ...withAddress,
      ...common,
      recvBufferSize: o.recvBufferSize,
      mtuAllowance: o.mtuAllowance,
    });
    attach('UDP', udp);
    sharedPort = (await udp.listen()).port;
  }
  if (o.tcp) {
    let tcp = new TcpTransport({ port: sharedPort, ...withAddress, ...common, ...stream });
    try {
      await tcp.listen();
    } catch (e) {
      if (o.port !== 0 || !o.udp) throw e;
      await tcp.close().catch(() => {});
      tcp = new TcpTransport({ port: 0, ...withAddress, ...common, ...stream });
      await tcp.listen();
    }
    attach('TCP', tcp);
  }
  if (o.tls) {
    const tls = new TlsTransport({ port: o.tlsPort, tls: o.tls, ...withAddress, ...common, ...stream });
    attach('TLS', tls);
    await tls.listen();
  }
  if (o.wsPort !== undefined) {
    const ws = new WsTransport({
      ws_port: o.wsPort,
      ...withAddress,
      ...common,
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.wsPath !== undefined ? { path: o.wsPath } : {}),
      ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
    });
    attach(o.tls ? 'WSS' : 'WS', ws);
    await ws.listen();
  }
}

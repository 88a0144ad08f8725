// Creating and binding the transports the options ask for, shared by the stack and by the
// `makeTransport` of the sip API.
import type { Transport } from '@sipts/transaction';
import { StreamTransportError, TcpTransport } from '@sipts/transport-tcp';
import { TlsTransport } from '@sipts/transport-tls';
import { UdpTransport } from '@sipts/transport-udp';
import { WsTransport } from '@sipts/transport-ws';
import type { NormalizedOptions } from './options.js';
import type { TargetProtocol } from './resolver.js';

/** How many kernel-picked UDP ports to try before giving up on a free TCP twin. */
const SHARED_PORT_ATTEMPTS = 8;

function isAddressInUse(error: unknown): boolean {
  return error instanceof StreamTransportError && error.osCode === 'EADDRINUSE';
}

/** What the stack hands every transport as its logger. */
export interface TransportLogger {
  error(error: unknown): void;
  warn?(message: string): void;
}

/**
 * Creates the enabled transports in the order UDP, TCP, TLS, WS/WSS, hands each to `attach`
 * (so listeners are in place before any message can arrive) and binds it. With `port: 0`, UDP
 * and TCP get one port: while a UDP port's TCP twin is taken, another UDP port is picked, up
 * to SHARED_PORT_ATTEMPTS times (ports picked by the kernel are not yet known to anyone, so
 * those two are attached once both are bound). Rejects with the first other bind error;
 * transports attached so far are the caller's to close.
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
  const udpOptions = { port: o.port, ...withAddress, ...common, recvBufferSize: o.recvBufferSize, mtuAllowance: o.mtuAllowance };
  const tcpOptions = (port: number) => ({ port, ...withAddress, ...common, ...stream });
  if (o.udp && o.tcp && o.port === 0) {
    // Port 0 with both: the kernel picks a free UDP port, which another process may hold for TCP.
    // Pick again rather than split the two, so the one port in Via and Contact serves both
    // (RFC 3261 §18.2.1: a server listening on a port for UDP also listens there for TCP).
    // A UDP port whose TCP twin is taken stays bound until the end, so the kernel cannot hand it
    // out again: every attempt tries a new port.
    const givenBack: UdpTransport[] = [];
    try {
      for (let attempt = 1; ; attempt++) {
        const udp = new UdpTransport(udpOptions);
        const port = (await udp.listen()).port;
        const tcp = new TcpTransport(tcpOptions(port));
        try {
          await tcp.listen();
        } catch (e) {
          givenBack.push(udp);
          await tcp.close().catch(() => {});
          if (attempt < SHARED_PORT_ATTEMPTS && isAddressInUse(e)) continue;
          throw e;
        }
        attach('UDP', udp);
        attach('TCP', tcp);
        break;
      }
    } finally {
      await Promise.all(givenBack.map((udp) => udp.close().catch(() => {})));
    }
  } else {
    if (o.udp) {
      const udp = new UdpTransport(udpOptions);
      attach('UDP', udp);
      await udp.listen();
    }
    if (o.tcp) {
      const tcp = new TcpTransport(tcpOptions(o.port));
      attach('TCP', tcp);
      await tcp.listen();
    }
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

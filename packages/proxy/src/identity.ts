// Who the proxy is: the names and ports that mean "this proxy" (Route removal, strict routing,
// loop detection, RFC 3261 §16.4) and the host and port it puts into Record-Route and Path.
// Learnt from the options and, once it listens, from the stack (port 0 binds late).
import { networkInterfaces } from 'node:os';
import type { RouteAddr, Via } from '@sipts/message';
import type { NormalizedProxyOptions } from './options.js';
import { type LocalIdentity, localIdentity, localRouteEntry, normalHost } from './routing.js';
import type { ProxyStack } from './stack.js';

interface Known {
  local: LocalIdentity;
  routeHost: string;
  routePort: number;
  /** The port of each protocol the stack listens on. */
  ports: Map<string, number>;
  /** UDP when the stack listens on it, else its first transport: what a URI naming no transport gets. */
  defaultProtocol: string;
  /** The stack listens on a wildcard address: each side's own address goes into Record-Route. */
  wildcard: boolean;
  /** The stack was listening: nothing will change any more. */
  final: boolean;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]' || address === '';
}

export class ProxyIdentity {
  readonly #stack: ProxyStack;
  readonly #options: NormalizedProxyOptions;
  #known: Known | undefined;

  constructor(stack: ProxyStack, options: NormalizedProxyOptions) {
    this.#stack = stack;
    this.#options = options;
  }

  /** The hosts and ports that name this proxy. */
  get local(): LocalIdentity {
    return this.#current().local;
  }

  /** Our Record-Route / Path entry, with `lr` (RFC 3261 §16.6 step 4, RFC 3327 §5.1). */
  routeEntry(): RouteAddr {
    const known = this.#current();
    return localRouteEntry(known.routeHost, known.routePort);
  }

  /** The transport a next hop naming none is reached by (RFC 3263 §4.1 for a numeric host). */
  get defaultProtocol(): string {
    return this.#current().defaultProtocol;
  }

  /**
   * The host of our Record-Route entry on a side whose local address is `localAddress`: the
   * configured name (recordRouteHost, publicAddress) if any; else, on a stack listening on a
   * wildcard address, the address the side's connection or datagram reached (RFC 5658: one
   * entry per interface); else the Via sent-by address.
   */
  sideHost(localAddress: string | undefined): string {
    const fixed = this.#options.fixedRouteHost;
    if (fixed !== undefined) return fixed;
    const known = this.#current();
    if (known.wildcard && localAddress !== undefined && !isWildcard(localAddress)) return normalHost(localAddress);
    return known.routeHost;
  }

  /**
   * Our Record-Route entry for one side of a dialog (RFC 5658): `host`, the port of `protocol`
   * (the first listening port when the stack does not listen on it), `transport=` unless UDP,
   * `lr`, and the flow token `user` (RFC 5626 §5.3) when the side is a client's own connection.
   */
  sideEntry(protocol: string, host: string, user: string | undefined): RouteAddr {
    const known = this.#current();
    return localRouteEntry(host, known.ports.get(protocol) ?? known.routePort, protocol, user);
  }

  /** A Via naming this proxy, on top of the responses it makes up for a branch (timeouts, refusals). */
  via(): Via {
    const known = this.#current();
    return { version: '2.0', protocol: 'UDP', host: known.routeHost, port: known.routePort, params: {} };
  }

  #current(): Known {
    if (this.#known?.final) return this.#known;
    const stack = this.#stack;
    const o = this.#options;
    const bound = stack.addresses?.() ?? [];
    const sentBy = stack.sentBy?.();
    const stackHost = stack.hostname?.();
    const ports: number[] = bound.map((a) => a.port);
    if (bound.length === 0) {
      ports.push(typeof o.port === 'number' && o.port > 0 ? o.port : 5060);
      if (typeof o.tlsPort === 'number') ports.push(o.tlsPort);
    }
    const udp = bound.find((a) => a.protocol === 'UDP') ?? bound[0];
    const byProtocol = new Map<string, number>();
    for (const a of bound) if (!byProtocol.has(a.protocol.toUpperCase())) byProtocol.set(a.protocol.toUpperCase(), a.port);
    const wildcard = bound.some((a) => isWildcard(a.address));
    const hosts: (string | undefined)[] = [...o.hosts, sentBy, stackHost, ...bound.map((a) => a.address)];
    if (wildcard) {
      // Every interface address reaches a wildcard socket, and may come back in our Route entries.
      for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) hosts.push(info.address);
    }
    this.#known = {
      local: localIdentity(hosts, ports),
      routeHost: o.recordRouteHost ?? sentBy ?? o.hosts[0] ?? o.hosts[1] ?? stackHost ?? '127.0.0.1',
      routePort: udp?.port ?? ports[0] ?? 5060,
      ports: byProtocol,
      defaultProtocol: byProtocol.has('UDP') || bound.length === 0 ? 'UDP' : (bound[0]?.protocol.toUpperCase() ?? 'UDP'),
      wildcard,
      final: bound.length > 0,
    };
    return this.#known;
  }
}

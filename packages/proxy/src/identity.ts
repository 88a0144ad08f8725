// Who the proxy is: the names and ports that mean "this proxy" (Route removal, strict routing,
// loop detection, RFC 3261 §16.4) and the host and port it puts into Record-Route and Path.
// Learnt from the options and, once it listens, from the stack (port 0 binds late).
import type { RouteAddr, Via } from '@sipts/message';
import type { NormalizedProxyOptions } from './options.js';
import { type LocalIdentity, localIdentity, localRouteEntry } from './routing.js';
import type { ProxyStack } from './stack.js';

interface Known {
  local: LocalIdentity;
  routeHost: string;
  routePort: number;
  /** The stack was listening: nothing will change any more. */
  final: boolean;
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
    this.#known = {
      local: localIdentity([...o.hosts, sentBy, stackHost, ...bound.map((a) => a.address)], ports),
      routeHost: o.recordRouteHost ?? sentBy ?? o.hosts[0] ?? o.hosts[1] ?? stackHost ?? '127.0.0.1',
      routePort: udp?.port ?? ports[0] ?? 5060,
      final: bound.length > 0,
    };
    return this.#known;
  }
}

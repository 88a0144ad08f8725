// Who this stack is: the address it puts in Via sent-by, the names and ports that make a URI
// "ours" (Route entries to strip, flow URIs, requests addressed to the stack itself), and the
// URIs it hands out for Contact, Record-Route and Path.
import { networkInterfaces } from 'node:os';
import { unbracket } from '@sipts/message';
import type { Remote, SipUri, Via } from '@sipts/message';
import { isWildcard, pickSentByAddress, type NormalizedOptions } from './options.js';
import type { TargetProtocol } from './resolver.js';

/** Where a transport of the stack listens. */
export interface ListeningAddress {
  protocol: TargetProtocol;
  address: string;
  port: number;
}

export class StackIdentity {
  readonly #options: Readonly<NormalizedOptions>;
  /** The port of each listening transport (port 0 is resolved once bound). */
  readonly ports = new Map<TargetProtocol, number>();
  readonly #localHosts = new Set<string>();
  #sentBy = '127.0.0.1';
  #hostname: string;

  constructor(options: Readonly<NormalizedOptions>) {
    this.#options = options;
    this.#hostname = options.publicAddress ?? (isWildcard(options.address) ? undefined : options.address) ?? options.hostname ?? '127.0.0.1';
  }

  /** The address in Via sent-by: `publicAddress`, else the bound address, else an interface address. */
  get sentBy(): string {
    return this.#sentBy;
  }

  /** The name used in flow URIs: publicAddress, else the bound address, else hostname. */
  get hostname(): string {
    return this.#hostname;
  }

  /** Called once every transport listens: ports, sent-by and the set of names that mean "us". */
  bind(addresses: readonly ListeningAddress[]): void {
    const o = this.#options;
    for (const a of addresses) this.ports.set(a.protocol, a.port);
    const firstBound = addresses[0]?.address;
    this.#sentBy = pickSentByAddress(o.publicAddress, o.address ?? (firstBound !== undefined && !isWildcard(firstBound) ? firstBound : undefined));
    if (o.publicAddress === undefined && isWildcard(o.address) && o.hostname === undefined) this.#hostname = unbracket(this.#sentBy);
    const hosts = this.#localHosts;
    const add = (h: string | undefined): void => {
      if (h !== undefined && h !== '') hosts.add(unbracket(h).toLowerCase());
    };
    add(this.#hostname);
    add(this.#sentBy);
    add(o.publicAddress);
    add(o.hostname);
    for (const a of addresses) if (!isWildcard(a.address)) add(a.address);
    if (isWildcard(o.address)) {
      for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) add(info.address);
    }
  }

  /** Is `uri` this stack: one of its host names or addresses, and no port or one of its ports. */
  isLocalUri(uri: SipUri): boolean {
    if (!this.#isLocalHost(uri.host)) return false;
    if (!uri.port) return true;
    for (const port of this.ports.values()) if (port === uri.port) return true;
    return false;
  }

  #isLocalHost(host: string): boolean {
    const bare = unbracket(host).toLowerCase();
    if (this.#localHosts.has(bare)) return true;
    // Before listening completes only the configured names are known.
    return bare === unbracket(this.#hostname).toLowerCase();
  }

  /** A Via this stack put on a request: its sent-by address and one of its ports (or none). */
  isOwnVia(via: Via): boolean {
    if (unbracket(via.host).toLowerCase() !== unbracket(this.#sentBy).toLowerCase()) return false;
    if (via.port === undefined) return true;
    for (const port of this.ports.values()) if (port === via.port) return true;
    return false;
  }

  /**
   * Is `target` one of this stack's own listening sockets (same protocol and port, an address of
   * ours or a loopback one)? A request routed there would only come back to us (RFC 3261 §16.3
   * step 4 / §16.6 step 8 would call it a loop); it must never be sent.
   */
  isSelf(target: Remote): boolean {
    const port = this.ports.get(target.protocol.toUpperCase() as TargetProtocol);
    if (port === undefined || port !== target.port) return false;
    const address = unbracket(target.address).toLowerCase();
    if (this.#localHosts.has(address)) return true;
    // Bound to a wildcard or to loopback: every loopback address reaches the socket.
    const bound = this.#options.address;
    const loopback = address.startsWith('127.') || address === '::1';
    return loopback && (isWildcard(bound) || bound === '127.0.0.1' || bound === '::1' || bound?.startsWith('127.') === true);
  }

  /**
   * A URI naming this stack, for Contact, Record-Route or Path: the Via sent-by address (never a
   * host name that may not resolve), the port of the `protocol` transport (default the first one
   * listening), `transport=` unless UDP, `sips:` for TLS/WSS, and `lr` when asked (routes).
   */
  localUri(options: { user?: string; protocol?: TargetProtocol; lr?: boolean } = {}): SipUri {
    const protocol = options.protocol ?? [...this.ports.keys()][0] ?? 'UDP';
    const params: SipUri['params'] = {};
    if (protocol !== 'UDP') params.transport = protocol === 'TLS' ? 'tcp' : protocol === 'WSS' ? 'ws' : protocol.toLowerCase();
    if (options.lr) params.lr = null;
    return {
      schema: protocol === 'TLS' || protocol === 'WSS' ? 'sips' : 'sip',
      ...(options.user !== undefined ? { user: options.user } : {}),
      host: this.#sentBy,
      ...(this.ports.has(protocol) ? { port: this.ports.get(protocol) } : {}),
      params,
      headers: {},
    };
  }

  /** A fresh top Via for `protocol` (no branch yet). RFC 3581 §3: `rport` on UDP unless turned off. */
  newVia(protocol: string): Via {
    const params: Via['params'] = {};
    const port = this.ports.get(protocol as TargetProtocol);
    if (protocol === 'UDP' && this.#options.rport) params.rport = null;
    return { version: '2.0', protocol, host: this.#sentBy, ...(port !== undefined ? { port } : {}), params };
  }

  /** Rewrites `via` (ours) in place for `protocol`: its port and parameters, the branch kept. */
  retarget(via: Via, protocol: string): void {
    const fresh = this.newVia(protocol);
    const branch = via.params.branch;
    via.protocol = fresh.protocol;
    via.host = fresh.host;
    via.port = fresh.port;
    via.params = fresh.params;
    if (typeof branch === 'string') via.params.branch = branch;
  }
}

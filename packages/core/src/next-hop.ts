// Where a request goes next (RFC 3261 §8.1.2, §16.12) and the transport targets that name
// resolves to (RFC 3263): the first Route entry, else the Request-URI; entries naming this stack
// are removed, and one carrying a flow token names the exact connection to use.
import { isIP } from 'node:net';
import { parseUri, unbracket } from '@sipts/message';
import type { Remote, RouteAddr, SipRequest, SipUri } from '@sipts/message';
import type { Flow, FlowTokenCodec } from './flow.js';
import type { StackIdentity, ListeningAddress } from './identity.js';
import { enabledProtocols, isWildcard, type NormalizedOptions } from './options.js';
import type { ResolveOptions, Resolver } from './resolver.js';

export interface NextHop {
  uri: SipUri;
  /** Set when the hop is a flow token of ours: the connection to send on. */
  flow: Flow | undefined;
}

/**
 * The next hop of `rq`, taking off the Route entries that name this stack. A strict router (no
 * `lr`) gets the Request-URI rewritten (§16.6 step 6). Changes `rq.headers.route` and, for a
 * strict router, `rq.uri`.
 */
export function nextHop(rq: SipRequest, identity: StackIdentity, flows: FlowTokenCodec): NextHop {
  const routes = rq.headers.route as RouteAddr[] | undefined;
  while (routes !== undefined && routes.length > 0) {
    const first = routes[0] as RouteAddr;
    const uri = parseUri(first.uri);
    if (uri === undefined) {
      routes.shift();
      continue;
    }
    if (identity.isLocalUri(uri)) {
      routes.shift();
      const flow = flows.decode(uri.user);
      if (flow !== undefined) return { uri, flow };
      continue;
    }
    if (uri.params.lr === undefined) {
      routes.shift();
      routes.push({ uri: parseUri(rq.uri) as SipUri, params: {} });
      // RFC 3261 §12.2.1.1 / §19.1.1: the strict router's URI becomes the Request-URI, without
      // the parts not allowed there (the `method` parameter and the headers component).
      const requestUri: SipUri = { ...uri, params: { ...uri.params }, headers: {} };
      delete requestUri.params.method;
      rq.uri = requestUri;
    }
    if (routes.length === 0) delete rq.headers.route;
    return { uri, flow: undefined };
  }
  if (routes !== undefined && routes.length === 0) delete rq.headers.route;
  const uri = parseUri(rq.uri) as SipUri;
  const flow = identity.isLocalUri(uri) ? flows.decode(uri.user) : undefined;
  return { uri, flow };
}

/** Only sip: and sips: next hops can be resolved (RFC 3261 §8.1.2; others get 416). */
export function isSipScheme(uri: SipUri): boolean {
  const scheme = uri.schema.toLowerCase();
  return (scheme === 'sip' || scheme === 'sips') && uri.host !== '';
}

/**
 * What the resolver is asked for on behalf of a stack listening on `addresses`: the protocols it
 * sends on and the IP families its sockets reach. Fixed once the stack listens, so a stack
 * computes it once rather than for every request it sends.
 */
export function resolveOptionsFor(options: Readonly<NormalizedOptions>, addresses: readonly ListeningAddress[]): ResolveOptions {
  const families: (4 | 6)[] = [];
  for (const a of addresses) {
    if (isWildcard(a.address)) {
      // A wildcard IPv6 socket is dual-stack; a wildcard IPv4 one reaches IPv4 only.
      if (a.address === '::') families.push(4, 6);
      else families.push(4);
    } else families.push(isIP(a.address) === 6 ? 6 : 4);
  }
  return {
    protocols: enabledProtocols(options),
    families: families.length > 0 ? [...new Set(families)] : [4, 6],
  };
}

/**
 * The targets of `hop` in the order to try them (RFC 3263 §4), restricted to the transports
 * and address families of `resolveOptions` (see resolveOptionsFor). A flow is its own single target.
 */
export async function resolveTargets(hop: NextHop, resolver: Resolver, resolveOptions: ResolveOptions): Promise<Remote[]> {
  if (!isSipScheme(hop.uri)) return [];
  if (hop.flow !== undefined) {
    const protocol = hop.flow.protocol.toUpperCase();
    return [{ protocol, address: hop.flow.address, port: hop.flow.port, local: hop.flow.local }];
  }
  const list = await resolver.resolve(hop.uri, resolveOptions);
  // RFC 5922 §7.2: a TLS peer is checked against the SIP domain of the URI, not the address
  // (or SRV target) it resolved to; WSS dials the URL with that host name for the same reason.
  const domain = isIP(unbracket(hop.uri.host)) === 0 ? hop.uri.host : undefined;
  return list.map((t) => {
    const remote: Remote & { servername?: string; url?: string } = { protocol: t.protocol, address: t.address, port: t.port };
    if (domain !== undefined && t.protocol === 'TLS') remote.servername = domain;
    if (domain !== undefined && t.protocol === 'WSS') remote.url = `wss://${domain}:${t.port}`;
    return remote;
  });
}

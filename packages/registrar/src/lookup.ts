// From stored bindings to targets a proxy can fork to as they are: the Request-URI (the
// Contact), the Route set to preload (the binding's Path, RFC 3327 §5.3; or the flow URI of the
// node holding the client's connection, RFC 5626 §5.3), and the flow itself.
import { parseUri } from '@sipts/message';
import type { RouteAddr, SipUri } from '@sipts/message';
import type { Binding, FlowAddress } from './types.js';

/** One place to send a request for an AOR: what `lookup` returns, ready for `proxy.fork`. */
export interface RegistrarTarget {
  /** The Request-URI of the branch: the registered Contact URI. */
  uri: string;
  /**
   * The Route set to preload (RFC 3261 §16.6 step 2... §8.1.1.1): the binding's Path, or the
   * signed flow URI naming the connection (or NAT source) it registered on; empty when the
   * Contact is reached the ordinary way.
   */
  route: RouteAddr[];
  /**
   * The connection or NAT source address to send on, when the binding is reached over a flow.
   * It is this node's own: another node of a cluster reaches it through `route` instead.
   */
  flow: FlowAddress | undefined;
  /** q-value in thousandths (1000 = 1.0); targets come sorted by q, highest first. */
  q: number;
  /** The stored binding. */
  binding: Binding;
  /**
   * RFC 5626 §5.3: other flows of the same instance (other reg-ids), most recent first, to try
   * when this one fails (a 430 Flow Failed or a transport error). Empty for other bindings.
   */
  alternates: RegistrarTarget[];
}

function routeOf(text: string): RouteAddr | undefined {
  const uri = parseUri(text) as SipUri | undefined;
  if (uri === undefined || uri === null) return undefined;
  return { uri, params: {} };
}

function targetOf(b: Binding): RegistrarTarget {
  const route: RouteAddr[] = [];
  if (b.path !== undefined) {
    for (const p of b.path) {
      const r = routeOf(p);
      if (r !== undefined) route.push(r);
    }
  } else if (b.flowUri !== undefined) {
    const r = routeOf(b.flowUri);
    if (r !== undefined) route.push(r);
  }
  return { uri: b.contact, route, flow: b.path === undefined ? b.flow : undefined, q: b.q, binding: b, alternates: [] };
}

/** Highest q first, then the most recently refreshed. */
function byPreference(a: Binding, b: Binding): number {
  return b.q - a.q || b.updatedAt - a.updatedAt;
}

/**
 * The targets of `bindings`: one per binding, except that the flows of one RFC 5626 instance
 * (bindings with a reg-id) make one target, the most recently refreshed flow, with the others as
 * its alternates (§5.3: a request goes to one flow of each instance).
 */
export function targetsOf(bindings: readonly Binding[]): RegistrarTarget[] {
  const sorted = bindings.slice().sort(byPreference);
  const out: RegistrarTarget[] = [];
  const byInstance = new Map<string, RegistrarTarget>();
  for (const b of sorted) {
    if (b.regId !== undefined && b.instance !== undefined) {
      const primary = byInstance.get(b.instance);
      if (primary !== undefined) {
        primary.alternates.push(targetOf(b));
        continue;
      }
      const t = targetOf(b);
      byInstance.set(b.instance, t);
      out.push(t);
      continue;
    }
    out.push(targetOf(b));
  }
  for (const t of byInstance.values()) t.alternates.sort((x, y) => y.binding.updatedAt - x.binding.updatedAt);
  return out;
}

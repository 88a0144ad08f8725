// The proxy at the edge: which side of it a request arrived on and which side each branch
// leaves by (transport, interface, connection), and the Record-Route entries that bring the
// in-dialog requests of both ends back through the right one. RFC 5658 (double Record-Routing:
// one entry per side when the sides differ) and RFC 5626 §5.3 (a flow token in the entry that
// faces a client reached only over its own connection: WebSocket, outbound, NAT).
import { parseUri } from '@sipts/message';
import type { Remote, RouteAddr, SipRequest, SipUri } from '@sipts/message';
import type { ProxyIdentity } from './identity.js';
import type { DoubleRecordRoute } from './options.js';
import { isLocalHostPort, normalHost, uriHostPort, uriParam, uriTransport, type FlowAddress } from './routing.js';
import type { ProxyStack } from './stack.js';

/** One side of the proxy for a dialog: the transport, our address on it and, for a client's own connection, its flow token. */
export interface Side {
  protocol: string;
  host: string;
  /** The flow token (RFC 5626 §5.3) naming the connection or NAT binding, or undefined. */
  token: string | undefined;
}

/** Flow tokens through the stack (@sipts/core's `encodeFlowUri` / `decodeFlowUri`). */
export class StackFlows {
  readonly #stack: ProxyStack;
  // The last token checked and its flow: a request's token is checked on receipt (§16.4) and
  // again for its Record-Route (§16.6) one call apart; a token names one flow, so this is exact.
  #lastToken = '';
  #lastFlow: FlowAddress | undefined;

  constructor(stack: ProxyStack) {
    this.#stack = stack;
  }

  /** The token naming `remote`, or undefined on a stack that mints none. */
  tokenOf(remote: Remote): string | undefined {
    const encode = this.#stack.encodeFlowUri;
    if (encode === undefined) return undefined;
    try {
      const user = encode.call(this.#stack, remote).user;
      return typeof user === 'string' && user !== '' ? user : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The flow a URI of ours names by its user part, or undefined (no token, forged, not the
   * stack's). The token is checked under the stack's own name, so that it is recognised
   * whatever host of ours the entry carries (recordRouteHost, an interface address).
   */
  flowOf(uri: SipUri): FlowAddress | undefined {
    const decode = this.#stack.decodeFlowUri;
    const user = uri.user;
    if (decode === undefined || user === undefined || user === '') return undefined;
    if (user === this.#lastToken) return this.#lastFlow;
    try {
      const flow: unknown = decode.call(this.#stack, this.canonical(user));
      if (!isFlowAddress(flow)) return undefined;
      this.#lastToken = user;
      this.#lastFlow = flow;
      return flow;
    } catch {
      return undefined;
    }
  }

  /** The stack's own form of a flow URI (its hostname, no port, `lr`): what its next-hop logic sends on. */
  canonical(token: string): SipUri {
    const name = this.#stack.hostname?.() ?? '127.0.0.1';
    const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
    return { schema: 'sip', user: token, host, params: { lr: null }, headers: {} };
  }
}

function isFlowAddress(value: unknown): value is FlowAddress {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Partial<FlowAddress>;
  return typeof f.protocol === 'string' && typeof f.address === 'string' && typeof f.port === 'number';
}

function sameSide(a: Side, b: Side): boolean {
  return a.protocol === b.protocol && a.host === b.host && a.token === b.token;
}

/** Inserts our Record-Route entries into forwarded requests, one or two (RFC 5658). */
export class RecordRouter {
  readonly #identity: ProxyIdentity;
  readonly #flows: StackFlows;
  readonly #mode: DoubleRecordRoute;

  constructor(identity: ProxyIdentity, flows: StackFlows, mode: DoubleRecordRoute) {
    this.#identity = identity;
    this.#flows = flows;
    this.#mode = mode;
  }

  /** Entries are made per side ('auto', 'always'); 'never' needs no side. */
  get perSide(): boolean {
    return this.#mode !== 'never';
  }

  /**
   * The side a request arrived on (once per context): its transport, the address it reached,
   * and a flow token when the client can only be reached back over that connection: a
   * WebSocket client (RFC 7118 §5: its Contact is unreachable), or an outbound client, whose
   * Contact or the Route entry of ours it came through says `ob` (RFC 5626 §5.3).
   */
  inbound(remote: Remote, rq: SipRequest, ob: boolean): Side {
    const protocol = remote.protocol.toUpperCase();
    const needsToken = protocol === 'WS' || protocol === 'WSS' || ob || contactSaysOb(rq);
    return {
      protocol,
      host: this.#identity.sideHost(remote.local?.address),
      token: needsToken ? this.#flows.tokenOf(remote) : undefined,
    };
  }

  /**
   * The side a branch leaves by: the flow its first Route entry of ours names (a registrar's
   * flow route: WebSocket, outbound or NATed client, `.invalid` Contact), else the transport of
   * the first Route entry that is not ours, else that of the Request-URI (`transport`, `sips:`),
   * else the stack's default (UDP). A flow gets its token back in our entry, so that the
   * client's in-dialog requests and the other end's reach that connection again.
   */
  outbound(rq: SipRequest): Side {
    const identity = this.#identity;
    const local = identity.local;
    const route = rq.headers.route;
    if (route !== undefined) {
      for (const entry of route) {
        // Parsed by the parser; an application may have put a string there.
        const given: unknown = entry.uri;
        const uri = typeof given === 'string' ? parseUri(given) : (given as SipUri | undefined);
        if (typeof uri !== 'object' || uri === null || typeof uri.host !== 'string') continue;
        if (local.hosts.has(normalHost(uri.host))) {
          const flow = this.#flows.flowOf(uri);
          if (flow !== undefined) return this.#flowSide(flow, uri.user as string);
          // Our own plain entry: the stack skips it (RFC 3261 §16.4) and goes on with the next.
          if (isLocalHostPort({ host: uri.host, port: uri.port, secure: uri.schema.toLowerCase() === 'sips' }, local)) continue;
        }
        return { protocol: uriTransport(uri) ?? identity.defaultProtocol, host: identity.sideHost(undefined), token: undefined };
      }
    }
    const target = rq.uri;
    const hp = uriHostPort(target);
    if (hp !== undefined && (hp.port === undefined || local.ports.has(hp.port)) && local.hosts.has(normalHost(hp.host))) {
      // A Request-URI that is a flow URI of ours (RFC 5626 §5.3): rare, parsed in full.
      const parsed = parseUri(target);
      const flow = parsed === undefined ? undefined : this.#flows.flowOf(parsed);
      if (flow !== undefined && parsed?.user !== undefined) return this.#flowSide(flow, parsed.user);
    }
    return { protocol: uriTransport(target) ?? identity.defaultProtocol, host: identity.sideHost(undefined), token: undefined };
  }

  /**
   * RFC 3261 §16.6 step 4 with RFC 5658: our entries on top of the request's Record-Route. The
   * entry facing the callee goes on top (the UAS takes the route set in order, §12.1.1) and the
   * one facing the caller below it (the UAC takes it reversed, §12.1.2): so each end's first
   * hop is the entry for its own side. One entry when both are the same ('auto').
   */
  insert(rq: SipRequest, inbound: Side | undefined): void {
    const h = rq.headers;
    const existing = h['record-route'] ?? [];
    if (this.#mode === 'never' || inbound === undefined) {
      h['record-route'] = [this.#identity.routeEntry(), ...existing];
      return;
    }
    const outbound = this.outbound(rq);
    const identity = this.#identity;
    const out: RouteAddr = identity.sideEntry(outbound.protocol, outbound.host, outbound.token);
    if (this.#mode === 'auto' && sameSide(inbound, outbound)) {
      h['record-route'] = [out, ...existing];
      return;
    }
    h['record-route'] = [out, identity.sideEntry(inbound.protocol, inbound.host, inbound.token), ...existing];
  }

  #flowSide(flow: FlowAddress, token: string): Side {
    return { protocol: flow.protocol.toUpperCase(), host: this.#identity.sideHost(flow.local?.address), token };
  }
}

/** RFC 5626 §5.3: a dialog-forming request whose Contact carries `ob`. */
function contactSaysOb(rq: SipRequest): boolean {
  const contact = rq.headers.contact;
  if (!Array.isArray(contact)) return false;
  const first = contact[0];
  return first !== undefined && uriParam(first.uri, 'ob') !== undefined;
}

// A registrar and stateful proxy on the @sipts/core API (this is `pnpm start`).
//
// REGISTER stores Contacts (RFC 3261 §10.3); a request for a registered user is forwarded to its
// most recent Contact (over the connection it registered on when it is a WebSocket or RFC 5626
// client); requests for other hosts (in-dialog requests, outbound proxying) are forwarded as
// they are. INVITEs get 100 Trying at once (§16.2), Max-Forwards is decremented (483 at zero),
// CANCEL is answered and passed downstream (§16.10), every response (2xx retransmissions too) is
// relayed upstream with our Via removed, and ACKs for 2xx are forwarded statelessly.
//
//   pnpm start                                  # 127.0.0.1: UDP+TCP 5060, WS 8080
//   SIP_PORT=5070 WS_PORT=8090 pnpm start       # other ports (WS_PORT=off: no WebSocket)
//   SIP_ADDRESS=0.0.0.0 PUBLIC_ADDRESS=203.0.113.5 pnpm start
//   RECORD_ROUTE=1 pnpm start                   # stay in the path of dialogs (Record-Route)
import { copyMessage, create, makeResponse } from '@sipts/core';
import type { SipRequest, SipResponse, SipStack, SipUri, StackOptions } from '@sipts/core';
import { LocationService, aorOf, type Binding } from './lib/location-service.js';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, REFER';

export interface RegistrarProxyOptions extends StackOptions {
  location?: LocationService;
  /**
   * RFC 3261 §16.6 step 4: put this proxy in Record-Route of dialog-creating requests, so the
   * dialog's later requests (BYE, re-INVITE) come through it too. Default false.
   */
  recordRoute?: boolean;
}

/** Methods that create dialogs (RFC 3261 §12, RFC 6665, RFC 3515). */
const dialogCreating = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

function maxForwardsOf(rq: SipRequest): number {
  const raw = rq.headers['max-forwards'];
  const n = raw === undefined ? 70 : Number(raw);
  return Number.isFinite(n) ? n : 70;
}

export function startRegistrarProxy(options: RegistrarProxyOptions = {}): SipStack {
  const { location = new LocationService(), recordRoute = false, ...stackOptions } = options;
  /** INVITEs forwarded and not yet answered finally, by Call-ID and the caller's branch, for CANCEL. */
  const pending = new Map<string, SipRequest>();
  const pendingKey = (rq: SipRequest): string => `${rq.headers['call-id']}|${String(rq.headers.via?.[0]?.params.branch)}`;

  /** Where a request goes: a registered Contact, the Request-URI as it is, or nowhere (404). */
  function target(rq: SipRequest): { uri: string | SipUri; binding?: Binding } | undefined {
    const user = aorOf(rq.uri);
    const binding = user === undefined ? undefined : location.lookup(user)[0];
    if (binding !== undefined) return { uri: binding.contact.uri, binding };
    return stack.isLocalUri(rq.uri) ? undefined : { uri: rq.uri };
  }

  /** The request as we send it on: a copy with the new Request-URI, Max-Forwards - 1, the flow route. */
  function forwardCopy(rq: SipRequest, to: { uri: string | SipUri; binding?: Binding }, inbound: string): SipRequest {
    const fwd = copyMessage(rq);
    if (recordRoute && dialogCreating.has(rq.method) && rq.headers.to?.params.tag === undefined) {
      // Named the way the previous hop reached us (its transport), with lr (RFC 3261 §16.6 step 4).
      const protocol = inbound.toUpperCase() as 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';
      const self = { uri: stack.localUri({ protocol, lr: true }), params: {} };
      fwd.headers['record-route'] = [self, ...(rq.headers['record-route'] ?? [])];
    }
    fwd.uri = to.uri;
    fwd.headers['max-forwards'] = maxForwardsOf(rq) - 1;
    const routes = rq.headers.route?.slice() ?? [];
    if (to.binding?.flow !== undefined) {
      // RFC 5626 §5.3: reach the client over the connection it registered on.
      const flowUri = stack.encodeFlowUri(to.binding.flow);
      flowUri.params.lr = null;
      routes.unshift({ uri: flowUri, params: {} });
    }
    if (routes.length > 0) fwd.headers.route = routes;
    else delete fwd.headers.route;
    return fwd;
  }

  /** A downstream response goes upstream: our Via off; a 503 becomes 500 (RFC 3261 §16.7 step 6). */
  function relay(rs: SipResponse): void {
    if (rs.status === 100) return; // hop by hop: we sent our own
    rs.headers.via?.shift();
    if (rs.status === 503) {
      rs.status = 500;
      rs.reason = 'Server Internal Error';
    }
    stack.send(rs);
  }

  const stack = create(stackOptions, (rq, remote) => {
    if (rq.method === 'REGISTER') {
      const result = location.register(rq, remote);
      if (result.status === 200) stack.send(makeResponse(rq, 200, 'OK', { headers: { contact: result.contacts } }));
      else if (result.status === 423) stack.send(makeResponse(rq, 423, 'Interval Too Brief', { headers: { 'min-expires': String(result.minExpires) } }));
      else stack.send(makeResponse(rq, 400, result.reason));
      return;
    }

    if (rq.method === 'CANCEL') {
      // RFC 3261 §16.10: answer the CANCEL, cancel the branch downstream; its 487 comes back up.
      const forwarded = pending.get(pendingKey(rq));
      if (forwarded === undefined) {
        stack.send(makeResponse(rq, 481, 'Call/Transaction Does Not Exist'));
        return;
      }
      stack.send(makeResponse(rq, 200, 'OK'));
      stack.cancel(forwarded);
      return;
    }

    const to = target(rq);
    if (rq.method === 'ACK') {
      // An ACK for a 2xx: forwarded statelessly (the stack puts a new Via on top); never answered.
      if (to !== undefined && maxForwardsOf(rq) > 0) stack.send(forwardCopy(rq, to, remote.protocol));
      return;
    }

    if (to === undefined) {
      // For us, and nobody registered under that user.
      if (rq.method === 'OPTIONS') stack.send(makeResponse(rq, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } }));
      else stack.send(makeResponse(rq, 404, 'Not Found'));
      return;
    }
    // RFC 3261 §16.3 step 3 / §16.6 step 3.
    if (maxForwardsOf(rq) <= 0) {
      stack.send(makeResponse(rq, 483, 'Too Many Hops'));
      return;
    }
    if (rq.method === 'INVITE') stack.send(makeResponse(rq, 100, 'Trying'));

    const fwd = forwardCopy(rq, to, remote.protocol);
    const key = pendingKey(rq);
    if (rq.method === 'INVITE') pending.set(key, fwd);
    stack.send(fwd, (rs) => {
      if (rs.status >= 200) pending.delete(key);
      relay(rs);
    });
  });
  // A WebSocket / outbound client that disconnects can no longer be reached: forget it now.
  stack.on('connectionClose', (remote) => location.dropFlow(remote));
  return stack;
}

/** Options for `pnpm start` from the environment. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistrarProxyOptions {
  const ws = env.WS_PORT === 'off' ? undefined : envPort('WS_PORT', 8080, env);
  return {
    address: env.SIP_ADDRESS ?? '127.0.0.1',
    port: envPort('SIP_PORT', 5060, env),
    ...(ws !== undefined ? { ws_port: ws } : {}),
    ...(env.PUBLIC_ADDRESS ? { publicAddress: env.PUBLIC_ADDRESS } : {}),
    ...(env.RECORD_ROUTE === '1' ? { recordRoute: true } : {}),
  };
}

if (isMain('registrar-proxy.ts')) {
  const stack = startRegistrarProxy(optionsFromEnv());
  runUntilSignal('sipts registrar + proxy listening on', stack, [
    'Register a phone (user@<address>), then call sip:<user>@<address>.',
  ]);
}


// A registrar and stateful proxy on @sipts/proxy.
//
// REGISTER stores Contacts (RFC 3261 §10.3). A request for a registered user is forked to every
// Contact at once (§16.6, the best response goes back per §16.7); a request for another host is
// forwarded as it is (in-dialog requests, outbound proxying); a request for this proxy with no
// binding gets 404. The proxy core does the rest: 100 Trying at once, Max-Forwards, loop
// detection, Record-Route, Path, CANCEL, and releasing every context.
//
//   pnpm example examples/proxy-registrar.ts                # 127.0.0.1, UDP+TCP 5060
//   SIP_PORT=5070 SIP_ADDRESS=0.0.0.0 pnpm example examples/proxy-registrar.ts
import { create, makeResponse } from '@sipts/core';
import type { Remote, RouteAddr, SipRequest, SipStack, StackOptions } from '@sipts/core';
import { createProxy, type ForkTarget, type SipProxy } from '@sipts/proxy';
import { LocationService, aorOf, type Binding } from './lib/location-service.js';
import { envPort, isMain } from './lib/run.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, REFER';

export interface ProxyRegistrarOptions extends StackOptions {
  location?: LocationService;
  /** Record-Route every dialog through this proxy (RFC 3261 §16.6 step 4). Default true. */
  recordRoute?: boolean;
}

export function startProxyRegistrar(options: ProxyRegistrarOptions = {}): SipProxy {
  const { location = new LocationService(), recordRoute = true, ...stackOptions } = options;

  /** A fork target for a binding: its Contact, through the flow it registered on if it needs one. */
  function targetOf(binding: Binding): ForkTarget {
    if (binding.flow === undefined) return binding.contact.uri;
    const flowUri = proxy.stack.encodeFlowUri?.(binding.flow);
    if (flowUri === undefined) return binding.contact.uri;
    flowUri.params['lr'] = null;
    const route: RouteAddr[] = [{ uri: flowUri, params: {} }];
    return { uri: binding.contact.uri, route };
  }

  function onRequest(rq: SipRequest, remote: Remote): void {
    if (rq.method === 'REGISTER') {
      const result = location.register(rq, remote);
      if (result.status === 200) proxy.send(makeResponse(rq, 200, 'OK', { headers: { contact: result.contacts } }));
      else if (result.status === 423) {
        proxy.send(makeResponse(rq, 423, 'Interval Too Brief', { headers: { 'min-expires': String(result.minExpires) } }));
      } else proxy.send(makeResponse(rq, 400, result.reason));
      return;
    }
    const user = aorOf(rq.uri);
    const bindings = user === undefined ? [] : location.lookup(user);
    if (rq.method === 'ACK') {
      // An ACK for a 2xx: no context, forwarded statelessly (to the first binding, as the 2xx
      // that it acknowledges normally came from the most recent one).
      const first = bindings[0];
      if (first !== undefined) rq.uri = first.contact.uri;
      proxy.send(rq);
      return;
    }
    if (bindings.length > 0) {
      proxy.fork(rq, bindings.map(targetOf), { mode: 'parallel' });
      return;
    }
    if (!proxy.isLocalUri(rq.uri)) {
      proxy.send(rq);
      return;
    }
    proxy.send(
      rq.method === 'OPTIONS'
        ? makeResponse(rq, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } })
        : makeResponse(rq, 404, 'Not Found'),
    );
  }

  // The proxy runs on a @sipts/core stack made here, so its connection events are at hand: a
  // WebSocket / outbound client that disconnects can no longer be reached, so its bindings go.
  let stack: SipStack | undefined;
  const proxy: SipProxy = createProxy(
    {
      ...stackOptions,
      recordRoute,
      path: true,
      stack: (opts: Record<string, unknown>, handler: (rq: SipRequest, remote: Remote) => void) => (stack = create(opts as StackOptions, handler)),
    },
    onRequest,
  );
  stack?.on('connectionClose', (remote) => location.dropFlow(remote));
  return proxy;
}

if (isMain('proxy-registrar.ts')) {
  const proxy = startProxyRegistrar({
    address: process.env['SIP_ADDRESS'] ?? '127.0.0.1',
    port: envPort('SIP_PORT', 5060),
    ...(process.env['PUBLIC_ADDRESS'] ? { publicAddress: process.env['PUBLIC_ADDRESS'] } : {}),
    ...(process.env['RECORD_ROUTE'] === 'off' ? { recordRoute: false } : {}),
  });
  proxy.ready().then(
    () => {
      const where = proxy.stack.addresses?.() ?? [];
      console.log('sipts proxy-registrar (@sipts/proxy) listening on');
      for (const a of where) console.log(`  ${a.protocol.padEnd(4)} ${a.address}:${a.port}`);
      console.log('Register a phone (user@<address>), then call sip:<user>@<address>. Ctrl-C to stop');
    },
    (e: unknown) => {
      console.error(`proxy-registrar: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
  const shutdown = (): void => {
    void Promise.resolve(proxy.stop()).then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

// A registrar and stateful proxy on @sipts/proxy and @sipts/registrar.
//
// REGISTER goes to the registrar (RFC 3261 §10.3 with Path, outbound, GRUU and NAT handling).
// A request for a registered user is forked to every binding at once (§16.6, the best response
// goes back per §16.7), each through its Path or its flow (a WebSocket or RFC 5626 client over
// its own connection, a NATed UDP phone at the address its REGISTER came from); a request for a
// GRUU goes to that one instance; a request for another host is forwarded as it is (in-dialog
// requests, outbound proxying); a request for this proxy with no binding gets 404. The proxy core
// does the rest: 100 Trying at once, Max-Forwards, loop detection, Record-Route (one entry per
// side when the transports differ, with a flow token towards WebSocket and outbound clients,
// RFC 5658 / RFC 5626 §5.3), Path, CANCEL, and releasing every context. In-dialog requests
// follow their Route set.
//
//   pnpm example examples/proxy-registrar.ts                # 127.0.0.1, UDP+TCP 5060
//   SIP_PORT=5070 SIP_ADDRESS=0.0.0.0 pnpm example examples/proxy-registrar.ts
//   REDIS_URL=redis://127.0.0.1:6379 pnpm example examples/proxy-registrar.ts   # bindings in Redis
//   AUTH_USERS=alice:secret,bob:pw pnpm example examples/proxy-registrar.ts     # digest on REGISTER
import { create, makeResponse, parseUri } from '@sipts/core';
import type { SipRequest, SipStack, StackOptions } from '@sipts/core';
import { createProxy, type ForkTarget, type SipProxy, type StackRequestHandler } from '@sipts/proxy';
import type { DigestServerOptions } from '@sipts/digest';
import { RedisBindingStore, createRegistrar, type LookupResult, type Registrar } from '@sipts/registrar';
import { observeFromEnv } from './lib/observe.js';
import { envPort, isMain } from './lib/run.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, REFER';

export interface ProxyRegistrarOptions extends StackOptions {
  /** The registrar to use (default: one made here, closed with the stack). */
  registrar?: Registrar;
  /** Keep bindings in Redis at this URL instead of in memory (when no `registrar` is given). */
  redisUrl?: string;
  /** Record-Route every dialog through this proxy (RFC 3261 §16.6 step 4). Default true. */
  recordRoute?: boolean;
  /** Digest authentication of REGISTER (when no `registrar` is given). Default none. */
  auth?: DigestServerOptions | undefined;
  /**
   * One secret for everything several nodes must agree on (flow tokens, GRUUs, digest nonces):
   * a node then needs no state of its own to take over another's clients. Default: random per
   * process (flowSecret, when given, wins for flow tokens).
   */
  sharedSecret?: string | undefined;
}

/** A registrar on the in-memory store, or on Redis when `redisUrl` is given. */
export function makeRegistrar(redisUrl: string | undefined, auth?: DigestServerOptions, sharedSecret?: string): Registrar {
  return createRegistrar({
    ...(redisUrl !== undefined ? { store: new RedisBindingStore({ url: redisUrl }) } : {}),
    ...(auth !== undefined ? { auth: sharedSecret !== undefined ? { secret: sharedSecret, ...auth } : auth } : {}),
    ...(sharedSecret !== undefined ? { gruuSecret: sharedSecret } : {}),
  });
}

/** `AUTH_USERS=alice:secret,bob:pw` (and `AUTH_REALM`): digest on REGISTER with these accounts. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): DigestServerOptions | undefined {
  const list = env['AUTH_USERS'];
  if (list === undefined || list === '') return undefined;
  const passwords = new Map<string, string>();
  for (const entry of list.split(',')) {
    const colon = entry.indexOf(':');
    if (colon > 0) passwords.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return {
    realm: env['AUTH_REALM'] || env['SIP_ADDRESS'] || '127.0.0.1',
    lookup: (user) => {
      const password = passwords.get(user);
      return password === undefined ? undefined : { password };
    },
  };
}

export function startProxyRegistrar(options: ProxyRegistrarOptions = {}): SipProxy {
  const { registrar: given, redisUrl, recordRoute = true, auth, sharedSecret, ...stackOptions } = options;
  const registrar = given ?? makeRegistrar(redisUrl, auth, sharedSecret);
  if (sharedSecret !== undefined && stackOptions.flowSecret === undefined) stackOptions.flowSecret = sharedSecret;

  function route(rq: SipRequest, found: LookupResult): void {
    switch (found.outcome) {
      case 'found': {
        if (rq.method === 'ACK') {
          // An ACK for a 2xx: no context, forwarded statelessly (to the first target, as the 2xx
          // that it acknowledges normally came from the most recent binding).
          const first = found.targets[0];
          if (first !== undefined) {
            rq.uri = first.uri;
            if (first.route.length > 0) rq.headers.route = [...first.route, ...(rq.headers.route ?? [])];
          }
          proxy.send(rq);
          return;
        }
        // Each binding through its Path, its flow or its NAT source (the route the registrar
        // made); an outbound client's other flows are tried in turn should this one fail with 430
        // or a transport error (RFC 5626 §5.3).
        const targets: ForkTarget[] = found.targets.map((t) =>
          t.route.length > 0 || t.alternates.length > 0 ? { uri: t.uri, route: t.route, alternates: t.alternates } : t.uri,
        );
        proxy.fork(rq, targets, { mode: 'parallel' });
        return;
      }
      case 'unavailable':
        // The store is down: say when to come back instead of "not found" (RFC 3261 §21.5.4).
        if (rq.method !== 'ACK') proxy.send(makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(found.retryAfter) } }));
        return;
      case 'unknown-gruu':
        // RFC 5627 §5.5: a GRUU we did not issue.
        if (rq.method !== 'ACK') proxy.send(makeResponse(rq, 404, 'Not Found'));
        return;
      case 'not-registered':
        break;
    }
    if (!proxy.isLocalUri(rq.uri) || rq.method === 'ACK') {
      proxy.send(rq);
      return;
    }
    proxy.send(
      rq.method === 'OPTIONS'
        ? makeResponse(rq, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } })
        : makeResponse(rq, 404, 'Not Found'),
    );
  }

  function onRequest(rq: SipRequest): void {
    // An in-dialog request (a To tag) for a Contact elsewhere follows its Route set and
    // Request-URI (RFC 3261 §16.12): our own Record-Route entries are already off it, and a flow
    // entry left on top takes it over that connection. A Contact's user part may name a
    // registered user without meaning "fork to every binding"; only a Request-URI naming this
    // proxy (a UA that sends in-dialog requests to the AOR) or a GRUU (RFC 5627 §5.5) is looked up.
    if (rq.headers.to?.params['tag'] !== undefined && !proxy.isLocalUri(rq.uri) && parseUri(rq.uri)?.params['gr'] === undefined) {
      proxy.send(rq);
      return;
    }
    void registrar.lookup(rq.uri).then((found) => route(rq, found));
  }

  // The proxy runs on a @sipts/core stack made here, so the registrar can use its flows and its
  // connection events: a WebSocket / outbound client that disconnects can no longer be reached,
  // so its bindings go. Every REGISTER is this registrar's (RFC 3261 §10.3) and is answered on
  // its own server transaction, before the proxy would open a response context for it.
  let stack: SipStack | undefined;
  const proxy: SipProxy = createProxy(
    {
      ...stackOptions,
      recordRoute,
      path: true,
      // The reply handle goes to the proxy with the request: it answers upstream on that server
      // transaction instead of finding it again by Via, Call-ID and CSeq for every response.
      stack: (opts: Record<string, unknown>, handler: StackRequestHandler) =>
        (stack = create(opts as StackOptions, (rq, remote, reply) => {
          if (rq.method === 'REGISTER') void registrar.register(rq, remote).then((rs) => reply.reply(rs));
          else handler(rq, remote, reply);
        })),
    },
    onRequest,
  );
  if (stack !== undefined) {
    registrar.attach(stack);
    if (given === undefined) stack.once('close', () => void registrar.close());
  }
  return proxy;
}

if (isMain('proxy-registrar.ts')) {
  const redisUrl = process.env['REDIS_URL'] || undefined;
  const proxy = startProxyRegistrar({
    address: process.env['SIP_ADDRESS'] ?? '127.0.0.1',
    port: envPort('SIP_PORT', 5060),
    ...(process.env['PUBLIC_ADDRESS'] ? { publicAddress: process.env['PUBLIC_ADDRESS'] } : {}),
    ...(process.env['RECORD_ROUTE'] === 'off' ? { recordRoute: false } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(process.env['SHARED_SECRET'] ? { sharedSecret: process.env['SHARED_SECRET'] } : {}),
    ...(authFromEnv() !== undefined ? { auth: authFromEnv() } : {}),
  });
  const observed = observeFromEnv({ stack: proxy.stack as SipStack, proxy });
  proxy.ready().then(
    () => {
      const where = proxy.stack.addresses?.() ?? [];
      console.log('sipts proxy-registrar (@sipts/proxy, @sipts/registrar) listening on');
      for (const a of where) console.log(`  ${a.protocol.padEnd(4)} ${a.address}:${a.port}`);
      console.log(`Bindings ${redisUrl !== undefined ? `in Redis (${redisUrl})` : 'in memory'}.`);
      for (const line of observed.lines) console.log(line);
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

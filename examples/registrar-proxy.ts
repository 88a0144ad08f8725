// A registrar and stateful proxy: `pnpm start`. It runs the registrar + proxy of
// examples/proxy-registrar.ts (@sipts/registrar: RFC 3261 §10.3, Path, outbound, GRUU, NAT;
// @sipts/proxy: forking to every registered Contact, 100 Trying at once, Max-Forwards and 483,
// loop detection, CANCEL, flows for WebSocket and RFC 5626 clients) with the defaults of a first
// server to try: 127.0.0.1, UDP+TCP 5060 and WebSocket 8080, Record-Route off unless asked for,
// bindings in memory unless REDIS_URL names a Redis server.
//
//   pnpm start                                  # 127.0.0.1: UDP+TCP 5060, WS 8080
//   SIP_PORT=5070 WS_PORT=8090 pnpm start       # other ports (WS_PORT=off: no WebSocket)
//   SIP_ADDRESS=0.0.0.0 PUBLIC_ADDRESS=203.0.113.5 RECORD_ROUTE=1 pnpm start
//   REDIS_URL=redis://127.0.0.1:6379 pnpm start # bindings in Redis (several nodes can share it)
//   AUTH_USERS=alice:secret,bob:pw pnpm start   # digest authentication of REGISTER (AUTH_REALM)
//   SHARED_SECRET=... pnpm start                # flow tokens, GRUUs and nonces shared by every node
//                                               # (with REDIS_URL and AUTH_USERS, digest nonce counts in Redis too)
//   TRUSTED_SOURCES=10.0.0.2,127.0.0.0/8 pnpm start   # never rate-limited (a balancer in front); default loopback
//   PATH_WITHOUT_SUPPORT=store pnpm start       # keep the Path an edge proxy adds for phones without
//                                               # `Supported: path` (default: 420, RFC 3327 §5.3)
//   The cluster of docs/cluster.md (pnpm cluster) runs N of these behind Kamailio's dispatcher.
//   METRICS_PORT=9464 HEP_TARGET=127.0.0.1:9060 LOG_LEVEL=info pnpm start   # observability
//   OVERLOAD=off pnpm start                     # without @sipts/core's load shedding (benchmarks)
import type { SipStack } from '@sipts/core';
import type { SipProxy } from '@sipts/proxy';
import { RedisBindingStore, RedisReplayStore, createRegistrar, type Registrar, type RegistrarOptions } from '@sipts/registrar';
import { ALLOW, authFromEnv, startProxyRegistrar, type ProxyRegistrarOptions } from './proxy-registrar.js';
import { observeFromEnv } from './lib/observe.js';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export { ALLOW };

export interface RegistrarProxyOptions extends ProxyRegistrarOptions {
  /** RFC 3261 §16.6 step 4: stay in the path of the dialogs this proxy sets up. Default false. */
  recordRoute?: boolean;
  /** A Path from a phone without `Supported: path` (added by an edge proxy): 420 (`reject`, default) or kept (`store`). */
  pathWithoutSupport?: RegistrarOptions['pathWithoutSupport'];
}

/**
 * Starts the registrar + proxy and returns the @sipts/core stack it runs on (closing the stack
 * stops the proxy too).
 */
export function startRegistrarProxy(options: RegistrarProxyOptions = {}): SipStack {
  return startRegistrarProxyParts(options).stack;
}

/** The same, with the proxy and the registrar it runs (for metrics and tests). */
export function startRegistrarProxyParts(options: RegistrarProxyOptions = {}): { stack: SipStack; proxy: SipProxy; registrar: Registrar } {
  // Nodes sharing Redis (and the nonce secret) share the digest nonce counts already used too, so
  // an Authorization accepted by one node cannot be replayed to another (RFC 7616 §3.4).
  const replayStore = options.registrar === undefined && options.redisUrl !== undefined && options.auth !== undefined ? new RedisReplayStore({ url: options.redisUrl }) : undefined;
  const auth = replayStore !== undefined && options.auth !== undefined ? { ...options.auth, replayStore } : options.auth;
  const { redisUrl, sharedSecret, pathWithoutSupport } = options;
  const registrar =
    options.registrar ??
    createRegistrar({
      ...(redisUrl !== undefined ? { store: new RedisBindingStore({ url: redisUrl }) } : {}),
      ...(auth !== undefined ? { auth: sharedSecret !== undefined ? { secret: sharedSecret, ...auth } : auth } : {}),
      ...(sharedSecret !== undefined ? { gruuSecret: sharedSecret } : {}),
      ...(pathWithoutSupport !== undefined ? { pathWithoutSupport } : {}),
    });
  const { pathWithoutSupport: _registrarOnly, ...proxyOptions } = options;
  const proxy = startProxyRegistrar({ recordRoute: false, ...proxyOptions, registrar });
  const stack = proxy.stack as SipStack;
  stack.once('close', () => {
    void proxy.stop();
    if (options.registrar === undefined) void registrar.close().then(() => replayStore?.close());
  });
  return { stack, proxy, registrar };
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
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    ...(env.SHARED_SECRET ? { sharedSecret: env.SHARED_SECRET } : {}),
    ...(authFromEnv(env) !== undefined ? { auth: authFromEnv(env) } : {}),
    // @sipts/core's load shedding (503 / drop past its thresholds) stays on unless OVERLOAD=off.
    ...(env.OVERLOAD === 'off' ? { overload: false as const } : {}),
    // @sipts/core's per-source rate limit never counts these (a dispatcher in front sends
    // everyone's requests from one address); default loopback.
    ...(env.PATH_WITHOUT_SUPPORT === 'store' ? { pathWithoutSupport: 'store' as const } : {}),
    ...(env.TRUSTED_SOURCES ? { rateLimit: { trusted: env.TRUSTED_SOURCES.split(',').map((s) => s.trim()).filter((s) => s !== '') } } : {}),
  };
}

if (isMain('registrar-proxy.ts')) {
  const options = optionsFromEnv();
  const { stack, proxy, registrar } = startRegistrarProxyParts(options);
  const observed = observeFromEnv({ stack, proxy, registrar });
  runUntilSignal('sipts registrar + proxy listening on', stack, [
    `Bindings ${options.redisUrl !== undefined ? `in Redis (${options.redisUrl})` : 'in memory'}.`,
    ...(options.redisUrl !== undefined && options.auth !== undefined ? ['Digest nonce counts in Redis (shared by every node).'] : []),
    ...(options.auth !== undefined ? [`REGISTER needs digest authentication (realm ${options.auth.realm}).`] : []),
    ...observed.lines,
    'Register a phone (user@<address>), then call sip:<user>@<address>.',
  ]);
}

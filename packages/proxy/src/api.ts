// The two public faces of the proxy: `createProxy` (any number of proxies per process) and the
// module-level `start` / `stop` / `send` of `sip/proxy` (one default proxy).
import { defaultStack, stop as stopDefaultStack, type StackOptions } from '@sipts/core';
import type { SipMessage, SipRequest } from '@sipts/message';
import { defaultStackFactory, moduleStackFactory } from './default-stack.js';
import { SipProxyError } from './errors.js';
import type { ForkOptions, ForkTarget, ProxyOptions } from './options.js';
import { SipProxy, type RequestHandler } from './proxy.js';
import type { ResponseCallback } from './stack.js';

/**
 * A new proxy on its own stack. `options` are the stack's (`port`, `address`, `udp`, `tcp`,
 * `logger`, ...) plus the proxy's own (`recordRoute`, `path`, `cancelTimeout`, ...).
 */
export function createProxy<O extends object = StackOptions>(options: ProxyOptions<O>, onRequest: RequestHandler): SipProxy {
  return new SipProxy(options as unknown as ProxyOptions<Record<string, unknown>>, onRequest, defaultStackFactory);
}

let current: SipProxy | undefined;

function started(): SipProxy {
  if (current === undefined) throw new SipProxyError('ERR_NOT_STARTED', 'call start() first');
  return current;
}

/**
 * `sip/proxy` start: creates the default proxy (a previous one is stopped) on @sipts/core's
 * default stack, so the module-level `send`, `encodeFlowUri`... of @sipts/core reach it.
 */
export function start<O extends object = StackOptions>(options: ProxyOptions<O>, onRequest: RequestHandler): SipProxy {
  if (current !== undefined) void current.stop();
  current = new SipProxy(options as unknown as ProxyOptions<Record<string, unknown>>, onRequest, moduleStackFactory);
  return current;
}

/** `sip/proxy` stop: stops the default proxy and its stack (also @sipts/core's default stack). */
export function stop(): void | Promise<void> {
  const p = current;
  current = undefined;
  if (p === undefined) return;
  const stopped = p.stop();
  if (defaultStack() === p.stack) return Promise.all([stopped, stopDefaultStack()]).then(() => undefined);
  return stopped;
}

/** `sip/proxy` send on the default proxy (see SipProxy.send). */
export function send(message: SipMessage, callback?: ResponseCallback): void {
  started().send(message, callback);
}

/** SipProxy.fork on the default proxy. */
export function fork(rq: SipRequest, targets: readonly ForkTarget[], options?: ForkOptions): void {
  started().fork(rq, targets, options);
}

/** Contexts of the default proxy (0 when not started). */
export function contextCount(): number {
  return current?.contextCount ?? 0;
}

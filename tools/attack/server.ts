// The server under attack: the registrar + proxy of `pnpm start` (examples/registrar-proxy.ts,
// started through its own `startRegistrarProxyParts`) with digest authentication of REGISTER,
// in a child process of the attack suite (tools/attack/run.ts) that talks to it over the IPC
// channel of `child_process.fork`. It runs three stacks:
//   main:  127.0.0.1, UDP + TCP + WS, like `pnpm start`, but with per-source rate limiting for
//          every address (`rateLimit: { trusted: [] }`; pnpm start trusts loopback, so a suite on
//          loopback could not exercise the limit otherwise);
//   v6:    ::1, UDP + TCP + TLS + WSS (a self-signed certificate made by the suite with openssl),
//          with pnpm start's defaults otherwise (loopback trusted by the rate limiter: every
//          IPv6 client of the suite is ::1, one source);
//   evict: 127.0.0.1, TCP only, `maxConnections: 200`, to reach the connection cap and its
//          eviction without opening 10,000 sockets.
// Every stack gets a resolver that never asks DNS and only returns loopback targets (a fuzzed
// or forged message must not make the stack send anywhere else), and a logger that counts
// instead of printing: the suite checks that nothing at all reaches stderr.
//
// IPC requests (each `{ id, op }`, answered `{ id, ok, value | error }`):
//   info   where every stack listens
//   stats  stack.stats(), proxy.stats(), registrar.stats() per stack, logger counts, guard counts
//   gc     two full collections, then process.memoryUsage()
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createResolver, type Resolver, type SipStack, type StackLogger, type StackOptions } from '@sipts/core';
import type { SipProxy } from '@sipts/proxy';
import type { Registrar } from '@sipts/registrar';
import type { DigestServerOptions } from '@sipts/digest';
import { startRegistrarProxyParts } from '../../examples/registrar-proxy.js';

export interface ServerConfig {
  /** Digest accounts (user -> password) for REGISTER on every stack. */
  users: Record<string, string>;
  /** PEM files for TLS and WSS. */
  keyFile: string;
  certFile: string;
}

export interface ServerStackInfo {
  name: string;
  addresses: { protocol: string; address: string; port: number }[];
}

interface Counted {
  errors: number;
  errorCodes: Record<string, number>;
  lastErrors: string[];
  warnings: number;
  lastWarnings: string[];
  /** DNS queries refused and non-loopback targets dropped by the suite's resolver. */
  guardBlocked: number;
}

function isLoopback(address: string): boolean {
  const a = address.startsWith('[') ? address.slice(1, -1) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) === 6) return a === '::1' || a.toLowerCase().startsWith('::ffff:127.');
  return false;
}

/** RFC 3263 resolution of IP literals only, loopback only: never DNS, never another host. */
function loopbackResolver(counted: Counted): Resolver {
  const noDns = (): Promise<never> => {
    counted.guardBlocked++;
    return Promise.reject(Object.assign(new Error('no DNS in the attack suite'), { code: 'ENOTFOUND' }));
  };
  const inner = createResolver({ dns: { resolveNaptr: noDns, resolveSrv: noDns, lookup: noDns } });
  return {
    async resolve(uri, options) {
      const targets = await inner.resolve(uri, options);
      const kept = targets.filter((t) => isLoopback(t.address));
      counted.guardBlocked += targets.length - kept.length;
      return kept;
    },
  };
}

function countingLogger(counted: Counted): StackLogger {
  return {
    error(error: unknown) {
      counted.errors++;
      const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'none';
      counted.errorCodes[code] = (counted.errorCodes[code] ?? 0) + 1;
      counted.lastErrors.push(error instanceof Error ? `${code}: ${error.message}` : String(error));
      if (counted.lastErrors.length > 10) counted.lastErrors.shift();
    },
    warn(text: string) {
      counted.warnings++;
      counted.lastWarnings.push(text);
      if (counted.lastWarnings.length > 10) counted.lastWarnings.shift();
    },
  };
}

interface Running {
  name: string;
  stack: SipStack;
  proxy: SipProxy;
  registrar: Registrar;
  counted: Counted;
}

function auth(users: Record<string, string>): DigestServerOptions {
  return {
    realm: '127.0.0.1',
    lookup: (user) => {
      const password = users[user];
      return password === undefined ? undefined : { password };
    },
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env['ATTACK_SERVER_CONFIG'] ?? '{}') as ServerConfig;
  const tls = { key: readFileSync(config.keyFile), cert: readFileSync(config.certFile) };
  const plans: { name: string; options: StackOptions & { auth?: DigestServerOptions } }[] = [
    { name: 'main', options: { address: '127.0.0.1', port: 0, ws_port: 0, rateLimit: { trusted: [] }, auth: auth(config.users) } },
    { name: 'v6', options: { address: '::1', port: 0, tls_port: 0, ws_port: 0, tls, auth: auth(config.users) } },
    { name: 'evict', options: { address: '127.0.0.1', port: 0, udp: false, maxConnections: 200, rateLimit: { trusted: [] } } },
  ];
  const running: Running[] = [];
  for (const plan of plans) {
    const counted: Counted = { errors: 0, errorCodes: {}, lastErrors: [], warnings: 0, lastWarnings: [], guardBlocked: 0 };
    const parts = startRegistrarProxyParts({ ...plan.options, resolver: loopbackResolver(counted), logger: countingLogger(counted) });
    await parts.stack.ready();
    running.push({ name: plan.name, ...parts, counted });
  }

  const ops: Record<string, () => unknown> = {
    info: (): ServerStackInfo[] => running.map((r) => ({ name: r.name, addresses: r.stack.addresses().map((a) => ({ protocol: a.protocol, address: a.address, port: a.port })) })),
    stats: async () => {
      const out: Record<string, unknown> = {};
      for (const r of running) {
        out[r.name] = { stack: r.stack.stats(), proxy: r.proxy.stats(), registrar: await r.registrar.stats(), logger: r.counted };
      }
      return out;
    },
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc !== undefined) {
        gc();
        gc();
      }
      return process.memoryUsage();
    },
  };

  process.on('message', (raw: unknown) => {
    const { id, op } = raw as { id: number; op: string };
    const run = ops[op];
    Promise.resolve()
      .then(() => {
        if (run === undefined) throw new Error(`unknown op ${op}`);
        return run();
      })
      .then(
        (value) => process.send?.({ id, ok: true, value }),
        (e: unknown) => process.send?.({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled(running.map((r) => r.stack.close())).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The suite went away without stopping us: do not outlive it.
  process.once('disconnect', stop);
  process.send?.({ id: 0, ok: true, value: 'ready' });
}

main().catch((e: unknown) => {
  process.stderr.write(`attack server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

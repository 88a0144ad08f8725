// The "before" server: the same three stacks as server.ts, built from an old checkout of sipts
// (commit c8c2c20, before the hostile-network fixes) for before/after numbers:
//   git worktree add --detach /tmp/attack-before c8c2c20 && (cd /tmp/attack-before && pnpm install)
//   pnpm test:attack --before /tmp/attack-before
// That commit has no @sipts/registrar: REGISTER goes to examples/proxy-registrar.ts's location
// service, behind the per-account digest sessions of its examples/registrar-redirector-auth.ts
// (what "a registrar with digest on REGISTER" meant then). Everything is imported from the
// checkout named by ATTACK_ROOT; the IPC protocol is server.ts's (stats carry what the old
// stack counted).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { ServerConfig, ServerStackInfo } from './server.js';

interface OldStack {
  ready(): Promise<unknown>;
  addresses(): { protocol: string; address: string; port: number }[];
  stats?(): unknown;
  close(): Promise<void>;
  send(message: unknown): void;
  listeners(event: string): ((...args: unknown[]) => void)[];
  removeAllListeners(event: string): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

interface OldRequest {
  method: string;
  headers: { to?: { uri: string } };
}

async function main(): Promise<void> {
  const root = process.env['ATTACK_ROOT'] ?? '';
  const config = JSON.parse(process.env['ATTACK_SERVER_CONFIG'] ?? '{}') as ServerConfig;
  const core = (await import(join(root, 'packages', 'core', 'src', 'index.ts'))) as {
    digest: { authenticateRequest(session: unknown, rq: unknown, creds: unknown): boolean; challenge(session: unknown, rs: unknown): unknown };
    makeResponse(rq: unknown, status: number, reason: string): unknown;
    parseUri(uri: string): { user?: string } | undefined;
    createResolver(o: unknown): { resolve(uri: unknown, o: unknown): Promise<{ address: string }[]> };
  };
  const example = (await import(join(root, 'examples', 'proxy-registrar.ts'))) as { startProxyRegistrar(o: Record<string, unknown>): { stack: OldStack; stop(): unknown } };
  const tls = { key: readFileSync(config.keyFile), cert: readFileSync(config.certFile) };

  const noDns = (): Promise<never> => Promise.reject(Object.assign(new Error('no DNS in the attack suite'), { code: 'ENOTFOUND' }));
  const inner = core.createResolver({ dns: { resolveNaptr: noDns, resolveSrv: noDns, lookup: noDns } });
  const loopback = (a: string): boolean => (isIP(a) === 4 ? a.startsWith('127.') : a === '::1');
  const resolver = { resolve: async (uri: unknown, o: unknown) => (await inner.resolve(uri, o)).filter((t) => loopback(t.address)) };

  const plans: { name: string; options: Record<string, unknown> }[] = [
    { name: 'main', options: { address: '127.0.0.1', port: 0, ws_port: 0 } },
    { name: 'v6', options: { address: '::1', port: 0, tls_port: 0, ws_port: 0, tls } },
    { name: 'evict', options: { address: '127.0.0.1', port: 0, udp: false, maxConnections: 200 } },
  ];
  const running: { name: string; stack: OldStack; errors: number }[] = [];
  for (const plan of plans) {
    const entry = { name: plan.name, stack: undefined as unknown as OldStack, errors: 0 };
    const proxy = example.startProxyRegistrar({ ...plan.options, recordRoute: false, resolver, logger: { error: () => entry.errors++ } });
    const stack = proxy.stack;
    entry.stack = stack;
    // Digest in front of REGISTER, as examples/registrar-redirector-auth.ts did at that commit:
    // one session per account, shared by every REGISTER for it.
    const sessions = new Map<string, Record<string, unknown>>();
    const handlers = stack.listeners('request');
    stack.removeAllListeners('request');
    stack.on('request', (...args: unknown[]) => {
      const rq = args[0] as OldRequest;
      if (rq.method === 'REGISTER') {
        const user = rq.headers.to === undefined ? undefined : core.parseUri(rq.headers.to.uri)?.user;
        const password = user === undefined ? undefined : config.users[user];
        const key = user ?? '';
        let session = sessions.get(key);
        if (session === undefined) {
          session = { realm: '127.0.0.1', algorithm: 'MD5' };
          if (password !== undefined) sessions.set(key, session);
        }
        if (password === undefined || !core.digest.authenticateRequest(session, rq, { user: key, password })) {
          stack.send(core.digest.challenge(session, core.makeResponse(rq, 401, 'Unauthorized')));
          return;
        }
      }
      for (const h of handlers) h(...args);
    });
    await stack.ready();
    running.push(entry);
  }

  const ops: Record<string, () => unknown> = {
    info: (): ServerStackInfo[] => running.map((r) => ({ name: r.name, addresses: r.stack.addresses().map((a) => ({ protocol: a.protocol, address: a.address, port: a.port })) })),
    stats: () => {
      const out: Record<string, unknown> = {};
      for (const r of running) out[r.name] = { stack: r.stack.stats?.() ?? {}, proxy: {}, registrar: {}, logger: { errors: r.errors, errorCodes: {}, warnings: 0 } };
      return out;
    },
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      return process.memoryUsage();
    },
  };
  process.on('message', (raw: unknown) => {
    const { id, op } = raw as { id: number; op: string };
    Promise.resolve()
      .then(() => {
        const run = ops[op];
        if (run === undefined) throw new Error(`unknown op ${op}`);
        return run();
      })
      .then(
        (value) => process.send?.({ id, ok: true, value }),
        (e: unknown) => process.send?.({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
  });
  const stop = (): void => void Promise.allSettled(running.map((r) => r.stack.close())).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.send?.({ id: 0, ok: true, value: 'ready' });
}

main().catch((e: unknown) => {
  process.stderr.write(`attack server (before): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

// What every example does when run directly: read ports from the environment, print a banner
// of what listens where, and close cleanly on Ctrl-C / SIGTERM.
import type { SipStack } from '@sipts/core';

/** True when the example file `name` is the script node/tsx was started with. */
export function isMain(name: string): boolean {
  const script = process.argv[1] ?? '';
  return script.endsWith(`/${name}`) || script.endsWith(`\\${name}`) || script.endsWith(`/${name.replace(/\.ts$/, '')}`);
}

/** A port from the environment, or the default. */
export function envPort(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}=${raw} is not a port number`);
    process.exit(2);
  }
  return port;
}

/** Prints what listens where once the stack is up, exits 1 if it cannot listen, closes on signals. */
export function runUntilSignal(title: string, stack: SipStack, extraLines: string[] = []): void {
  stack.ready().then(
    (addresses) => {
      console.log(`${title}`);
      for (const a of addresses) {
        const url = a.protocol === 'WS' || a.protocol === 'WSS' ? ` (${a.protocol.toLowerCase()}://${a.address}:${a.port})` : '';
        console.log(`  ${a.protocol.padEnd(4)} ${a.address}:${a.port}${url}`);
      }
      for (const line of extraLines) console.log(line);
      console.log('Ctrl-C to stop');
    },
    (e: unknown) => {
      console.error(`${title}: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

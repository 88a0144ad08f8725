// Leak check for @sipts/b2bua (not a test): examples/b2bua.ts's startB2bua() in this process,
// SIPp uac -> b2bua -> SIPp uas at SOAK_RATE calls/s for SOAK_SECONDS, then SOAK_IDLE seconds of
// silence (longer than the 32 s transactions are kept). Prints, every 10 s, the B2BUA's calls and
// legs, the dialog UA's dialogs, the stack's transaction counts and the heap after a full GC;
// when idle again all must be back at their starting values.
//   TSX_TSCONFIG_PATH=tsconfig.tests.json node --expose-gc --import tsx tools/bench/b2bua-soak.ts
//   SOAK_RATE=400 SOAK_SECONDS=60 SOAK_IDLE=45 ...
// Only dynamic imports: this file runs under tsx whatever the module kind of tools/.
export {};

async function main(): Promise<void> {
  const { spawn } = await import('node:child_process');
  const dgram = await import('node:dgram');
  const path = await import('node:path');
  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const { startB2bua } = (await import(path.join(root, 'examples', 'b2bua.ts'))) as typeof import('../../examples/b2bua.js');
  const rate = Number(process.env['SOAK_RATE'] ?? 400);
  const seconds = Number(process.env['SOAK_SECONDS'] ?? 60);
  const idle = Number(process.env['SOAK_IDLE'] ?? 45);
  const gc = (globalThis as { gc?: () => void }).gc;
  const free = async (host: string): Promise<number> => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  };
  const uasPort = await free('127.0.0.2');
  const port = await free('127.0.0.1');
  const { stack, b2bua } = startB2bua({ address: '127.0.0.1', port, tcp: false, target: `sip:service@127.0.0.2:${uasPort}` });
  await stack.ready();

  const stats = (): string => {
    gc?.();
    const b = b2bua.stats();
    const s = (stack as unknown as { stats?: () => { transactions?: unknown } }).stats?.() ?? {};
    const heap = process.memoryUsage();
    return (
      `b2bua calls ${b.calls} legs ${b.legs} created ${b.callsCreated}, transactions ${JSON.stringify(s.transactions)}, ` +
      `heapUsed ${(heap.heapUsed / 1048576).toFixed(1)} MiB, rss ${(heap.rss / 1048576).toFixed(0)} MiB`
    );
  };
  console.log(`t=0 ${stats()}`);
  const calls = rate * seconds;
  const uas = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.2', '-p', String(uasPort), '-m', String(calls), '-nostdin'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const uac = spawn(
    'sipp',
    ['-sn', 'uac', `127.0.0.1:${port}`, '-s', 'service', '-i', '127.0.0.1', '-r', String(rate), '-m', String(calls), '-nostdin', '-timeout', `${seconds + 30}s`],
    { stdio: 'ignore' },
  );
  const started = Date.now();
  const timer = setInterval(() => console.log(`t=${Math.round((Date.now() - started) / 1000)} ${stats()}`), 10000);
  const code = await new Promise<number | null>((r) => uac.once('close', r));
  console.log(`uac exit ${String(code)}; idle ${idle} s`);
  uas.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, idle * 1000));
  clearInterval(timer);
  console.log(`idle: ${stats()}`);
  await stack.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

// Leak check for @sipts/proxy (not a test): the registrar-proxy example in this process, SIPp uac
// -> proxy -> SIPp uas at SOAK_RATE calls/s for SOAK_SECONDS, then SOAK_IDLE seconds of silence
// (longer than the 32 s transactions are kept). Prints, every 10 s, the proxy's contexts, the
// stack's transaction counts and the heap after a full GC; when idle again all must return to
// their starting values.
//   node --expose-gc --import tsx tools/bench/proxy-soak.ts      (TSX_TSCONFIG_PATH=tsconfig.tests.json)
//   SOAK_RATE=800 SOAK_SECONDS=60 SOAK_IDLE=45 ...
// Only dynamic imports: this file runs under tsx whatever the module kind of tools/.
export {};

async function main(): Promise<void> {
  const { spawn } = await import('node:child_process');
  const dgram = await import('node:dgram');
  const path = await import('node:path');
  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const { startProxyRegistrar } = (await import(path.join(root, 'examples', 'proxy-registrar.ts'))) as typeof import('../../examples/proxy-registrar.js');
  const rate = Number(process.env['SOAK_RATE'] ?? 800);
  const seconds = Number(process.env['SOAK_SECONDS'] ?? 60);
  const idle = Number(process.env['SOAK_IDLE'] ?? 45);
  const gc = (globalThis as { gc?: () => void }).gc;

  const proxy = startProxyRegistrar({ address: '127.0.0.1', port: 0, tcp: false });
  await proxy.ready();
  const port = proxy.stack.addresses?.()[0]?.port ?? 0;
  const free = async (host: string): Promise<number> => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  };
  const uasPort = await free('127.0.0.2');
  const reg = dgram.createSocket('udp4');
  await new Promise<void>((r) => reg.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((resolve) => {
    reg.once('message', () => resolve());
    reg.send(
      [
        `REGISTER sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${reg.address().port};branch=z9hG4bKsoak`,
        'From: <sip:uas@127.0.0.1>;tag=s',
        'To: <sip:uas@127.0.0.1>',
        'Call-ID: soak-register',
        'CSeq: 1 REGISTER',
        `Contact: <sip:uas@127.0.0.2:${uasPort}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      port,
      '127.0.0.1',
    );
  });
  reg.close();

  const stats = (): string => {
    gc?.();
    const s = (proxy.stack as unknown as { stats?: () => Record<string, unknown> }).stats?.() ?? {};
    const heap = process.memoryUsage();
    return `contexts ${proxy.contextCount}, stack ${JSON.stringify(s)}, heapUsed ${(heap.heapUsed / 1048576).toFixed(1)} MiB, rss ${(heap.rss / 1048576).toFixed(0)} MiB`;
  };
  console.log(`t=0 ${stats()}`);
  const calls = rate * seconds;
  const uas = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.2', '-p', String(uasPort), '-m', String(calls), '-nostdin'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const uac = spawn(
    'sipp',
    [
      ...['-sn', 'uac', `127.0.0.1:${port}`, '-s', 'uas', '-i', '127.0.0.1', '-r', String(rate), '-m', String(calls), '-nostdin'],
      ...['-timeout', `${seconds + 30}s`, '-trace_err', '-error_file', process.env['SOAK_ERRORS'] ?? '/dev/null'],
    ],
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
  await proxy.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

// Observability cost on the hot path: `pnpm bench:observe`.
//   pnpm bench:observe                 (5 rounds of 8000 OPTIONS transactions per configuration)
//   pnpm bench:observe --rounds 9 --transactions 20000
// Two parts:
//  1. end to end: a client stack sends OPTIONS to a server stack over UDP on 127.0.0.1 (64 in
//     flight), the server answers 200 through its reply handle. Only the server is observed.
//     Configurations, interleaved round by round: everything off; metrics (SipMetrics on the
//     stack, scraped every 100 ms, far more often than Prometheus would); HEP (capture of every
//     message to a UDP sink on 127.0.0.1); logs at info (pino to /dev/null: the per-message
//     lines are below the level); everything on. Reported: process CPU time per transaction
//     (both stacks: the client's share is the same in every configuration), median of rounds,
//     and the difference against "off".
//  2. micro: the per-message pieces alone in tight loops (counters, capture fan-out with HEP
//     encoding and the Call-ID scan, a below-level log line).
// Not a test: timings vary by machine, and the machine is shared. Only dynamic imports below:
// this file runs under tsx whatever the module kind of tools/.

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const ROUNDS = arg('--rounds', 5);
  const TRANSACTIONS = arg('--transactions', 8000);
  const IN_FLIGHT = 64;

  const { create, makeResponse } = await import('@sipts/core');
  const { SipMetrics } = await import('@sipts/metrics');
  const { captureHep, HepCapture, callIdOf, encodeHep } = await import('@sipts/hep');
  const { logStack } = await import('@sipts/observability');
  const pinoModule = await import('pino');
  const pino = (pinoModule as unknown as { default: typeof import('pino').default }).default ?? pinoModule;
  const dgram = await import('node:dgram');
  const fs = await import('node:fs');

  type Stack = ReturnType<typeof create>;
  const sink = dgram.createSocket('udp4');
  let sunk = 0;
  sink.on('message', () => sunk++);
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
  const sinkPort = sink.address().port;
  const devNull = fs.openSync('/dev/null', 'w');

  type Config = 'off' | 'metrics' | 'hep' | 'logs-info' | 'all';
  const configs: Config[] = ['off', 'metrics', 'hep', 'logs-info', 'all'];

  async function round(config: Config): Promise<number> {
    const server: Stack = create({ address: '127.0.0.1', port: 0, tcp: false, rateLimit: false, overload: false }, (rq, _remote, reply) => {
      if (rq.method !== 'ACK') reply.reply(makeResponse(rq, 200));
    });
    const client: Stack = create({ address: '127.0.0.1', port: 0, tcp: false, rateLimit: false, overload: false });
    await Promise.all([server.ready(), client.ready()]);
    const cleanup: (() => unknown)[] = [];
    if (config === 'metrics' || config === 'all') {
      const metrics = new SipMetrics().addStack(server);
      const timer = setInterval(() => void metrics.metrics(), 100);
      cleanup.push(() => clearInterval(timer), () => metrics.close());
    }
    if (config === 'hep' || config === 'all') {
      const capture = captureHep(server, { target: `127.0.0.1:${sinkPort}`, maxQueue: 100000 });
      cleanup.push(() => capture.close());
    }
    if (config === 'logs-info' || config === 'all') {
      cleanup.push(logStack(server, pino({ level: 'info' }, pino.destination({ dest: devNull, sync: false }))));
    }
    const port = server.addresses()[0]!.port;
    const uri = `sip:bench@127.0.0.1:${port}`;
    let sent = 0;
    let done = 0;
    const start = process.cpuUsage();
    await new Promise<void>((resolve) => {
      const next = (): void => {
        if (sent >= TRANSACTIONS) return;
        const n = sent++;
        client.send(
          {
            method: 'OPTIONS',
            uri,
            headers: {
              to: { uri, params: {} },
              from: { uri: 'sip:bench@127.0.0.1', params: { tag: 'b' } },
              'call-id': `bench-${config}-${n}`,
              cseq: { seq: 1, method: 'OPTIONS' },
            },
          },
          (rs) => {
            if (rs.status < 200) return;
            done++;
            if (done === TRANSACTIONS) resolve();
            else next();
          },
        );
      };
      for (let i = 0; i < IN_FLIGHT; i++) next();
    });
    const cpu = process.cpuUsage(start);
    for (const c of cleanup) await c();
    await Promise.all([server.close(), client.close()]);
    return (cpu.user + cpu.system) / TRANSACTIONS; // µs per transaction
  }

  console.log(`end to end: ${ROUNDS} rounds x ${TRANSACTIONS} OPTIONS transactions per configuration, ${IN_FLIGHT} in flight, UDP 127.0.0.1`);
  const results = new Map<Config, number[]>(configs.map((c) => [c, []]));
  await round('off'); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const config of r % 2 === 0 ? configs : [...configs].reverse()) results.get(config)!.push(await round(config));
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? NaN;
  };
  const off = median(results.get('off')!);
  console.log('configuration   CPU µs/transaction (median)   vs off    per message (4 messages/transaction: 2 on each stack)');
  for (const config of configs) {
    const m = median(results.get(config)!);
    const delta = m - off;
    console.log(
      `${config.padEnd(15)} ${m.toFixed(1).padStart(8)}                      ${(delta >= 0 ? '+' : '') + delta.toFixed(1).padStart(5)}    ${config === 'off' ? '' : `${(delta / 2).toFixed(2)} µs per observed message (server: 1 in + 1 out)`}`,
    );
  }
  console.log(`(HEP packets that reached the sink: ${sunk})`);

  // ---- micro
  console.log('\nmicro: per-message pieces alone (median of 5 x 200000 iterations)');
  const text = `OPTIONS sip:bench@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-abcdef0123456789\r\nMax-Forwards: 70\r\nTo: <sip:bench@127.0.0.1>\r\nFrom: <sip:bench@127.0.0.1>;tag=b\r\nCall-ID: bench-123456789@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  const bytes = new TextEncoder().encode(text);
  const remote = { protocol: 'UDP', address: '127.0.0.1', port: 5070, local: { address: '127.0.0.1', port: 5060 } };
  const time = (label: string, fn: () => void): void => {
    const per: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 200000; i++) fn();
      per.push(Number(process.hrtime.bigint() - t0) / 200000);
    }
    console.log(`${label.padEnd(58)} ${median(per).toFixed(0).padStart(6)} ns`);
  };
  let hook: ((d: 'in' | 'out', b: Uint8Array, r: typeof remote) => void) | undefined;
  time('capture hook off (the transports\' undefined check)', () => {
    if (hook !== undefined) hook('in', bytes, remote);
  });
  const nullCapture = new HepCapture({ target: '127.0.0.1:9', maxQueue: 1 });
  // Fill the queue so send() drops: this times encoding and the Call-ID scan, not the socket.
  nullCapture.sender.send(new Uint8Array(1));
  hook = nullCapture.capture;
  time('HEP: callIdOf + encodeHep + a (dropped) send', () => hook?.('in', bytes, remote));
  time('  of which callIdOf', () => callIdOf(bytes));
  time('  of which encodeHep', () =>
    encodeHep({ protocol: 'UDP', sourceAddress: '127.0.0.1', sourcePort: 5070, destinationAddress: '127.0.0.1', destinationPort: 5060, time: Date.now(), captureId: 1, correlationId: 'x', payload: bytes }),
  );
  const quiet = pino({ level: 'info' }, pino.destination({ dest: devNull, sync: false }));
  time('log line below the level (isLevelEnabled + skip)', () => {
    if (quiet.isLevelEnabled('debug')) quiet.debug({ a: 1 }, 'x');
  });
  await nullCapture.close();
  sink.close();
  fs.closeSync(devNull);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

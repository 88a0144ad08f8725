// The B2BUA that `pnpm bench:b2bua` measures: examples/b2bua.ts's startB2bua() with its default
// options (no SDP rewriting; REFER handled), listening on UDP+TCP SIP_ADDRESS:SIP_PORT. Its one
// bench-specific part is where calls go: the Request-URI user `p<port>` names the port of the
// callee on BENCH_UAS_HOST (127.0.0.2), so each bench step calls a fresh SIPp uas without
// restarting the B2BUA (late retransmissions of the previous step never reach the new callee).
//
//   SIP_PORT=5070 node --import tsx tools/bench/b2bua-server.ts     (TSX_TSCONFIG_PATH=tsconfig.tests.json)
// Only dynamic imports: this file runs under tsx whatever the module kind of tools/.

async function main(): Promise<void> {
  const path = await import('node:path');
  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const { startB2bua } = (await import(path.join(root, 'examples', 'b2bua.ts'))) as typeof import('../../examples/b2bua.js');
  const uasHost = process.env['BENCH_UAS_HOST'] ?? '127.0.0.2';
  const { stack } = startB2bua({
    address: process.env['SIP_ADDRESS'] ?? '127.0.0.1',
    port: Number(process.env['SIP_PORT'] ?? 5070),
    target: (rq) => {
      const uri = typeof rq.uri === 'string' ? rq.uri : `sip:${rq.uri.user ?? ''}@x`;
      const m = /^sips?:p(\d{1,5})@/.exec(uri);
      return m === null ? undefined : `sip:service@${uasHost}:${m[1]}`;
    },
  });
  await stack.ready();
  const stop = (): void => {
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

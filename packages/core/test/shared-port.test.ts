// RFC 3261 §18.2.1: a server listening for UDP on a port listens for TCP on the same port. With
// port 0 the kernel picks the UDP port, and that port may be taken for TCP by another process.
// The stack must pick again, not split the two. To make the collision certain, the child runs in a
// network namespace of its own (unshare -n, root on Linux) whose ephemeral range is 4 ports, three
// of them held for TCP: whichever UDP port comes first, only the fourth serves both. Without
// unshare -n the test skips, saying so.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const FIRST = 40000;

const probe = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && echo "${FIRST} ${FIRST + 3}" > /proc/sys/net/ipv4/ip_local_port_range`], { encoding: 'utf8' });
const namespaces = probe.status === 0;
if (!namespaces) console.log(`shared-port test skipped: no network namespace here (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]})`);

jest.setTimeout(60_000);

(namespaces ? test : test.skip)('port 0 with UDP and TCP: a UDP port whose TCP twin is taken is not kept; both end on the one free port', () => {
  const r = spawnSync(
    'unshare',
    [
      '-n',
      'sh',
      '-c',
      `ip link set lo up && echo "${FIRST} ${FIRST + 3}" > /proc/sys/net/ipv4/ip_local_port_range && exec "$@"`,
      'sh',
      process.execPath,
      '--import',
      'tsx',
      join(__dirname, 'shared-port-child.ts'),
      String(FIRST),
    ],
    { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json') }, encoding: 'utf8', timeout: 50_000 },
  );
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  const { ports } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { ports: Array<{ udp: number; tcp: number }> };
  // Four stacks in turn: with a 1-in-4 chance each of the kernel offering the free port first,
  // a stack that kept its first UDP port would be caught (all four lucky: 1 in 256).
  expect(ports).toHaveLength(4);
  for (const p of ports) expect(p).toEqual({ udp: FIRST + 3, tcp: FIRST + 3 });
});

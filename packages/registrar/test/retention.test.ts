// A stored binding must not pin the REGISTER it came from (DESIGN.md: copy the small strings
// out). In a child process with --expose-gc: 400 REGISTERs of ~40 KB each are registered and
// dropped; after a full GC the heap holds the bindings, not the messages (16 MB if it did), and no
// request object is alive. The control run keeps only each parsed Call-ID (a slice of the message
// text) and shows what retaining the text costs, so the check can fail.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function run(mode: string): { growth: number; aliveRequests: number; bindings: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'retention-child.ts'), mode], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { growth: number; aliveRequests: number; bindings: number };
}

jest.setTimeout(90_000);

test('stored bindings hold flat copies: 400 REGISTERs of 40 KB leave well under 16 MB and no request alive', () => {
  const stored = run('registrar');
  const control = run('control');
  expect(stored.bindings).toBe(400);
  expect(stored.aliveRequests).toBe(0);
  // Retaining the message text costs > 12 MB (the control); the bindings themselves stay under 4 MB.
  expect(control.growth).toBeGreaterThan(12 * 1024 * 1024);
  expect(stored.growth).toBeLessThan(4 * 1024 * 1024);
});

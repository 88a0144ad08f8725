// A reply handle keeps the To tag of the responses it sent (RFC 3261 §8.2.6.2: the same tag on
// every response), and a proxy keeps the handle 32 s with its context. The tag must be a copy
// (DESIGN.md: copy the small strings out), or each kept handle pins the whole response text.
// In a child process with --expose-gc (retention-child.ts); the control keeps the parser's own
// substrings and shows what pinning costs, so the check can fail.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function run(mode: string): { growth: number; tags: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'retention-child.ts'), mode], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { growth: number; tags: number };
}

jest.setTimeout(90_000);

test('the To tag a reply handle keeps is a copy: 2000 responses of 20 KB leave well under 40 MB', () => {
  const kept = run('handle');
  const control = run('control');
  expect(kept.tags).toBe(2000);
  expect(control.tags).toBe(2000);
  // Pinning the texts costs > 30 MB (the control); the copied tags themselves stay under 2 MB.
  expect(control.growth).toBeGreaterThan(30 * 1024 * 1024);
  expect(kept.growth).toBeLessThan(2 * 1024 * 1024);
});

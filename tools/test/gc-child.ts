// For retention tests: runs a test's child script in its own Node process with --expose-gc
// (through tsx, with the tests' tsconfig so `@sipts/*` resolve to the sources) and returns the
// JSON object its last stdout line prints. Throws with the child's stderr when it fails.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export function runGcChild<T>(script: string, mode: string): T {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, mode], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as T;
}

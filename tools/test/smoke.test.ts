// Smoke test of the built packages: every package's `dist` entry loads both through `import()`
// and through `require()` (Node >= 20.19 loads ESM from require), with the same export names,
// and every path its package.json `exports` map names exists. `pnpm test` builds first.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const packagesDir = join(root, 'packages');
const packageNames = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, 'package.json')));

interface PackageJson {
  name: string;
  type?: string;
  exports: Record<string, { types: string; default: string } | string | null>;
}

function loadBoth(entry: string): { esm: string[]; cjs: string[] } {
  const script = `
    const entry = ${JSON.stringify(entry)};
    import(entry).then((esm) => {
      const cjs = require(entry);
      process.stdout.write(JSON.stringify({ esm: Object.keys(esm).sort(), cjs: Object.keys(cjs).sort() }));
    }).catch((e) => { console.error(e); process.exit(1); });`;
  const out = execFileSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(out) as { esm: string[]; cjs: string[] };
}

describe('built packages', () => {
  it('finds all ten packages of DESIGN.md', () => {
    expect(packageNames.sort()).toEqual(
      ['core', 'digest', 'message', 'proxy', 'sdp', 'transaction', 'transport-tcp', 'transport-tls', 'transport-udp', 'transport-ws'],
    );
  });

  describe.each(packageNames)('@sipts/%s', (name) => {
    const dir = join(packagesDir, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

    it('is an ESM package whose exports map points at built files', () => {
      expect(pkg.name).toBe(`@sipts/${name}`);
      expect(pkg.type).toBe('module');
      const main = pkg.exports['.'];
      expect(main).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
      expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
    });

    it('loads through import() and require() with the same exports', () => {
      const { esm, cjs } = loadBoth(join(dir, 'dist', 'index.js'));
      expect(cjs.filter((k) => k !== '__esModule' && k !== 'module.exports')).toEqual(esm);
    });
  });
});

// Smoke test of the built packages (`pnpm test` builds first): every package built by the root
// tsconfig.json is CommonJS with a generated ES module entry (tools/build/build.mjs); require()
// and import reach ONE instance (same function objects), with the same export names, and load
// without any warning (no require(esm), so no ExperimentalWarning on Node 22.12+). Importing
// @sipts/core does not load `ws` (only a WebSocket listen/connect does).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = join(__dirname, '..', '..');
const packagesDir = join(root, 'packages');
const referenced = new Set(
  (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] }).references.map(
    (ref) => resolve(root, ref.path),
  ),
);
const packageNames = readdirSync(packagesDir).filter((name) => referenced.has(join(packagesDir, name)));

interface PackageJson {
  name: string;
  type?: string;
  main?: string;
  types?: string;
  exports: Record<string, unknown>;
}

interface LoadReport {
  esm: string[];
  cjs: string[];
  same: boolean;
  stderr: string;
}

function loadBoth(dir: string): LoadReport {
  // Load both entries in one process: the ES module entry must hand out the CommonJS objects.
  const script = `
    const { createRequire } = require('node:module');
    const dir = ${JSON.stringify(dir)};
    const cjs = require(dir + '/dist/index.js');
    import(require('node:url').pathToFileURL(dir + '/dist/index.mjs').href).then((esm) => {
      const names = Object.keys(esm);
      const same = names.every((name) => esm[name] === cjs[name]);
      process.stdout.write(JSON.stringify({
        esm: names.sort(),
        cjs: Object.keys(cjs).filter((k) => k !== '__esModule').sort(),
        same,
      }));
    }).catch((e) => { console.error(e); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`loading ${dir} failed: ${result.stderr}`);
  return { ...(JSON.parse(result.stdout) as Omit<LoadReport, 'stderr'>), stderr: result.stderr };
}

describe('built packages', () => {
  it('builds every package folder that has a package.json and sources', () => {
    const folders = readdirSync(packagesDir).filter(
      (name) => existsSync(join(packagesDir, name, 'package.json')) && existsSync(join(packagesDir, name, 'src', 'index.ts')),
    );
    expect(packageNames.length).toBeGreaterThanOrEqual(10);
    for (const name of ['core', 'digest', 'message', 'proxy', 'sdp', 'transaction', 'transport-tcp', 'transport-tls', 'transport-udp', 'transport-ws']) {
      expect(folders).toContain(name);
      expect(packageNames).toContain(name);
    }
  });

  describe.each(packageNames)('@sipts/%s', (name) => {
    const dir = join(packagesDir, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

    it('is CommonJS with an ES module entry, and its exports map points at built files', () => {
      expect(pkg.name).toBe(`@sipts/${name}`);
      expect(pkg.type).toBe('commonjs');
      expect(pkg.main).toBe('./dist/index.js');
      expect(pkg.types).toBe('./dist/index.d.ts');
      expect(pkg.exports['.']).toEqual({
        import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
        require: { types: './dist/index.d.ts', default: './dist/index.js' },
      });
      for (const file of ['index.js', 'index.d.ts', 'index.mjs', 'index.d.mts']) {
        expect(existsSync(join(dir, 'dist', file))).toBe(true);
      }
    });

    it('loads through require() and import as one instance, without warnings', () => {
      const report = loadBoth(dir);
      expect(report.esm.length).toBeGreaterThan(0);
      expect(report.esm).toEqual(report.cjs);
      expect(report.same).toBe(true);
      expect(report.stderr).toBe('');
    });
  });
});

describe('@sipts/core at import', () => {
  // `ws` costs 20-36 ms of start-up; only a WebSocket listen() or connect loads it.
  const probe = `
    const loadedWs = () => Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]ws[\\\\/]/.test(file));
    const mode = process.argv[1];
    const done = (core) => { process.stdout.write(JSON.stringify({ ws: loadedWs(), start: typeof core.start })); };
    if (mode === 'require') done(require('@sipts/core'));
    else import('@sipts/core').then(done, (e) => { console.error(e); process.exit(1); });`;

  it.each(['require', 'import'])('does not load ws through %s()', (mode) => {
    const out = execFileSync(process.execPath, ['-e', probe, mode], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out)).toEqual({ ws: false, start: 'function' });
  });

  it('does load ws once a WebSocket transport listens (the probe sees ws when it is there)', () => {
    const script = `
      const core = require('@sipts/core');
      const stack = core.create({ address: '127.0.0.1', port: 0, udp: false, tcp: false, ws_port: 0 }, () => {});
      const check = () => Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]ws[\\\\/]/.test(file));
      stack.ready()
        .then(() => { process.stdout.write(String(check())); stack.destroy(); })
        .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(out).toBe('true');
  });
});

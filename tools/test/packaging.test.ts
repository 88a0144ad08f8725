// The packaging rules themselves: tools/check/packages.mjs passes on the repository's packages
// (bar README problems, which tools/test/readme-samples.test.ts and the check in .ci/run cover)
// and fails on a package that breaks the layout; tools/build/prepack.mjs refuses to pack an
// unbuilt package.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const checkScript = join(root, 'tools', 'check', 'packages.mjs');
const prepackScript = join(root, 'tools', 'build', 'prepack.mjs');

function runNode(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** A scratch repository: root LICENSE and tsconfig.json, one package `demo` laid out as required. */
function scratchRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-layout-'));
  cpSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ files: [], references: [{ path: 'packages/demo' }] }));
  const pkgDir = join(dir, 'packages', 'demo');
  mkdirSync(join(pkgDir, 'src'), { recursive: true });
  cpSync(join(root, 'LICENSE'), join(pkgDir, 'LICENSE'));
  writeFileSync(join(pkgDir, 'CHANGELOG.md'), '# @sipts/demo\n');
  writeFileSync(join(pkgDir, 'src', 'index.ts'), 'export const demo = 1;\n');
  writeFileSync(join(pkgDir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, references: [] }));
  writeFileSync(
    join(pkgDir, 'README.md'),
    [
      '# @sipts/demo',
      '',
      '```sh',
      'npm install @sipts/demo',
      '```',
      '',
      '## Supported Node.js versions and module systems',
      '',
      '| Node | 20.x, 22.x (22.0-22.11 too), 24.x |',
      '| module systems | require, import, Jest default mode, TypeScript node16, nodenext, bundler |',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'tools', 'pack'), { recursive: true });
  cpSync(join(root, 'tools', 'pack', 'node-versions.json'), join(dir, 'tools', 'pack', 'node-versions.json'));
  const pkg = JSON.parse(readFileSync(join(root, 'packages', 'digest', 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(pkgDir, 'package.json'),
    JSON.stringify({ ...pkg, name: '@sipts/demo', dependencies: {}, repository: { type: 'git', url: 'x', directory: 'packages/demo' } }, null, 2),
  );
  return dir;
}

function editPackage(dir: string, edit: (pkg: Record<string, unknown>) => void): void {
  const file = join(dir, 'packages', 'demo', 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(pkg);
  writeFileSync(file, JSON.stringify(pkg, null, 2));
}

describe('tools/check/packages.mjs', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    const dir = scratchRepo();
    made.push(dir);
    return dir;
  };

  test('the repository packages follow the layout in package.json, LICENSE and tsconfig', () => {
    const { output } = runNode([checkScript, root], root);
    const problems = output.split('\n').filter((l) => l.startsWith('  - ') && !l.includes('README.md'));
    expect(problems).toEqual([]);
  });

  test('a package laid out as required passes', () => {
    const { status, output } = runNode([checkScript, scratch()], root);
    expect(output).toContain('every package follows the layout');
    expect(status).toBe(0);
  });

  test.each<[string, (pkg: Record<string, unknown>) => void, string]>([
    ['ESM-only', (p) => { p['type'] = 'module'; }, '"type" must be "commonjs"'],
    ['old exports map', (p) => { p['exports'] = { '.': { types: './dist/index.d.ts', default: './dist/index.js' } }; }, '"exports" must be'],
    ['no LICENSE in files', (p) => { p['files'] = ['dist', 'README.md']; }, '"files" must be'],
    ['no prepack', (p) => { p['scripts'] = {}; }, 'scripts.prepack'],
    ['no publishConfig', (p) => { delete p['publishConfig']; }, 'publishConfig.access'],
    ['engines not what CI tests', (p) => { p['engines'] = { node: '>=20.19.0' }; }, 'engines.node'],
    ['@types in dependencies', (p) => { p['dependencies'] = { '@types/ws': '^8' }; }, '@types/ws is a runtime dependency'],
    ['core as a dependency', (p) => { p['dependencies'] = { '@sipts/core': 'workspace:^' }; }, '@sipts/core must be a peer dependency'],
  ])('fails for %s', (_name, edit, message) => {
    const dir = scratch();
    editPackage(dir, edit);
    const { status, output } = runNode([checkScript, dir], root);
    expect(status).toBe(1);
    expect(output).toContain(message);
  });

  test('fails for a missing LICENSE, an unreferenced package and an install line without an imported package', () => {
    const dir = scratch();
    rmSync(join(dir, 'packages', 'demo', 'LICENSE'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ files: [], references: [] }));
    const readme = join(dir, 'packages', 'demo', 'README.md');
    writeFileSync(readme, readFileSync(readme, 'utf8') + "\n```ts\nimport { parse } from '@sipts/message';\n```\n");
    const { status, output } = runNode([checkScript, dir], root);
    expect(status).toBe(1);
    expect(output).toContain('LICENSE is missing');
    expect(output).toContain('not referenced by the root tsconfig.json');
    expect(output).toContain('does not name @sipts/message');
  });

  test('fails for a README without the support table naming the Node lines CI runs', () => {
    const dir = scratch();
    const readme = join(dir, 'packages', 'demo', 'README.md');
    writeFileSync(readme, readFileSync(readme, 'utf8').replace('24.x', ''));
    const { status, output } = runNode([checkScript, dir], root);
    expect(status).toBe(1);
    expect(output).toContain('does not name Node 24.x');
  });
});

describe('tools/build/prepack.mjs', () => {
  test('refuses to pack a package with no dist/', () => {
    const dir = scratchRepo();
    try {
      const { status, output } = runNode([prepackScript], join(dir, 'packages', 'demo'));
      expect(status).toBe(1);
      expect(output).toContain('refusing to pack an unbuilt package');
      expect(output).toContain('dist/ is missing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a build without the ES module entry, accepts a complete one', () => {
    const dir = scratchRepo();
    try {
      const pkgDir = join(dir, 'packages', 'demo');
      mkdirSync(join(pkgDir, 'dist'));
      writeFileSync(join(pkgDir, 'dist', 'index.js'), '"use strict";\nexports.demo = 1;\n');
      writeFileSync(join(pkgDir, 'dist', 'index.d.ts'), 'export declare const demo = 1;\n');
      let result = runNode([prepackScript], pkgDir);
      expect(result.status).toBe(1);
      expect(result.output).toContain('dist/index.mjs or dist/index.d.mts is missing');
      const build = spawnSync(process.execPath, ['--input-type=module', '-e', `
        import { wrapperSource, declarationWrapperSource } from ${JSON.stringify(join(root, 'tools', 'build', 'esm-wrapper.mjs'))};
        import { writeFileSync } from 'node:fs';
        writeFileSync(${JSON.stringify(join(pkgDir, 'dist', 'index.mjs'))}, wrapperSource('@sipts/demo', ['demo']));
        writeFileSync(${JSON.stringify(join(pkgDir, 'dist', 'index.d.mts'))}, declarationWrapperSource);
      `], { encoding: 'utf8' });
      expect(build.status).toBe(0);
      result = runNode([prepackScript], pkgDir);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

#!/usr/bin/env node
// The tarball test: what a new user gets from npm. Packs every built package with `pnpm pack`
// (the tarballs a publish would upload), checks what is inside them, installs them with npm into
// scratch projects outside the workspace, and runs there, on the machine's Node and on each
// version of node-versions.json (the npm package `node`, pinned, cached in the work folder):
//   - program.cjs   a CommonJS program (require(), and import() of the same package)
//   - program.mjs   an ES module program (static named imports, import())
//   - jest          a Jest test with no configuration at all (Jest's default CommonJS mode)
//   - TypeScript    `module: node16` (CommonJS output, run), `nodenext` (ESM output, run),
//                   `bundler` and `node10` (type-check), with skipLibCheck off, no @types/ws
// and checks the install itself: one copy of @sipts/core, no @types/ws, and that @sipts/core
// alone pulls in no type packages.
//
// Usage: node tools/pack/pack-test.mjs [--work DIR] [--node-versions a,b] [--json FILE]
// Needs a build first (`pnpm build`): packing an unbuilt package fails (prepack).
// Prints one line per check and `N passed, N failed`; exits 1 when anything failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const rootRequire = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const work = resolve(option('--work') ?? join(root, '.ci-out', 'pack'));
const jsonOut = option('--json');
const versions = (option('--node-versions') ?? JSON.parse(readFileSync(join(here, 'node-versions.json'), 'utf8')).versions.join(','))
  .split(',')
  .filter(Boolean);

let passed = 0;
let failed = 0;
const failures = [];
function check(name, fn) {
  const started = Date.now();
  try {
    const note = fn();
    passed++;
    console.log(`  ok   ${name}${note ? ` (${note})` : ''} [${Date.now() - started} ms]`);
  } catch (error) {
    failed++;
    const text = error instanceof Error ? error.message : String(error);
    failures.push(`${name}: ${text}`);
    console.log(`  FAIL ${name}\n${text.split('\n').map((l) => `       ${l}`).join('\n')}`);
  }
}

/** Runs a command; returns stdout. Throws with stdout+stderr on a non-zero exit or a timeout. */
function run(file, argv, options = {}) {
  const result = spawnSync(file, argv, {
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${file} ${argv.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${file} ${argv.join(' ')} exited ${result.status}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  }
  if (options.quiet && result.stderr.trim() !== '') throw new Error(`unexpected stderr:\n${result.stderr.slice(-3000)}`);
  return result.stdout;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npmQuiet = ['--no-audit', '--no-fund', '--loglevel=error', '--no-update-notifier'];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// ---- 1. pack -------------------------------------------------------------------------------
const referenced = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).references.map((r) => resolve(root, r.path));
const packages = referenced
  .filter((dir) => dir.startsWith(join(root, 'packages') + sep) && existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, folder: relative(join(root, 'packages'), dir), pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => pkg.private !== true);

rmSync(join(work, 'tarballs'), { recursive: true, force: true });
rmSync(join(work, 'unpacked'), { recursive: true, force: true });
rmSync(join(work, 'project'), { recursive: true, force: true });
rmSync(join(work, 'core-only'), { recursive: true, force: true });
mkdirSync(join(work, 'tarballs'), { recursive: true });

console.log(`pack: ${packages.length} packages into ${relative(root, work) || work}`);
const tarballs = new Map(); // folder -> absolute tarball path
for (const { dir, folder, pkg } of packages) {
  check(`pack ${pkg.name}`, () => {
    const before = new Set(readdirSync(join(work, 'tarballs')));
    run('pnpm', ['pack', '--pack-destination', join(work, 'tarballs')], { cwd: dir });
    const made = readdirSync(join(work, 'tarballs')).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (made.length !== 1) throw new Error(`expected one tarball, found ${made.join(', ') || 'none'}`);
    tarballs.set(folder, join(work, 'tarballs', made[0]));
    return made[0];
  });
}

// ---- 2. what is inside ---------------------------------------------------------------------
for (const { folder, pkg } of packages) {
  const tarball = tarballs.get(folder);
  if (!tarball) continue;
  check(`contents of ${pkg.name}`, () => {
    const out = join(work, 'unpacked', folder);
    mkdirSync(out, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', out]);
    const base = join(out, 'package');
    const files = new Set(walk(base).map((f) => relative(base, f).split(sep).join('/')));
    for (const need of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts']) {
      if (!files.has(need)) throw new Error(`${need} is not in the tarball`);
    }
    const stray = [...files].filter((f) => f.endsWith('.tsbuildinfo') || f.startsWith('test/') || f.includes('node_modules/'));
    if (stray.length) throw new Error(`should not ship: ${stray.join(', ')}`);
    // Every source map and declaration map must point at files that are in the tarball.
    let maps = 0;
    for (const file of files) {
      if (!file.endsWith('.map')) continue;
      maps++;
      const map = JSON.parse(readFileSync(join(base, file), 'utf8'));
      for (const source of map.sources) {
        const target = relative(base, resolve(dirname(join(base, file)), map.sourceRoot ?? '', source)).split(sep).join('/');
        if (!files.has(target)) throw new Error(`${file} points at ${target}, which is not in the tarball`);
      }
    }
    const packed = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
    const text = JSON.stringify(packed);
    if (text.includes('workspace:')) throw new Error('package.json still has workspace: ranges');
    if (packed.dependencies?.['@types/ws']) throw new Error('@types/ws is a runtime dependency');
    if (packed.dependencies?.['@sipts/core']) throw new Error('@sipts/core must be a peer dependency');
    return `${files.size} files, ${maps} maps`;
  });
}

// ---- 3. Node versions ----------------------------------------------------------------------
const nodes = [{ version: process.version.slice(1), bin: process.execPath }];
for (const version of versions) {
  const prefix = join(work, 'node', version);
  const bin = join(prefix, 'node_modules', 'node', 'bin', 'node');
  check(`node ${version} from the npm package node@${version}`, () => {
    if (!existsSync(bin)) {
      mkdirSync(prefix, { recursive: true });
      writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n');
      run(npm, ['install', ...npmQuiet, '--no-save', `node@${version}`], { cwd: prefix, timeout: 300_000 });
    }
    const got = run(bin, ['--version']).trim();
    if (got !== `v${version}`) throw new Error(`${bin} says ${got}`);
    nodes.push({ version, bin });
    return 'cached in ' + relative(root, prefix);
  });
}

// ---- 4. the scratch project ----------------------------------------------------------------
const project = join(work, 'project');
const folders = [...tarballs.keys()];
const fileSpec = (folder) => `file:${relative(project, tarballs.get(folder)).split(sep).join('/')}`;
const devVersion = (name) => JSON.parse(readFileSync(rootRequire.resolve(`${name}/package.json`), 'utf8')).version;
let installed = false;
check('npm install of the tarballs into an empty project', () => {
  mkdirSync(project, { recursive: true });
  const sipts = Object.fromEntries(folders.map((f) => [tarballs.get(f) && packages.find((p) => p.folder === f).pkg.name, fileSpec(f)]));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'sipts-scratch',
        version: '1.0.0',
        private: true,
        dependencies: sipts,
        devDependencies: {
          jest: devVersion('jest'),
          typescript: devVersion('typescript'),
          '@types/node': '20.19.0',
        },
        // The tarballs depend on each other by version range; point those ranges at the
        // tarballs too, so nothing is taken from the registry under our names.
        overrides: sipts,
      },
      null,
      2,
    ),
  );
  cpSync(join(here, 'fixtures'), project, { recursive: true });
  writeFileSync(join(project, 'packages.json'), JSON.stringify(folders) + '\n');
  run(npm, ['install', ...npmQuiet], { cwd: project, timeout: 600_000 });
  installed = true;
});

if (installed) {
  check('one copy of @sipts/core, no @types/ws, one @types/node', () => {
    const all = walk(join(project, 'node_modules')).filter((f) => f.endsWith(`${sep}package.json`));
    const copies = (name) => all.filter((f) => f.endsWith(`${sep}node_modules${sep}${name.split('/').join(sep)}${sep}package.json`));
    if (copies('@sipts/core').length !== 1) throw new Error(`@sipts/core installed ${copies('@sipts/core').length} times`);
    if (copies('@types/ws').length !== 0) throw new Error('@types/ws was installed');
    if (copies('@types/node').length !== 1) throw new Error(`@types/node installed ${copies('@types/node').length} times`);
    return 'ok';
  });

  for (const node of nodes) {
    check(`node ${node.version}: CommonJS program`, () => run(node.bin, ['program.cjs'], { cwd: project, quiet: true, timeout: 60_000 }).trim());
    check(`node ${node.version}: ES module program`, () => run(node.bin, ['program.mjs'], { cwd: project, quiet: true, timeout: 60_000 }).trim());
    check(`node ${node.version}: Jest, default config`, () => {
      const result = spawnSync(node.bin, [join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'], {
        cwd: project, encoding: 'utf8', timeout: 180_000, env: { ...process.env, CI: 'true' },
      });
      if (result.status !== 0) throw new Error(`jest exited ${result.status}\n${result.stderr.slice(-4000)}`);
      const line = result.stderr.split('\n').find((l) => l.startsWith('Tests:'));
      return line?.trim();
    });
  }

  // TypeScript consumers, one folder each, with skipLibCheck off so our .d.ts are checked.
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  const imports = folders.map((f, i) => `import * as m${i} from '@sipts/${f}';`).join('\n');
  const table = `{ ${folders.map((f, i) => `'${f}': m${i}`).join(', ')} }`;
  const program = `${imports}
import { create, type StackOptions } from '@sipts/core';
import { parse, type SipMessage, type SipRequest } from '@sipts/message';

const options: StackOptions = { address: '127.0.0.1', port: 0 };
const message: SipMessage = parse('OPTIONS sip:a@127.0.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\\r\\nCall-ID: x\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n');
const request: SipRequest | undefined = 'method' in message ? message : undefined;
const loaded: Record<string, object> = ${table};
for (const [name, mod] of Object.entries(loaded)) if (Object.keys(mod).length === 0) throw new Error(name + ' is empty');
if (typeof create !== 'function' || request?.method !== 'OPTIONS' || options.port !== 0) throw new Error('wrong');
console.log('ts ok');
`;
  const tsProjects = [
    { dir: 'ts-node16', type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16', outDir: 'out' }, runs: true },
    { dir: 'ts-nodenext', type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out' }, runs: true },
    { dir: 'ts-bundler', type: 'module', compilerOptions: { module: 'preserve', moduleResolution: 'bundler', noEmit: true } },
    { dir: 'ts-node10', type: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', outDir: 'out', ignoreDeprecations: '6.0' } },
  ];
  for (const ts of tsProjects) {
    check(`TypeScript ${ts.compilerOptions.module}/${ts.compilerOptions.moduleResolution} (${ts.type})`, () => {
      const dir = join(project, ts.dir);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: ts.type }) + '\n');
      const compilerOptions = { target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], ...ts.compilerOptions };
      if (compilerOptions.ignoreDeprecations && devVersion('typescript').startsWith('5.')) delete compilerOptions.ignoreDeprecations;
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts'] }, null, 2));
      writeFileSync(join(dir, 'index.ts'), program);
      run(process.execPath, [tsc, '-p', dir], { cwd: dir });
      if (!ts.runs) return 'type-checks';
      for (const node of nodes) {
        const out = run(node.bin, [join(dir, 'out', 'index.js')], { cwd: dir, quiet: true, timeout: 60_000 }).trim();
        if (out !== 'ts ok') throw new Error(`node ${node.version}: ${out}`);
      }
      return `type-checks, runs on ${nodes.length} Node versions`;
    });
  }
}

// ---- 5. @sipts/core alone ------------------------------------------------------------------
check('@sipts/core alone installs no type packages', () => {
  const dir = join(work, 'core-only');
  mkdirSync(dir, { recursive: true });
  const spec = (folder) => `file:${relative(dir, tarballs.get(folder)).split(sep).join('/')}`;
  const sipts = Object.fromEntries(folders.map((f) => [packages.find((p) => p.folder === f).pkg.name, spec(f)]));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'core-only', version: '1.0.0', private: true, dependencies: { '@sipts/core': sipts['@sipts/core'] }, overrides: sipts }, null, 2));
  run(npm, ['install', ...npmQuiet, '--omit=peer'], { cwd: dir, timeout: 300_000 });
  const modules = readdirSync(join(dir, 'node_modules'));
  const types = existsSync(join(dir, 'node_modules', '@types')) ? readdirSync(join(dir, 'node_modules', '@types')) : [];
  if (types.length > 0 || modules.includes('undici-types')) throw new Error(`pulled in ${[...types.map((t) => `@types/${t}`), ...modules.filter((m) => m === 'undici-types')].join(', ')}`);
  const bytes = walk(join(dir, 'node_modules')).reduce((n, f) => n + statSync(f).size, 0);
  const out = run(process.execPath, ['-e', "const s=require('@sipts/core'); console.log(typeof s.start)"], { cwd: dir, quiet: true }).trim();
  if (out !== 'function') throw new Error(out);
  return `node_modules ${(bytes / 1e6).toFixed(2)} MB`;
});

console.log(`\npack test: Node ${nodes.map((n) => n.version).join(', ')}`);
if (failures.length) console.log(`failures:\n${failures.map((f) => `  - ${f.split('\n')[0]}`).join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ passed, failed, failures, nodes: nodes.map((n) => n.version) }, null, 2));
process.exit(failed > 0 ? 1 : 0);

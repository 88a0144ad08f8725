#!/usr/bin/env node
// Build every package: `tsc -b` compiles packages/*/src to CommonJS in dist/ (each package.json
// says "type": "commonjs"), then this script writes each package's ES module entry beside it:
//
//   dist/index.mjs    import cjs from './index.js'; export const { a, b, ... } = cjs;
//   dist/index.d.mts  export * from './index.js';
//
// Why CommonJS with an ES module wrapper (the layout of `ws`): require() of a CommonJS file
// works on every Node release from 20.0 on, in Jest's default CommonJS mode and in TypeScript
// projects compiled to CommonJS (no TS1479, no ERR_REQUIRE_ESM on Node 22.0-22.11, no
// ExperimentalWarning on 22.12+), and `import` reaches the very same module instance through the
// wrapper, so @sipts/core's default stack and @sipts/proxy's start() never see two copies. A
// dual build (separate ESM and CJS code) would load a second instance for whoever mixes both.
//
// The export list is read from the built CommonJS module itself, so the wrapper cannot drift
// from it; tools/check/packages.mjs checks it again.
//
// Usage: node tools/build/build.mjs [--no-tsc]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { declarationWrapperSource, exportNames, wrapperSource } from './esm-wrapper.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));

if (!process.argv.includes('--no-tsc')) {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
  } catch {
    process.exit(1);
  }
}

const packagesDir = join(root, 'packages');
// Only the packages `tsc -b` builds (the references of the root tsconfig.json); a package folder
// that is not referenced yet is reported by tools/check/packages.mjs, not here.
const built = new Set(
  JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).references.map((ref) => resolve(root, ref.path)),
);
let failed = false;
for (const dirName of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, dirName);
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile) || !built.has(dir)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const entry = join(dir, 'dist', 'index.js');
  if (!existsSync(entry)) {
    console.error(`build: ${pkg.name}: ${entry} is missing (not part of tsconfig.json references?)`);
    failed = true;
    continue;
  }
  let names;
  try {
    names = exportNames(require(entry));
  } catch (error) {
    console.error(`build: ${pkg.name}: cannot require ${entry}:`, error);
    failed = true;
    continue;
  }
  writeIfChanged(join(dir, 'dist', 'index.mjs'), wrapperSource(pkg.name, names));
  writeIfChanged(join(dir, 'dist', 'index.d.mts'), declarationWrapperSource);
}
if (failed) process.exit(1);

function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

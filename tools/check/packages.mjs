#!/usr/bin/env node
// Package layout check (run by .ci/run): every folder of packages/ must be packaged the same way,
// so a package added later cannot ship ESM-only, without its license, with a runtime @types
// dependency or with its own copy of @sipts/core. Exit 1 and print every problem found.
//
// Rules, per packages/<folder> with a package.json:
//  - name @sipts/<folder>; "type": "commonjs"; main/types/exports: the CommonJS build in dist/
//    plus the generated ES module entry (tools/build/build.mjs) under the `import` condition;
//  - files: dist (no .tsbuildinfo), src (the source maps point there), README.md, CHANGELOG.md,
//    LICENSE; LICENSE identical to the repository's; prepack refuses an unbuilt package;
//    publishConfig.access public; engines.node the range CI tests (tools/pack/node-versions.json);
//  - no @types/* in dependencies (public types must not need them); @sipts/core only as a peer
//    dependency (one default stack per application) with a workspace devDependency;
//  - @types/node declared as an optional peer when the built .d.ts use Node's types;
//  - tsconfig.json extends the base, src -> dist, referenced by the root tsconfig.json, with a
//    reference for each @sipts dependency;
//  - README.md: an install line naming every @sipts package its samples import, and the
//    support table (Node versions, module systems) naming the Node lines CI runs;
//  - when built: dist/index.mjs is the wrapper of dist/index.js's exports.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? join(here, '..', '..'));
const { declarationWrapperSource, exportNames, wrapperSource } = await import(
  new URL('../build/esm-wrapper.mjs', import.meta.url).href
);

export const ENGINES_NODE = '>=20.0.0';
const FILES = ['dist', '!dist/**/*.tsbuildinfo', 'src', 'README.md', 'CHANGELOG.md', 'LICENSE'];
const EXPORTS = {
  '.': {
    import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
    require: { types: './dist/index.d.ts', default: './dist/index.js' },
  },
  './package.json': './package.json',
};
const PREPACK = 'node ../../tools/build/prepack.mjs';

const problems = [];
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Fenced blocks of a README: [{ lang, code }]. */
export function fencedBlocks(markdown) {
  const blocks = [];
  const re = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  let m;
  while ((m = re.exec(markdown)) !== null) blocks.push({ lang: m[1], code: m[2] });
  return blocks;
}

const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');
const rootTsconfig = readJson(join(root, 'tsconfig.json'));
const referenced = new Set(rootTsconfig.references.map((r) => resolve(root, r.path)));
const nodeVersionsFile = join(root, 'tools', 'pack', 'node-versions.json');
const ciNodeLines = existsSync(nodeVersionsFile)
  ? [...new Set(readJson(nodeVersionsFile).versions.map((v) => v.split('.')[0]))].sort()
  : [];

const packagesDir = join(root, 'packages');
for (const folder of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, folder);
  if (!existsSync(join(dir, 'package.json'))) continue;
  const fail = (text) => problems.push(`packages/${folder}: ${text}`);
  let pkg;
  try {
    pkg = readJson(join(dir, 'package.json'));
  } catch (error) {
    fail(`package.json does not parse: ${error.message}`);
    continue;
  }
  if (pkg.name !== `@sipts/${folder}`) fail(`name is ${pkg.name}, expected @sipts/${folder}`);
  if (pkg.license !== 'MIT') fail('license must be MIT');
  if (pkg.type !== 'commonjs') fail(`"type" must be "commonjs" (CommonJS build + ES module wrapper), is ${JSON.stringify(pkg.type)}`);
  if (pkg.main !== './dist/index.js') fail('"main" must be ./dist/index.js');
  if (pkg.types !== './dist/index.d.ts') fail('"types" must be ./dist/index.d.ts');
  if (!same(pkg.exports, EXPORTS)) fail(`"exports" must be ${JSON.stringify(EXPORTS)}`);
  if (!same(pkg.files, FILES)) fail(`"files" must be ${JSON.stringify(FILES)}`);
  if (pkg.scripts?.prepack !== PREPACK) fail(`scripts.prepack must be "${PREPACK}"`);
  if (pkg.publishConfig?.access !== 'public') fail('publishConfig.access must be "public"');
  if (pkg.engines?.node !== ENGINES_NODE) fail(`engines.node must be "${ENGINES_NODE}" (what CI tests)`);
  if (pkg.repository?.directory !== `packages/${folder}`) fail(`repository.directory must be packages/${folder}`);
  if (pkg.private === true) fail('is private');

  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const devs = pkg.devDependencies ?? {};
  for (const name of Object.keys(deps)) {
    if (name.startsWith('@types/')) fail(`${name} is a runtime dependency: public types must not need it (devDependencies, or an optional peer)`);
    if (name.startsWith('@sipts/') && deps[name] !== 'workspace:^') fail(`${name} must be "workspace:^"`);
  }
  if ('@sipts/core' in deps) fail('@sipts/core must be a peer dependency (one default stack per application), not a dependency');
  if ('@sipts/core' in peers && devs['@sipts/core'] === undefined) fail('@sipts/core as a peer also needs a workspace devDependency');

  if (!existsSync(join(dir, 'LICENSE'))) fail('LICENSE is missing (copy the repository LICENSE)');
  else if (readFileSync(join(dir, 'LICENSE'), 'utf8') !== rootLicense) fail('LICENSE differs from the repository LICENSE');
  if (!existsSync(join(dir, 'CHANGELOG.md'))) fail('CHANGELOG.md is missing');

  // tsconfig: extends the base, src -> dist, referenced, references its @sipts dependencies.
  const tsconfigFile = join(dir, 'tsconfig.json');
  if (!existsSync(tsconfigFile)) fail('tsconfig.json is missing');
  else {
    const tsconfig = readJson(tsconfigFile);
    if (tsconfig.extends !== '../../tsconfig.base.json') fail('tsconfig.json must extend ../../tsconfig.base.json');
    if (tsconfig.compilerOptions?.rootDir !== 'src' || tsconfig.compilerOptions?.outDir !== 'dist') fail('tsconfig.json: rootDir src, outDir dist');
    if (!referenced.has(dir)) fail('not referenced by the root tsconfig.json (so `pnpm build` skips it)');
    const refs = new Set((tsconfig.references ?? []).map((r) => resolve(dir, r.path)));
    for (const name of [...Object.keys(deps), ...Object.keys(peers)]) {
      if (!name.startsWith('@sipts/')) continue;
      if (!refs.has(join(packagesDir, name.slice('@sipts/'.length)))) fail(`tsconfig.json has no reference to ${name}`);
    }
  }

  // README: install line and support table.
  const readmeFile = join(dir, 'README.md');
  if (!existsSync(readmeFile)) fail('README.md is missing');
  else {
    const readme = readFileSync(readmeFile, 'utf8');
    const blocks = fencedBlocks(readme);
    const imported = new Set();
    for (const { lang, code } of blocks) {
      if (!['ts', 'js', 'typescript', 'javascript'].includes(lang)) continue;
      for (const m of code.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](@sipts\/[a-z0-9-]+)['"]/g)) imported.add(m[1]);
    }
    const install = blocks.find(({ lang, code }) => ['sh', 'bash', 'shell'].includes(lang) && /\b(pnpm add|npm i|npm install|yarn add)\b/.test(code));
    if (install === undefined) fail('README.md has no install line (```sh npm install ...)');
    else {
      const named = new Set(install.code.match(/@sipts\/[a-z0-9-]+/g) ?? []);
      if (!named.has(pkg.name)) fail(`README.md install line does not name ${pkg.name}`);
      for (const name of imported) if (!named.has(name)) fail(`README.md install line does not name ${name}, which a sample imports`);
    }
    if (ciNodeLines.length > 0) {
      const section = readme.split(/^## /m).find((s) => /^Supported Node/i.test(s));
      if (section === undefined) fail('README.md has no "## Supported Node.js versions and module systems" section');
      else {
        for (const line of ciNodeLines) if (!section.includes(`${line}.`)) fail(`README.md support table does not name Node ${line}.x, which CI runs`);
        for (const system of ['require', 'import', 'Jest', 'node16', 'nodenext', 'bundler']) {
          if (!section.includes(system)) fail(`README.md support table does not name ${system}`);
        }
      }
    }
  }

  // Built output, when there is one.
  const dist = join(dir, 'dist');
  if (existsSync(join(dist, 'index.js'))) {
    const declarations = walk(dist).filter((f) => f.endsWith('.d.ts'));
    const nodeTypes = declarations.some((f) => /\bBuffer\b|\bNodeJS\.|from ['"]node:|import\(['"]node:|from ['"](?:events|net|tls|dgram|http|https|stream)['"]/.test(readFileSync(f, 'utf8')));
    if (nodeTypes && !(peers['@types/node'] && pkg.peerDependenciesMeta?.['@types/node']?.optional === true)) {
      fail('its .d.ts use Node types: declare "@types/node" as an optional peer dependency');
    }
    const usesWs = declarations.some((f) => /from ['"]ws['"]|import\(['"]ws['"]\)/.test(readFileSync(f, 'utf8')));
    if (usesWs) {
      // Only declarations that index.d.ts cannot reach may mention ws; the tarball test
      // compiles a consumer without @types/ws to prove it. Here: index.d.ts itself must not.
      if (/['"]ws['"]/.test(readFileSync(join(dist, 'index.d.ts'), 'utf8'))) fail('dist/index.d.ts needs the types of ws');
    }
    try {
      const names = exportNames(createRequire(join(dir, 'package.json'))(join(dist, 'index.js')));
      const mjs = join(dist, 'index.mjs');
      if (!existsSync(mjs) || readFileSync(mjs, 'utf8') !== wrapperSource(pkg.name, names)) fail('dist/index.mjs is not the wrapper of dist/index.js (run pnpm build)');
      const dmts = join(dist, 'index.d.mts');
      if (!existsSync(dmts) || readFileSync(dmts, 'utf8') !== declarationWrapperSource) fail('dist/index.d.mts is not the generated one (run pnpm build)');
    } catch (error) {
      fail(`dist/index.js does not load: ${error.message}`);
    }
  }
}

if (problems.length > 0) {
  console.error(`package layout: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log('package layout: every package follows the layout');

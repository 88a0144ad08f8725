#!/usr/bin/env node
// `prepack` of every package (npm, pnpm and yarn run it before packing, in the package folder):
// refuse to pack a package that has not been built, so no tarball ever ships without its dist/
// or with an ES module entry that disagrees with the CommonJS build. Build with `pnpm build`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { declarationWrapperSource, exportNames, wrapperSource } from './esm-wrapper.mjs';

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const problems = [];

function walk(d, out = []) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const src = join(dir, 'src');
const dist = join(dir, 'dist');
if (!existsSync(dist)) problems.push('dist/ is missing');
else {
  for (const file of existsSync(src) ? walk(src) : []) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const base = relative(src, file).replace(/\.ts$/, '');
    for (const ext of ['.js', '.d.ts']) {
      const out = join(dist, base + ext);
      if (!existsSync(out)) problems.push(`dist/${base}${ext} is missing`);
      else if (statSync(out).mtimeMs + 1000 < statSync(file).mtimeMs) problems.push(`dist/${base}${ext} is older than src/${base}.ts`);
    }
  }
  const mjs = join(dist, 'index.mjs');
  const dmts = join(dist, 'index.d.mts');
  if (!existsSync(mjs) || !existsSync(dmts)) problems.push('dist/index.mjs or dist/index.d.mts is missing (run tools/build/build.mjs)');
  else {
    try {
      const names = exportNames(createRequire(join(dir, 'package.json'))(join(dist, 'index.js')));
      if (readFileSync(mjs, 'utf8') !== wrapperSource(pkg.name, names)) problems.push('dist/index.mjs does not match the exports of dist/index.js');
      if (readFileSync(dmts, 'utf8') !== declarationWrapperSource) problems.push('dist/index.d.mts is not the generated one');
    } catch (error) {
      problems.push(`dist/index.js does not load: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
if (!existsSync(join(dir, 'LICENSE'))) problems.push('LICENSE is missing');

if (problems.length > 0) {
  console.error(`prepack ${pkg.name}: refusing to pack an unbuilt package; run \`pnpm build\` first:`);
  for (const p of problems.slice(0, 20)) console.error(`  - ${p}`);
  process.exit(1);
}

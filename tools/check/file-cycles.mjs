#!/usr/bin/env node
// No import circle between the files of a package (DESIGN.md): every relative import of
// packages/*/src, type-only ones included, forms a graph that must have no cycle. Exit 1 and
// print each cycle found. Also reports source files over the size budget (650 lines; the
// parser's scanner is the one exception).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? process.cwd());
const MAX_LINES = 650;
const EXEMPT = new Set(['packages/message/src/scan.ts']);
const importRe = /^\s*(?:import|export)\s+(?:type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(m|c)?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const graph = new Map();
const problems = [];
const pkgs = join(root, 'packages');
for (const pkg of existsSync(pkgs) ? readdirSync(pkgs) : []) {
  const src = join(pkgs, pkg, 'src');
  if (!existsSync(src)) continue;
  for (const file of walk(src, [])) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    const lines = text.split('\n').length;
    if (lines > MAX_LINES && !EXEMPT.has(rel)) problems.push(`${rel}: ${lines} lines (budget ${MAX_LINES})`);
    const deps = [];
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      const target = resolve(dirname(file), spec.replace(/\.(m|c)?js$/, '.$1ts'));
      deps.push(target);
    }
    graph.set(file, deps);
  }
}

// Tarjan-free DFS with colours: enough for a few hundred files.
const colour = new Map();
const stack = [];
const seen = new Set();
function visit(node) {
  colour.set(node, 1);
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue;
    const c = colour.get(next) ?? 0;
    if (c === 1) {
      const cycle = stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(root, f));
      const key = [...cycle].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${cycle.join(' -> ')}`);
      }
    } else if (c === 0) visit(next);
  }
  stack.pop();
  colour.set(node, 2);
}
for (const node of graph.keys()) if ((colour.get(node) ?? 0) === 0) visit(node);

if (problems.length > 0) {
  for (const p of problems) console.log(p);
  process.exit(1);
}
console.log(`file-cycles: ${graph.size} source files, no import cycle, none over ${MAX_LINES} lines`);

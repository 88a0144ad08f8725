// The table the suite ends with: attack, check, before, after, result; then every failed check
// with the defect it shows.
import type { Row } from './context.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function printTable(rows: Row[]): void {
  console.log('');
  console.log('| attack | check | before | after | result |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${cell(r.attack)} | ${cell(r.check)} | ${cell(r.before)} | ${cell(r.after)} | ${r.result} |`);
  const failed = rows.filter((r) => r.result === 'FAIL');
  if (failed.length > 0) {
    console.log('');
    console.log('Failed checks:');
    for (const r of failed) console.log(`  FAIL ${r.attack} / ${r.check}: ${r.defect ?? ''}\n       ${cell(r.after).slice(0, 600)}`);
  }
  console.log('');
}

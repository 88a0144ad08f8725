// A reply handle keeps the To tag of the responses it sent (RFC 3261 §8.2.6.2: the same tag on
// every response), and a proxy keeps the handle 32 s with its context. The tag must be a copy
// (DESIGN.md: copy the small strings out), or each kept handle pins the whole response text.
// In a child process with --expose-gc (retention-child.ts); the control keeps the parser's own
// substrings and shows what pinning costs, so the check can fail.
import { join } from 'node:path';
import { runGcChild } from '../../../tools/test/gc-child.js';

function run(mode: string): { growth: number; tags: number } {
  return runGcChild(join(__dirname, 'retention-child.ts'), mode);
}

jest.setTimeout(90_000);

test('the To tag a reply handle keeps is a copy: 2000 responses of 20 KB leave well under 40 MB', () => {
  const kept = run('handle');
  const control = run('control');
  expect(kept.tags).toBe(2000);
  expect(control.tags).toBe(2000);
  // Pinning the texts costs > 30 MB (the control); the copied tags themselves stay under 2 MB.
  expect(control.growth).toBeGreaterThan(30 * 1024 * 1024);
  expect(kept.growth).toBeLessThan(2 * 1024 * 1024);
});

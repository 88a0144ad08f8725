// A stored binding must not pin the REGISTER it came from (DESIGN.md: copy the small strings
// out). In a child process with --expose-gc: 400 REGISTERs of ~40 KB each are registered and
// dropped; after a full GC the heap holds the bindings, not the messages (16 MB if it did), and no
// request object is alive. The control run keeps only each parsed Call-ID (a slice of the message
// text) and shows what retaining the text costs, so the check can fail.
import { join } from 'node:path';
import { runGcChild } from '../../../tools/test/gc-child.js';

function run(mode: string): { growth: number; aliveRequests: number; bindings: number } {
  return runGcChild(join(__dirname, 'retention-child.ts'), mode);
}

jest.setTimeout(90_000);

test('stored bindings hold flat copies: 400 REGISTERs of 40 KB leave well under 16 MB and no request alive', () => {
  const stored = run('registrar');
  const control = run('control');
  expect(stored.bindings).toBe(400);
  expect(stored.aliveRequests).toBe(0);
  // Retaining the message text costs > 12 MB (the control); the bindings themselves stay under 4 MB.
  expect(control.growth).toBeGreaterThan(12 * 1024 * 1024);
  expect(stored.growth).toBeLessThan(4 * 1024 * 1024);
});

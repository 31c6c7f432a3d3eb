/**
 * Run by test/runtime/malloc-trim.test.ts in a child node (--expose-gc), so the worker's own
 * heap stays out of it: leaves glibc's heap full of free holes, the way a burst of tunnels
 * does, then trims it. 2,048 Buffers of 16 KiB (32 MB, under the mmap threshold, so malloc's
 * heap holds them), of which every 32nd lives on: the freed ones lie between live ones, where
 * free() cannot hand their pages back. Prints the private memory at each step as JSON.
 *
 *   node --expose-gc heap-fragments.ts MALLOC_TRIM_MODULE ADDON_FILE
 */
import { readFileSync } from 'node:fs';

type Load = { trim: () => boolean } | { unavailable: string };
const { loadMallocTrim } = (await import(process.argv[2] as string)) as {
  loadMallocTrim: (file: string) => Load;
};
const loaded = loadMallocTrim(process.argv[3] as string);
if ('unavailable' in loaded) throw new Error(loaded.unavailable);

/** Private (anonymous) memory, MB. */
function anonMB(): number {
  const kb = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const start = anonMB();
// Filled: a page nobody wrote to is not private memory yet.
let buffers = Array.from({ length: 2048 }, (_, i) => Buffer.allocUnsafeSlow(16 * 1024).fill(i));
buffers = buffers.filter((_, i) => i % 32 === 0);
// Two full collections: the second finishes the first one's freeing of the Buffers' memory.
gc();
gc();
const held = anonMB();
const released = loaded.trim();
const after = anonMB();
process.stdout.write(`${JSON.stringify({ start, held, released, after, kept: buffers.length })}\n`);

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMallocTrim, hostArch } from '../../board/bundle/build-native.ts';
import { loadMallocTrim, MALLOC_TRIM_ADDON } from '../../src/runtime/malloc-trim.ts';
import { scratchDir } from '../support/chain.ts';

const scratch = scratchDir('malloc-trim');
const addon = join(scratch.dir, MALLOC_TRIM_ADDON);
const MODULE = fileURLToPath(new URL('../../src/runtime/malloc-trim.ts', import.meta.url));
const FRAGMENTS = fileURLToPath(new URL('../support/heap-fragments.ts', import.meta.url));
/** malloc as the unit sets it up (systemd/mfp-gateway.service). */
const UNIT_MALLOC = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '262144',
  MALLOC_MMAP_THRESHOLD_: '262144',
};

beforeAll(() => {
  buildMallocTrim(addon, hostArch());
});
afterAll(() => scratch.cleanup());

describe('the malloc_trim addon', () => {
  it('gives back the pages of the holes free() left in the heap', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', FRAGMENTS, MODULE, addon],
      {
        env: { ...process.env, ...UNIT_MALLOC },
      },
    );
    const run = JSON.parse(stdout) as { start: number; held: number; released: boolean; after: number };
    // 31 of 32 Buffers freed, yet their ~31 MB stay: each hole lies below a live Buffer.
    expect(run.held - run.start, stdout).toBeGreaterThan(24);
    expect(run.released, stdout).toBe(true);
    // The trim returns them, back to about where the process began.
    expect(run.held - run.after, stdout).toBeGreaterThan(24);
    expect(run.after - run.start, stdout).toBeLessThan(4);
  });

  it('loads in this process and reports whether it released anything', () => {
    const loaded = loadMallocTrim(addon);
    if ('unavailable' in loaded) throw new Error(loaded.unavailable);
    expect(typeof loaded.trim()).toBe('boolean');
  });

  it('is unavailable, with the reason, when the file is missing or is no addon', () => {
    const missing = join(scratch.dir, 'absent', MALLOC_TRIM_ADDON);
    expect(loadMallocTrim(missing)).toEqual({
      unavailable: `${missing} is not there (run from src/, not a build)`,
    });
    const foreign = join(scratch.dir, 'foreign.node');
    writeFileSync(foreign, 'not an ELF file');
    const loaded = loadMallocTrim(foreign);
    expect('unavailable' in loaded && loaded.unavailable).toMatch(/foreign\.node could not be loaded: .+/);
  });
});

describe('building the addon', () => {
  it('names the compiler and the package to install when there is no compiler', () => {
    const previous = process.env.CC;
    process.env.CC = '/nonexistent/cc';
    try {
      expect(() => buildMallocTrim(join(scratch.dir, 'x.node'), hostArch())).toThrow(
        /needs the C compiler \/nonexistent\/cc: .*\(Debian: apt-get install gcc libc6-dev\)/,
      );
    } finally {
      if (previous === undefined) delete process.env.CC;
      else process.env.CC = previous;
    }
  });
});

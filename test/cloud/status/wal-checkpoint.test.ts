import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewRecord } from '../../../src/cloud/status/learning-store.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';

const keepalive = (i: number): NewRecord => ({
  time: 1_000 + i,
  gatewayId: `g${i % 500}`,
  clientId: 'c1',
  connectionId: 'line-0',
  role: 'push',
  dataType: 'keepalive',
  status: 'OK',
  idleBeforeMs: 30_000,
  connectionAgeMs: 60_000,
  policyLimited: false,
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('the SQLite learning store’s write-ahead log', () => {
  it('is copied into the file by the checkpoint worker, not by the commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-checkpoint-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cloud.db');
    // The worker's own timer out of the way: the test asks for the checkpoint itself.
    const store = new SqliteLearningStore(file, { checkpointEveryMs: 3_600_000 });
    cleanup.push(() => store.close());
    const size = (f: string) => statSync(f).size;
    const emptySize = size(file);
    // Far more pages than SQLite's own threshold (1000), in one commit.
    await store.appendMany(Array.from({ length: 80_000 }, (_, i) => keepalive(i)));
    expect(size(`${file}-wal`)).toBeGreaterThan(1000 * 4096);
    expect(size(file)).toBe(emptySize);
    const result = await store.checkpoint();
    expect(result.log).toBeGreaterThan(1000);
    expect(result.checkpointed).toBe(result.log);
    expect(size(file)).toBeGreaterThan(1000 * 4096);
    expect(await store.recent('g7', 0, 100)).toHaveLength(100);
  });
});

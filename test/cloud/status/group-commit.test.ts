import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { type Evidence, foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { NewRecord } from '../../../src/cloud/status/learning-store.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';
import { type CloudStore, openCloudStore } from '../../../src/cloud/store/cloud-store.ts';
import { storeBackends } from '../../support/cloud-stores.ts';

const fold = (current: Evidence | null, records: readonly NewRecord[]) =>
  foldRecords(current, records, { config: CONFIG });

const keepalive = (gatewayId: string, time: number, idleBeforeMs: number): NewRecord => ({
  time,
  gatewayId,
  clientId: 'c1',
  connectionId: 'line-0',
  role: 'push',
  dataType: 'keepalive',
  status: 'OK',
  idleBeforeMs,
  connectionAgeMs: 60_000,
  policyLimited: false,
});

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function fileStore(): { store: SqliteLearningStore; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  const file = join(dir, 'cloud.db');
  const store = new SqliteLearningStore(file);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return { store, file };
}

describe('the SQLite learning store’s group commit', () => {
  it('writes the exchanges of one tick together at its end, folded as if one by one', async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const rows = () => (other.prepare('SELECT COUNT(*) AS n FROM status_log').get() as { n: number }).n;
    const recorded = [
      store.record('g1', [keepalive('g1', 1_000, 30_000)], fold),
      store.record('g2', [keepalive('g2', 1_001, 20_000)], fold),
      store.record('g1', [keepalive('g1', 1_002, 45_000)], fold),
    ];
    expect(rows()).toBe(0);
    const results = await Promise.all(recorded);
    expect(rows()).toBe(3);
    expect(results.map((r) => r.changed)).toEqual([true, true, true]);
    expect(results.map((r) => r.records[0]?.id)).toEqual([1, 2, 3]);
    const sequential = fold(fold(null, [keepalive('g1', 1_000, 30_000)]), [keepalive('g1', 1_002, 45_000)]);
    expect(await store.evidence('g1')).toEqual(sequential);
    // What a restarted node reads: the evidence was written with the rows.
    const reopened = new SqliteLearningStore(file);
    cleanup.push(() => void reopened.close());
    expect(await reopened.evidence('g1')).toEqual(sequential);
    expect((await reopened.recent('g1', 0, 10)).map((r) => r.idleBeforeMs)).toEqual([30_000, 45_000]);
  });

  it('holds no write lock across the tick: another connection writes the file meanwhile', async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    other.exec('PRAGMA busy_timeout = 0; CREATE TABLE IF NOT EXISTS jobs_probe (x INTEGER)');
    cleanup.push(() => other.close());
    const pending = store.record('g1', [keepalive('g1', 1_000, 30_000)], fold);
    // A job store's connection, say, writing in the same tick must not find the file locked.
    expect(() => other.exec('INSERT INTO jobs_probe VALUES (1)')).not.toThrow();
    await pending;
    expect(await store.recent('g1', 0, 10)).toHaveLength(1);
  });

  it('answers an exchange that changed no evidence at once and writes its row with the later ones', async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const rows = () => (other.prepare('SELECT COUNT(*) AS n FROM status_log').get() as { n: number }).n;
    const learned = await store.record('g1', [keepalive('g1', 1_000, 45_000)], fold);
    expect(learned.changed).toBe(true);
    expect(rows()).toBe(1);
    // No longer than what is known: the evidence stays, the row waits in memory.
    const plain = await store.record('g1', [keepalive('g1', 2_000, 30_000)], fold);
    expect(plain).toMatchObject({ changed: false, evidence: learned.evidence, records: [] });
    expect(rows()).toBe(1);
    // Every read of the log writes what waits first.
    expect((await store.recent('g1', 0, 10)).map((r) => [r.id, r.idleBeforeMs])).toEqual([
      [1, 45_000],
      [2, 30_000],
    ]);
    expect(rows()).toBe(2);
  });

  it("writes a gateway's waiting rows together once the first has waited, numbered as written", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cloud.db');
    const store = new SqliteLearningStore(file, { writeBehindMs: 50 });
    cleanup.push(() => void store.close());
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const logged = () =>
      other.prepare('SELECT id, gateway_id AS g, time FROM status_log ORDER BY id').all() as Array<{
        id: number;
        g: string;
        time: number;
      }>;
    await store.record('g1', [keepalive('g1', 1_000, 45_000)], fold);
    await store.record('g2', [keepalive('g2', 1_001, 45_000)], fold);
    // Plain keep-alives, the gateways' interleaved: they wait, g1's first.
    for (const [g, time] of [
      ['g1', 2_000],
      ['g2', 2_001],
      ['g1', 3_000],
      ['g2', 3_001],
    ] as const)
      expect((await store.record(g, [keepalive(g, time, 30_000)], fold)).changed).toBe(false);
    expect(logged()).toHaveLength(2);
    await expect.poll(() => logged().length, { timeout: 5_000, interval: 20 }).toBe(6);
    // Each gateway's rows side by side (one index page write), the table appended in id order.
    expect(logged().map((r) => [r.id, r.g, r.time])).toEqual([
      [1, 'g1', 1_000],
      [2, 'g2', 1_001],
      [3, 'g1', 2_000],
      [4, 'g1', 3_000],
      [5, 'g2', 2_001],
      [6, 'g2', 3_001],
    ]);
  });

  it("writes a gateway's waiting rows before its change, and leaves the others' waiting", async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const logged = () =>
      (
        other
          .prepare('SELECT gateway_id AS g, idle_before_ms AS idle FROM status_log ORDER BY id')
          .all() as Array<{
          g: string;
          idle: number;
        }>
      ).map((r) => `${r.g}:${r.idle}`);
    await store.record('g1', [keepalive('g1', 1_000, 45_000)], fold);
    await store.record('g2', [keepalive('g2', 1_001, 45_000)], fold);
    await store.record('g1', [keepalive('g1', 2_000, 30_000)], fold);
    await store.record('g2', [keepalive('g2', 2_001, 30_000)], fold);
    const learned = await store.record('g1', [keepalive('g1', 3_000, 50_000)], fold);
    expect(learned.changed).toBe(true);
    expect(learned.records.map((r) => r.id)).toEqual([4]);
    expect(logged()).toEqual(['g1:45000', 'g2:45000', 'g1:30000', 'g1:50000']);
    // A reported death, too, comes after its gateway's waiting rows.
    const death = await store.record(
      'g2',
      [{ ...keepalive('g2', 2_500, 61_000), status: 'NG', failure: 'keepalive-timeout', sessionId: 's1' }],
      fold,
    );
    expect(death.records.map((r) => r.id)).toEqual([6]);
    expect(logged()).toEqual(['g1:45000', 'g2:45000', 'g1:30000', 'g1:50000', 'g2:30000', 'g2:61000']);
  });

  it('prunes by age from the oldest row, a row dated before its neighbours going after them', async () => {
    const { store } = fileStore();
    const times = [1_000, 1_001, 1_002, 1_050, 1_003, 1_060, 1_070];
    await store.appendMany(times.map((time) => keepalive('g1', time, 30_000)));
    const policy = { before: 1_010, maxPerGateway: 100, batch: 2 };
    const steps = [];
    for (;;) {
      const step = await store.prune(policy);
      steps.push(step.deleted);
      if (step.done) break;
    }
    expect(steps).toEqual([2, 1]);
    // 1_003 was written after 1_050: it goes once 1_050 is old too.
    expect((await store.recent('g1', 0, 10)).map((r) => r.time)).toEqual([1_003, 1_050, 1_060, 1_070]);
    await store.prune({ ...policy, before: 1_055 });
    expect((await store.recent('g1', 0, 10)).map((r) => r.time)).toEqual([1_060, 1_070]);
  });

  it('drops the index on time an older log kept up at every insert', async () => {
    const { store, file } = fileStore();
    await store.close();
    const old = new DatabaseSync(file);
    old.exec('CREATE INDEX status_log_time ON status_log (time)');
    old.close();
    const reopened = new SqliteLearningStore(file);
    cleanup.push(() => void reopened.close());
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    expect(
      other.prepare("SELECT name FROM sqlite_master WHERE name = 'status_log_time'").get(),
    ).toBeUndefined();
  });

  it('writes waiting rows when it closes', async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const rows = () => (other.prepare('SELECT COUNT(*) AS n FROM status_log').get() as { n: number }).n;
    await store.record('g1', [keepalive('g1', 1_000, 45_000)], fold);
    await store.record('g1', [keepalive('g1', 2_000, 30_000)], fold);
    expect(rows()).toBe(1);
    await store.close();
    expect(rows()).toBe(2);
  });

  it('fails the next exchange when waiting rows could not be written, and rereads the evidence', async () => {
    const { store, file } = fileStore();
    const other = new DatabaseSync(file);
    cleanup.push(() => other.close());
    const learned = await store.record('g1', [keepalive('g1', 1_000, 45_000)], fold);
    // The file refuses the next row (as a full disk would), after the exchange was answered.
    other.exec(`CREATE TRIGGER refuse BEFORE INSERT ON status_log WHEN NEW.idle_before_ms = 30000
      BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    await store.record('g1', [keepalive('g1', 2_000, 30_000)], fold);
    expect(await store.recent('g1', 0, 10)).toHaveLength(1);
    await expect(store.record('g1', [keepalive('g1', 3_000, 20_000)], fold)).rejects.toThrow(
      'refused by the test',
    );
    other.exec('DROP TRIGGER refuse');
    const next = await store.record('g1', [keepalive('g1', 4_000, 20_000)], fold);
    expect(next.evidence).toEqual(learned.evidence);
    expect((await store.recent('g1', 0, 10)).map((r) => [r.id, r.idleBeforeMs])).toEqual([
      [1, 45_000],
      [2, 20_000],
    ]);
  });

  it('writes a reported death at once, after what waits, and logs a repeat of it once', async () => {
    const { store } = fileStore();
    const death: NewRecord = {
      ...keepalive('g1', 2_000, 61_000),
      status: 'NG',
      failure: 'keepalive-timeout',
      sessionId: 's1',
    };
    const first = store.record('g1', [keepalive('g1', 1_000, 30_000)], fold);
    const dead = await store.record('g1', [death], fold);
    const again = await store.record('g1', [{ ...death, time: 3_000 }], fold);
    await first;
    expect(dead.records).toHaveLength(1);
    expect(again.records).toHaveLength(0);
    expect((await store.recent('g1', 0, 10)).map((r) => r.status)).toEqual(['OK', 'NG']);
  });
});

const opened: CloudStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

describe.each(storeBackends())('group commit on $name', ({ fresh }) => {
  it('records a burst of exchanges, several per gateway, as if one by one', async () => {
    const cloud = await openCloudStore(await fresh(), { documentsDir: tmpdir(), clock: systemClock });
    opened.push(cloud);
    const store = cloud.learning;
    const gaps = [30_000, 20_000, 45_000, 50_000, 10_000, 60_000];
    const burst = gaps.map((gap, i) =>
      store.record(`g${i % 2}`, [keepalive(`g${i % 2}`, 1_000 + i, gap)], fold),
    );
    const results = await Promise.all(burst);
    // Each change is on file, numbered, when it resolves (rows that changed nothing may wait).
    expect(results.filter((r) => r.changed).every((r) => r.records.length === 1)).toBe(true);
    for (const g of [0, 1]) {
      let expected: Evidence | null = null;
      gaps.forEach((gap, i) => {
        if (i % 2 === g) expected = fold(expected, [keepalive(`g${g}`, 1_000 + i, gap)]);
      });
      expect(await store.evidence(`g${g}`)).toEqual(expected);
      expect((await store.recent(`g${g}`, 0, 10)).map((r) => r.idleBeforeMs)).toEqual(
        gaps.filter((_, i) => i % 2 === g),
      );
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { type Evidence, foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { LearningStore, NewRecord } from '../../../src/cloud/status/learning-store.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';
import { type CloudStore, openCloudStore, type StoreSettings } from '../../../src/cloud/store/cloud-store.ts';
import { storeBackends } from '../../support/cloud-stores.ts';

const base: NewRecord = {
  time: 1000,
  gatewayId: 'g1',
  clientId: 'c1',
  connectionId: 'line-0',
  role: 'push',
  dataType: 'keepalive',
  status: 'OK',
  idleBeforeMs: 1000,
  connectionAgeMs: 5000,
  policyLimited: false,
};

const fold = (current: Evidence | null, records: readonly NewRecord[]) =>
  foldRecords(current, records, { config: CONFIG });

const dirs: string[] = [];
const opened: CloudStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Settings of a fresh store that a second open reaches too (a file, not ":memory:", for SQLite). */
async function durable(fresh: () => Promise<StoreSettings>): Promise<StoreSettings> {
  const settings = await fresh();
  if (settings.url) return settings;
  const dir = mkdtempSync(join(tmpdir(), 'learning-store-'));
  dirs.push(dir);
  return { ...settings, path: join(dir, 'cloud.db') };
}

async function open(settings: StoreSettings): Promise<LearningStore> {
  const store = await openCloudStore(settings, { documentsDir: tmpdir(), clock: systemClock });
  opened.push(store);
  return store.learning;
}

describe.each(storeBackends())('learning store on $name', ({ name, fresh }) => {
  it('logs every record and returns the most recent ones oldest first', async () => {
    const store = await open(await fresh());
    for (let i = 0; i < 5; i++)
      await store.record('g1', [{ ...base, time: 1000 + i, idleBeforeMs: i }], fold);
    await store.record('g2', [{ ...base, gatewayId: 'g2', time: 2000 }], fold);
    await store.record(
      'g1',
      [{ ...base, time: 3000, status: 'NG', failure: 'ack-timeout', sessionId: 's1' }],
      fold,
    );
    const recent = await store.recent('g1', 1002, 3);
    expect(recent.map((r) => r.time)).toEqual([1003, 1004, 3000]);
    expect(recent[2]).toMatchObject({
      status: 'NG',
      failure: 'ack-timeout',
      gatewayId: 'g1',
      sessionId: 's1',
    });
  });

  it('writes the evidence only when the fold changed it, and keeps it across a restart', async () => {
    const settings = await durable(fresh);
    const store = await open(settings);
    const first = await store.record('g1', [{ ...base, idleBeforeMs: 30_000 }], fold);
    expect(first.changed).toBe(true);
    const same = await store.record('g1', [{ ...base, time: 2000, idleBeforeMs: 20_000 }], fold);
    expect(same.changed).toBe(false);
    expect(same.evidence).toEqual(first.evidence);
    // A restart: the node closes its store, writing what waits, before the next one opens it.
    await opened.pop()?.close();
    const reopened = await open(settings);
    expect(await reopened.evidence('g1')).toEqual(first.evidence);
    expect(await reopened.recent('g1', 0, 10)).toHaveLength(2);
  });

  it('logs one death once, however many hellos report it (issue 15 item 5)', async () => {
    const store = await open(await fresh());
    const death: NewRecord = {
      ...base,
      time: 3000,
      status: 'NG',
      failure: 'keepalive-timeout',
      idleBeforeMs: 22_000,
      sessionId: 'dead-session',
    };
    const first = await store.record('g1', [death], fold);
    expect(first.records).toHaveLength(1);
    // The other line's hello, and the first line's next one, report the same death again.
    const again = await store.record(
      'g1',
      [
        { ...death, connectionId: 'line-0' },
        { ...base, time: 4000 },
      ],
      fold,
    );
    expect(again.records.map((r) => r.status)).toEqual(['OK']);
    const repeat = await store.record('g1', [death], fold);
    expect(repeat).toMatchObject({ records: [], changed: false });
    expect(repeat.evidence).toEqual(again.evidence);
    const log = await store.recent('g1', 0, 10);
    expect(log.filter((r) => r.status === 'NG')).toHaveLength(1);
    // Failures without a session (a proxied device's push) are each their own.
    const noSession = { ...death, sessionId: undefined, time: 5000 };
    delete noSession.sessionId;
    await store.record('g1', [noSession, { ...noSession, time: 5001 }], fold);
    expect((await store.recent('g1', 0, 10)).filter((r) => r.status === 'NG')).toHaveLength(3);
  });

  it.runIf(name === 'postgres')(
    'keeps every node’s evidence when two nodes record for one gateway at once',
    async () => {
      const settings = await fresh();
      const [a, b] = [await open(settings), await open(settings)];
      // Each death is of its own session: a lost update would lose sessions from the evidence.
      const sessions = Array.from({ length: 20 }, (_, i) => `s${i}`);
      await Promise.all(
        sessions.map((sessionId, i) =>
          (i % 2 ? a : b).record(
            'g1',
            [
              {
                ...base,
                time: 1000 + i,
                status: 'NG',
                failure: 'ack-timeout',
                idleBeforeMs: 60_000,
                sessionId,
              },
            ],
            fold,
          ),
        ),
      );
      expect([...((await a.evidence('g1'))?.sessions ?? [])].sort()).toEqual([...sessions].sort());
      expect(await a.recent('g1', 0, 100)).toHaveLength(sessions.length);
    },
  );

  it('finds the gateways of a site through its index, with their evidence', async () => {
    const store = await open(await fresh());
    const info = {
      clientId: 'c',
      domain: 'example.co.jp',
      egressAddress: '203.0.113.9',
      siteKey: 'example.co.jp@203.0.113.9',
      lastHelloAt: 1,
    };
    await store.saveGateway({ ...info, gatewayId: 'a' });
    await store.saveGateway({ ...info, gatewayId: 'b' });
    await store.saveGateway({ ...info, gatewayId: 'c', siteKey: 'other' });
    await store.record('b', [{ ...base, gatewayId: 'b', idleBeforeMs: 40_000 }], fold);
    const members = await store.siteMembers('example.co.jp@203.0.113.9');
    expect(members.map((m) => [m.gatewayId, m.evidence?.good[0]?.gapMs ?? null])).toEqual([
      ['a', null],
      ['b', 40_000],
    ]);
    expect((await store.gateway('c'))?.siteKey).toBe('other');
  });

  it('follows a gateway that moves to another site after both sites were read', async () => {
    const store = await open(await fresh());
    const info = { clientId: 'c', domain: 'd', egressAddress: null, lastHelloAt: 1 };
    await store.saveGateway({ ...info, gatewayId: 'a', siteKey: 'one' });
    await store.saveGateway({ ...info, gatewayId: 'b', siteKey: 'one' });
    const ids = async (site: string) => (await store.siteMembers(site)).map((m) => m.gatewayId);
    expect(await ids('one')).toEqual(['a', 'b']);
    expect(await ids('two')).toEqual([]);
    await store.saveGateway({ ...info, gatewayId: 'a', siteKey: 'two', lastHelloAt: 2 });
    await store.saveGateway({ ...info, gatewayId: 'c', siteKey: 'two', lastHelloAt: 2 });
    expect(await ids('one')).toEqual(['b']);
    expect(await ids('two')).toEqual(['a', 'c']);
  });

  it('prunes by age and by a per-gateway cap, in batches, until the sweep is done', async () => {
    const store = await open(await fresh());
    const rows: NewRecord[] = [];
    for (let i = 0; i < 50; i++) rows.push({ ...base, time: 1000 + i });
    for (let i = 0; i < 30; i++) rows.push({ ...base, gatewayId: 'g2', time: 5000 + i });
    await store.appendMany(rows);
    const policy = { before: 1010, maxPerGateway: 20, batch: 7 };
    let deleted = 0;
    let calls = 0;
    for (;;) {
      const step = await store.prune(policy);
      deleted += step.deleted;
      calls++;
      expect(step.deleted).toBeLessThanOrEqual(policy.batch);
      if (step.done) break;
    }
    expect(calls).toBeGreaterThan(1);
    // g1: 10 too old, then 40 left, capped to 20; g2: 30 capped to 20.
    expect(deleted).toBe(10 + 20 + 10);
    expect((await store.recent('g1', 0, 100)).map((r) => r.time)).toEqual(
      Array.from({ length: 20 }, (_, i) => 1030 + i),
    );
    expect(await store.recent('g2', 0, 100)).toHaveLength(20);
  });
});

describe('SQLite learning store opening an older log', () => {
  it('keeps one row per death it had logged several times, and the index from then on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'learning-store-old-'));
    dirs.push(dir);
    const path = join(dir, 'cloud.db');
    // A log written before the one-death index: the same session's death logged by two hellos.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE status_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, gateway_id TEXT NOT NULL,
        client_id TEXT NOT NULL, connection_id TEXT NOT NULL, role TEXT NOT NULL, data_type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OK', 'NG')), idle_before_ms INTEGER NOT NULL,
        connection_age_ms INTEGER NOT NULL, failure TEXT, policy_limited INTEGER NOT NULL DEFAULT 0,
        session_id TEXT)`);
    const insert = old.prepare(`INSERT INTO status_log (time, gateway_id, client_id, connection_id, role,
        data_type, status, idle_before_ms, connection_age_ms, failure, session_id)
        VALUES (?, 'g1', 'c1', 'line-0', 'push', 'keepalive', ?, 22000, 60000, ?, ?)`);
    insert.run(1000, 'NG', 'keepalive-timeout', 's1');
    insert.run(1001, 'NG', 'keepalive-timeout', 's1');
    insert.run(1002, 'OK', null, 's1');
    insert.run(1003, 'OK', null, 's1');
    old.close();
    const store = new SqliteLearningStore(path);
    try {
      expect((await store.recent('g1', 0, 10)).map((r) => [r.time, r.status])).toEqual([
        [1000, 'NG'],
        [1002, 'OK'],
        [1003, 'OK'],
      ]);
      const again = await store.record(
        'g1',
        [{ ...base, status: 'NG', failure: 'reset', sessionId: 's1' }],
        fold,
      );
      expect(again.records).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

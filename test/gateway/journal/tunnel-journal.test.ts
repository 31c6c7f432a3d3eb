import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import {
  type DeviceLogEntry,
  type JournalRetention,
  TunnelJournal,
} from '../../../src/gateway/journal/tunnel-journal.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { scratchDir } from '../../support/chain.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const roomy: JournalRetention = { maxAgeMs: 30 * DAY, maxTunnelRecords: 1000, maxDeviceLogs: 1000 };

function open(options: { retention?: JournalRetention; file?: string; clock?: ManualClock } = {}) {
  const clock = options.clock ?? new ManualClock();
  let file = options.file;
  if (!file) {
    const { dir, cleanup } = scratchDir('journal');
    defer(cleanup);
    file = join(dir, 'state', 'journal.db');
  }
  const journal = new TunnelJournal({
    file,
    clock,
    retention: options.retention ?? roomy,
    flushEveryMs: 250,
    maxPending: 10,
    onFlushError: (err) => {
      throw err;
    },
  });
  defer(() => journal.close());
  return { journal, clock, file };
}

/** Another connection to the same file: sees only what was committed. */
function committed(file: string, table: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function tunnel(jobId: string, target: string, openedAt: number, closedAt: number): TunnelRecord {
  return { jobId, target, openedAt, closedAt, bytesToDevice: 1000, bytesFromDevice: 20, outcome: 'done' };
}

function deviceLog(receivedAt: number, over: Partial<DeviceLogEntry> = {}): DeviceLogEntry {
  return {
    receivedAt,
    source: '192.168.1.20',
    transport: 'udp',
    jobId: null,
    facility: 16,
    severity: 6,
    reportedAt: null,
    hostname: 'mfp-3f',
    appName: 'printer',
    procId: null,
    msgId: 'CONN',
    structuredData: [],
    message: 'connected',
    ...over,
  };
}

describe('TunnelJournal', () => {
  it('commits a tunnel record before recordTunnel returns, and keeps it across a reopen', () => {
    const { journal, file, clock } = open();
    const t0 = clock.now();
    journal.recordTunnel(tunnel('job-1', '192.168.1.20:9100', t0, t0 + 5000));
    expect(committed(file, 'tunnels')).toBe(1);
    journal.close();
    const again = open({ file, clock });
    expect(again.journal.tunnels({ jobId: 'job-1' })).toEqual([
      { id: 1, ...tunnel('job-1', '192.168.1.20:9100', t0, t0 + 5000) },
    ]);
  });

  it('keeps when a switched job’s direct connection came up, and adds that column to an older journal', () => {
    const { dir, cleanup } = scratchDir('journal-old');
    defer(cleanup);
    const file = join(dir, 'journal.db');
    // A journal as an earlier version made it: no direct_up_at column.
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE tunnels (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, target TEXT NOT NULL,
      target_host TEXT NOT NULL, opened_at INTEGER NOT NULL, closed_at INTEGER NOT NULL,
      bytes_to_device INTEGER NOT NULL, bytes_from_device INTEGER NOT NULL, outcome TEXT NOT NULL)`);
    old.exec(`INSERT INTO tunnels (job_id, target, target_host, opened_at, closed_at, bytes_to_device,
      bytes_from_device, outcome) VALUES ('old', 'device:mfp', 'device:mfp', 1, 2, 3, 4, 'done')`);
    old.close();
    const { journal, clock } = open({ file });
    const t0 = clock.now();
    const switched = {
      ...tunnel('job-s', 'device:mfp', t0, t0 + 5000),
      outcome: 'switched',
      directUpAt: t0 + 4000,
    };
    journal.recordTunnel(switched);
    expect(journal.tunnels({ jobId: 'job-s' })).toEqual([{ id: 2, ...switched }]);
    expect(journal.tunnels({ jobId: 'old' })).toEqual([
      expect.not.objectContaining({ directUpAt: expect.anything() }),
    ]);
  });

  it('commits device logs in batches: on the flush timer or when maxPending wait', () => {
    const { journal, file, clock } = open();
    journal.recordDeviceLog(deviceLog(clock.now()));
    expect(committed(file, 'device_logs')).toBe(0);
    clock.advance(250);
    expect(committed(file, 'device_logs')).toBe(1);
    for (let i = 0; i < 10; i++) journal.recordDeviceLog(deviceLog(clock.now()));
    expect(committed(file, 'device_logs')).toBe(11);
  });

  it('shows pending device logs to queries and commits them on close', () => {
    const { journal, file, clock } = open();
    journal.recordDeviceLog(deviceLog(clock.now(), { message: 'pending' }));
    expect(journal.deviceLogs().map((l) => l.message)).toEqual(['pending']);
    journal.recordDeviceLog(deviceLog(clock.now(), { message: 'at close' }));
    journal.close();
    expect(committed(file, 'device_logs')).toBe(2);
  });

  it('queries tunnels by job, by device address, by time overlap, newest first, with a limit', () => {
    const { journal } = open();
    journal.recordTunnel(tunnel('j1', '192.168.1.20:9100', 1000, 2000));
    journal.recordTunnel(tunnel('j2', '192.168.1.21:631', 1500, 5000));
    journal.recordTunnel(tunnel('j3', '192.168.1.20:9100', 6000, 7000));
    journal.recordTunnel(tunnel('j4', 'fd00::5:9100', 8000, 9000));
    const jobs = (rows: { jobId: string }[]) => rows.map((r) => r.jobId);
    expect(jobs(journal.tunnels())).toEqual(['j4', 'j3', 'j2', 'j1']);
    expect(jobs(journal.tunnels({ jobId: 'j2' }))).toEqual(['j2']);
    expect(jobs(journal.tunnels({ device: '192.168.1.20' }))).toEqual(['j3', 'j1']);
    expect(jobs(journal.tunnels({ device: 'fd00::5' }))).toEqual(['j4']);
    // Open at any time in [2500, 6500): j2 (1500–5000) and j3 (6000–7000), not j1 (closed at 2000).
    expect(jobs(journal.tunnels({ since: 2500, until: 6500 }))).toEqual(['j3', 'j2']);
    expect(jobs(journal.tunnels({ limit: 2 }))).toEqual(['j4', 'j3']);
    expect(journal.tunnels({ limit: 10_000 })).toHaveLength(4);
  });

  it('queries device logs by sender or hostname, job, time range and severity, newest first', () => {
    const { journal } = open();
    journal.recordDeviceLog(deviceLog(1000, { message: 'a', severity: 3 }));
    journal.recordDeviceLog(deviceLog(2000, { message: 'b', source: '192.168.1.21', hostname: null }));
    journal.recordDeviceLog(deviceLog(3000, { message: 'c', jobId: 'j9', severity: 4 }));
    journal.recordDeviceLog(
      deviceLog(4000, {
        message: 'd',
        transport: 'tcp',
        reportedAt: 3999,
        structuredData: [{ id: 'job@32473', params: [{ name: 'jobId', value: 'j9' }] }],
      }),
    );
    const messages = (rows: { message: string }[]) => rows.map((r) => r.message);
    expect(messages(journal.deviceLogs())).toEqual(['d', 'c', 'b', 'a']);
    expect(messages(journal.deviceLogs({ device: '192.168.1.21' }))).toEqual(['b']);
    expect(messages(journal.deviceLogs({ device: 'mfp-3f' }))).toEqual(['d', 'c', 'a']);
    expect(messages(journal.deviceLogs({ jobId: 'j9' }))).toEqual(['c']);
    expect(messages(journal.deviceLogs({ since: 2000, until: 4000 }))).toEqual(['c', 'b']);
    expect(messages(journal.deviceLogs({ severity: 4 }))).toEqual(['c', 'a']);
    expect(journal.deviceLogs({ limit: 1 })[0]).toEqual({
      id: 4,
      ...deviceLog(4000, {
        message: 'd',
        transport: 'tcp',
        reportedAt: 3999,
        structuredData: [{ id: 'job@32473', params: [{ name: 'jobId', value: 'j9' }] }],
      }),
    });
  });

  it('prunes rows older than maxAge', () => {
    const { journal, clock } = open();
    const t0 = clock.now();
    journal.recordTunnel(tunnel('old', '10.0.0.1:9100', t0, t0 + 1));
    journal.recordDeviceLog(deviceLog(t0 + 1, { message: 'old' }));
    clock.advance(20 * DAY);
    journal.recordTunnel(tunnel('new', '10.0.0.1:9100', clock.now(), clock.now()));
    journal.recordDeviceLog(deviceLog(clock.now(), { message: 'new' }));
    clock.advance(11 * DAY);
    expect(journal.prune()).toEqual({ tunnels: 1, deviceLogs: 1 });
    expect(journal.tunnels().map((t) => t.jobId)).toEqual(['new']);
    expect(journal.deviceLogs().map((l) => l.message)).toEqual(['new']);
  });

  it('keeps at most maxTunnelRecords and maxDeviceLogs, dropping the oldest, even between prunes', () => {
    const { journal, clock } = open({
      retention: { maxAgeMs: 30 * DAY, maxTunnelRecords: 20, maxDeviceLogs: 30 },
    });
    for (let i = 0; i < 100; i++) {
      journal.recordTunnel(tunnel(`j${i}`, '10.0.0.1:9100', clock.now(), clock.now()));
      journal.recordDeviceLog(deviceLog(clock.now(), { message: `m${i}` }));
    }
    const between = journal.counts();
    expect(between.tunnels).toBeLessThanOrEqual(20 + 2);
    expect(between.deviceLogs).toBeLessThanOrEqual(30 + 10 + 3);
    journal.prune();
    expect(journal.counts()).toEqual({ tunnels: 20, deviceLogs: 30 });
    expect(journal.tunnels({ limit: 1 })[0]?.jobId).toBe('j99');
    expect(journal.tunnels({ limit: 1000 }).at(-1)?.jobId).toBe('j80');
    expect(journal.deviceLogs({ limit: 1000 }).at(-1)?.message).toBe('m70');
  });
});

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { boundPageCache } from '../../storage/sqlite-file.ts';
import type { TunnelRecord } from '../tunnels/tunnel-endpoint.ts';
import type { StructuredElement, SyslogMessage } from './syslog-parser.ts';

/**
 * A connection log line a device reported (the seed's log data 7J): the syslog message's
 * fields, with the device's TIMESTAMP as `reportedAt`, and where and when it arrived.
 */
export interface DeviceLogEntry extends Omit<SyslogMessage, 'timestamp'> {
  /** When the gateway received it (its own clock: device clocks are often wrong). */
  receivedAt: number;
  /** Sender's IP address. */
  source: string;
  transport: 'udp' | 'tcp';
  /** From a `jobId` SD-PARAM, if the device sent one. */
  jobId: string | null;
  /** The device's own TIMESTAMP, if it sent one. */
  reportedAt: number | null;
}

/** A tunnel record as stored (the seed's log data 7K). */
export interface StoredTunnelRecord extends TunnelRecord {
  id: number;
}

export interface StoredDeviceLog extends DeviceLogEntry {
  id: number;
}

/** Filters of a journal query; results come newest first. */
export interface JournalQuery {
  jobId?: string;
  /** Tunnels: the target's address; device logs: the sender's address or its HOSTNAME. */
  device?: string;
  /** Inclusive start (ms). Tunnels match when open at any time in [since, until). */
  since?: number;
  /** Exclusive end (ms). */
  until?: number;
  /** At most this many rows (default 100, at most 1000). */
  limit?: number;
}

export interface DeviceLogQuery extends JournalQuery {
  /** Only this severity or worse (numerically lower: 0 emergency … 7 debug). */
  severity?: number;
}

export interface JournalRetention {
  maxAgeMs: number;
  maxTunnelRecords: number;
  maxDeviceLogs: number;
}

export interface TunnelJournalOptions {
  /** SQLite file; ":memory:" for tests that need no file. */
  file: string;
  clock: Clock;
  retention: JournalRetention;
  /** Device logs wait at most this long to be committed together (one fsync per batch). */
  flushEveryMs?: number;
  /** ...or until this many are waiting. */
  maxPending?: number;
  /** A timed commit of device logs failed (e.g. a full card); that batch is lost. */
  onFlushError: (err: Error, lost: number) => void;
}

interface TunnelRow {
  id: number;
  job_id: string;
  target: string;
  opened_at: number;
  closed_at: number;
  bytes_to_device: number;
  bytes_from_device: number;
  outcome: string;
  direct_up_at: number | null;
}

interface DeviceLogRow {
  id: number;
  received_at: number;
  source: string;
  transport: DeviceLogEntry['transport'];
  job_id: string | null;
  facility: number;
  severity: number;
  reported_at: number | null;
  hostname: string | null;
  app_name: string | null;
  proc_id: string | null;
  msg_id: string | null;
  structured_data: string;
  message: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const DEFAULT_FLUSH_MS = 250;
const DEFAULT_MAX_PENDING = 256;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS tunnels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    target TEXT NOT NULL,
    target_host TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    bytes_to_device INTEGER NOT NULL,
    bytes_from_device INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    direct_up_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS tunnels_job ON tunnels (job_id);
  CREATE INDEX IF NOT EXISTS tunnels_host_closed ON tunnels (target_host, closed_at);
  CREATE INDEX IF NOT EXISTS tunnels_closed ON tunnels (closed_at);
  CREATE TABLE IF NOT EXISTS device_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    transport TEXT NOT NULL,
    job_id TEXT,
    facility INTEGER NOT NULL,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 7),
    reported_at INTEGER,
    hostname TEXT,
    app_name TEXT,
    proc_id TEXT,
    msg_id TEXT,
    structured_data TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS device_logs_received ON device_logs (received_at);
  CREATE INDEX IF NOT EXISTS device_logs_source ON device_logs (source, received_at);
  CREATE INDEX IF NOT EXISTS device_logs_hostname ON device_logs (hostname, received_at);
  CREATE INDEX IF NOT EXISTS device_logs_job ON device_logs (job_id);
`;

/** Columns later versions added to a journal an earlier version created. */
function addMissingColumns(db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(tunnels)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'direct_up_at'))
    db.exec('ALTER TABLE tunnels ADD COLUMN direct_up_at INTEGER');
}

/**
 * The gateway's durable journal of tunnels (7K) and of devices' connection logs (7J), in
 * SQLite (WAL, synchronous=FULL: a committed row survives a power cut). A tunnel record is
 * committed before recordTunnel returns; device logs, which can come in bursts, are committed
 * in batches so the SD card sees one fsync per batch, not per line. Queries see pending rows.
 */
export class TunnelJournal {
  private readonly db: DatabaseSync;
  private readonly options: Required<TunnelJournalOptions>;
  private readonly insertTunnel: StatementSync;
  private readonly insertDeviceLog: StatementSync;
  private readonly statements = new Map<string, StatementSync>();
  private pending: DeviceLogEntry[] = [];
  private flushTimer: TimerHandle | undefined;
  /** Rows added since the row caps were last enforced. */
  private addedSinceCap = { tunnels: 0, deviceLogs: 0 };

  constructor(options: TunnelJournalOptions) {
    this.options = { flushEveryMs: DEFAULT_FLUSH_MS, maxPending: DEFAULT_MAX_PENDING, ...options };
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new DatabaseSync(options.file);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; ${SCHEMA}`);
    boundPageCache(this.db);
    addMissingColumns(this.db);
    this.insertTunnel = this.db.prepare(`INSERT INTO tunnels
      (job_id, target, target_host, opened_at, closed_at, bytes_to_device, bytes_from_device, outcome, direct_up_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertDeviceLog = this.db.prepare(`INSERT INTO device_logs
      (received_at, source, transport, job_id, facility, severity, reported_at, hostname, app_name, proc_id,
       msg_id, structured_data, message)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Stores a finished tunnel durably; returns its row id. */
  recordTunnel(record: TunnelRecord): number {
    const result = this.insertTunnel.run(
      record.jobId,
      record.target,
      hostOf(record.target),
      record.openedAt,
      record.closedAt,
      record.bytesToDevice,
      record.bytesFromDevice,
      record.outcome,
      record.directUpAt ?? null,
    );
    this.addedSinceCap.tunnels++;
    this.capIfDue();
    return Number(result.lastInsertRowid);
  }

  /** Queues a device log line; it is committed within flushEveryMs (or sooner, in a burst). */
  recordDeviceLog(entry: DeviceLogEntry): void {
    this.pending.push(entry);
    if (this.pending.length >= this.options.maxPending) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = this.options.clock.setTimeout(() => {
        const waiting = this.pending.length;
        try {
          this.flush();
        } catch (err) {
          this.options.onFlushError(err as Error, waiting);
        }
      }, this.options.flushEveryMs);
    }
  }

  /** Commits waiting device logs in one transaction. */
  flush(): void {
    this.options.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.db.exec('BEGIN');
    try {
      for (const e of batch) {
        this.insertDeviceLog.run(
          e.receivedAt,
          e.source,
          e.transport,
          e.jobId,
          e.facility,
          e.severity,
          e.reportedAt,
          e.hostname,
          e.appName,
          e.procId,
          e.msgId,
          JSON.stringify(e.structuredData),
          e.message,
        );
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    this.addedSinceCap.deviceLogs += batch.length;
    this.capIfDue();
  }

  /** Finished tunnels, newest first. */
  tunnels(query: JournalQuery = {}): StoredTunnelRecord[] {
    const where = new Where()
      .add(query.jobId, 'job_id = ?')
      .add(query.device, 'target_host = ?')
      .add(query.since, 'closed_at >= ?')
      .add(query.until, 'opened_at < ?');
    const rows = this.select<TunnelRow>('tunnels', where, 'closed_at DESC, id DESC', query.limit);
    return rows.map((row) => ({
      id: row.id,
      jobId: row.job_id,
      target: row.target,
      openedAt: row.opened_at,
      closedAt: row.closed_at,
      bytesToDevice: row.bytes_to_device,
      bytesFromDevice: row.bytes_from_device,
      outcome: row.outcome,
      ...(row.direct_up_at !== null ? { directUpAt: row.direct_up_at } : {}),
    }));
  }

  /** Device log lines, newest first (by the time the gateway received them). */
  deviceLogs(query: DeviceLogQuery = {}): StoredDeviceLog[] {
    this.flush();
    const where = new Where()
      .add(query.jobId, 'job_id = ?')
      .add(query.device, '(source = ? OR hostname = ?)')
      .add(query.since, 'received_at >= ?')
      .add(query.until, 'received_at < ?')
      .add(query.severity, 'severity <= ?');
    const rows = this.select<DeviceLogRow>('device_logs', where, 'received_at DESC, id DESC', query.limit);
    return rows.map((row) => ({
      id: row.id,
      receivedAt: row.received_at,
      source: row.source,
      transport: row.transport,
      jobId: row.job_id,
      facility: row.facility,
      severity: row.severity,
      reportedAt: row.reported_at,
      hostname: row.hostname,
      appName: row.app_name,
      procId: row.proc_id,
      msgId: row.msg_id,
      structuredData: JSON.parse(row.structured_data) as StructuredElement[],
      message: row.message,
    }));
  }

  /** Row counts (pending device logs included). */
  counts(): { tunnels: number; deviceLogs: number } {
    this.flush();
    const count = (table: string) =>
      Number((this.statement(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
    return { tunnels: count('tunnels'), deviceLogs: count('device_logs') };
  }

  /** Applies retention: deletes rows older than maxAge, then the oldest rows over the caps. */
  prune(): { tunnels: number; deviceLogs: number } {
    this.flush();
    const cutoff = this.options.clock.now() - this.options.retention.maxAgeMs;
    const tunnels = Number(this.statement('DELETE FROM tunnels WHERE closed_at < ?').run(cutoff).changes);
    const deviceLogs = Number(
      this.statement('DELETE FROM device_logs WHERE received_at < ?').run(cutoff).changes,
    );
    const capped = this.enforceCaps();
    return { tunnels: tunnels + capped.tunnels, deviceLogs: deviceLogs + capped.deviceLogs };
  }

  /** Commits what is pending and closes the file. */
  close(): void {
    if (!this.db.isOpen) return;
    this.flush();
    this.db.close();
  }

  /** Enforces the caps once a tenth of a cap has been added since the last time, so they hold between prunes. */
  private capIfDue(): void {
    const { maxTunnelRecords, maxDeviceLogs } = this.options.retention;
    if (
      this.addedSinceCap.tunnels > maxTunnelRecords / 10 ||
      this.addedSinceCap.deviceLogs > maxDeviceLogs / 10
    ) {
      this.enforceCaps();
    }
  }

  private enforceCaps(): { tunnels: number; deviceLogs: number } {
    const { maxTunnelRecords, maxDeviceLogs } = this.options.retention;
    this.addedSinceCap = { tunnels: 0, deviceLogs: 0 };
    // Ids grow with insertion, so "all but the newest N" is everything at or below the (N+1)th id.
    const cap = (table: string, max: number) =>
      Number(
        this.statement(
          `DELETE FROM ${table} WHERE id <= (SELECT id FROM ${table} ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        ).run(max).changes,
      );
    return { tunnels: cap('tunnels', maxTunnelRecords), deviceLogs: cap('device_logs', maxDeviceLogs) };
  }

  private select<Row>(table: string, where: Where, order: string, limit = DEFAULT_LIMIT): Row[] {
    const clause = where.clauses.length > 0 ? `WHERE ${where.clauses.join(' AND ')}` : '';
    const sql = `SELECT * FROM ${table} ${clause} ORDER BY ${order} LIMIT ?`;
    const bounded = Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit)));
    return this.statement(sql).all(...where.params, bounded) as Row[];
  }

  /** Prepared once per distinct SQL text; the set of texts is fixed by the filters above. */
  private statement(sql: string): StatementSync {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

/** The WHERE clauses of a query, one per filter given; the filter's value fills each "?" of its clause. */
class Where {
  readonly clauses: string[] = [];
  readonly params: SQLInputValue[] = [];

  add(value: string | number | undefined, clause: string): this {
    if (value !== undefined) {
      this.clauses.push(clause);
      for (const _ of clause.matchAll(/\?/g)) this.params.push(value);
    }
    return this;
  }
}

/** "192.168.1.20:9100" → "192.168.1.20"; "fd00::5:9100" → "fd00::5". */
function hostOf(target: string): string {
  const colon = target.lastIndexOf(':');
  return colon === -1 ? target : target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
}

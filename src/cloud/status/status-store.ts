import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatusRecord } from '../learning/status-record.ts';

/** What the cloud remembers of a gateway between its connections. */
export interface GatewayInfo {
  gatewayId: string;
  clientId: string;
  domain: string;
  egressAddress: string | null;
  siteKey: string;
  lastHelloAt: number;
}

type NewRecord = Omit<StatusRecord, 'id'>;

interface RecordRow {
  id: number;
  time: number;
  gateway_id: string;
  client_id: string;
  connection_id: string;
  role: string;
  data_type: string;
  status: string;
  idle_before_ms: number;
  connection_age_ms: number;
  failure: string | null;
  policy_limited: number;
}

function toRecord(row: RecordRow): StatusRecord {
  const record: StatusRecord = {
    id: row.id,
    time: row.time,
    gatewayId: row.gateway_id,
    clientId: row.client_id,
    connectionId: row.connection_id,
    role: row.role as StatusRecord['role'],
    dataType: row.data_type as StatusRecord['dataType'],
    status: row.status as StatusRecord['status'],
    idleBeforeMs: row.idle_before_ms,
    connectionAgeMs: row.connection_age_ms,
    policyLimited: row.policy_limited === 1,
  };
  if (row.failure) record.failure = row.failure as NonNullable<StatusRecord['failure']>;
  return record;
}

/**
 * The communication status log (seed 000) and the gateways' last known identity, in
 * SQLite via node:sqlite: no native module to build. ":memory:" works for tests.
 */
export class StatusStore {
  private readonly db: DatabaseSync;
  private readonly insert;
  private readonly recentStmt;
  private readonly upsertGateway;
  private readonly siteStmt;
  private readonly gatewayStmt;
  private readonly pruneStmt;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS status_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        gateway_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        role TEXT NOT NULL,
        data_type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OK', 'NG')),
        idle_before_ms INTEGER NOT NULL,
        connection_age_ms INTEGER NOT NULL,
        failure TEXT,
        policy_limited INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS status_log_gateway_time ON status_log (gateway_id, time);
      CREATE TABLE IF NOT EXISTS gateways (
        gateway_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        egress_address TEXT,
        site_key TEXT NOT NULL,
        last_hello_at INTEGER NOT NULL
      );
    `);
    this.insert = this.db.prepare(`INSERT INTO status_log
      (time, gateway_id, client_id, connection_id, role, data_type, status, idle_before_ms, connection_age_ms, failure, policy_limited)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.recentStmt = this.db.prepare(`SELECT * FROM (
        SELECT * FROM status_log WHERE gateway_id = ? AND time >= ? ORDER BY id DESC LIMIT ?
      ) ORDER BY id ASC`);
    this.upsertGateway = this.db.prepare(`INSERT INTO gateways
      (gateway_id, client_id, domain, egress_address, site_key, last_hello_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (gateway_id) DO UPDATE SET client_id = excluded.client_id, domain = excluded.domain,
        egress_address = excluded.egress_address, site_key = excluded.site_key, last_hello_at = excluded.last_hello_at`);
    this.siteStmt = this.db.prepare('SELECT * FROM gateways WHERE site_key = ? AND gateway_id != ?');
    this.gatewayStmt = this.db.prepare('SELECT * FROM gateways WHERE gateway_id = ?');
    this.pruneStmt = this.db.prepare('DELETE FROM status_log WHERE time < ?');
  }

  /** Appends one record and returns it with its id. */
  append(record: NewRecord): StatusRecord {
    const result = this.insert.run(
      record.time,
      record.gatewayId,
      record.clientId,
      record.connectionId,
      record.role,
      record.dataType,
      record.status,
      Math.round(record.idleBeforeMs),
      Math.round(record.connectionAgeMs),
      record.failure ?? null,
      record.policyLimited ? 1 : 0,
    );
    return { ...record, id: Number(result.lastInsertRowid) };
  }

  /**
   * Appends many records in one transaction (an import of history, e.g. bench:cloud's
   * simulated week): a commit per row would cost 24 times as much. Returns how many.
   */
  appendMany(records: Iterable<NewRecord>): number {
    let count = 0;
    this.db.exec('BEGIN');
    try {
      for (const record of records) {
        this.append(record);
        count++;
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    return count;
  }

  /** The most recent records of a gateway since a time, oldest first, at most limit. */
  recent(gatewayId: string, since: number, limit: number): StatusRecord[] {
    return (this.recentStmt.all(gatewayId, since, limit) as unknown as RecordRow[]).map(toRecord);
  }

  /** Remembers a gateway's identity and site from its hello. */
  saveGateway(info: GatewayInfo): void {
    this.upsertGateway.run(
      info.gatewayId,
      info.clientId,
      info.domain,
      info.egressAddress,
      info.siteKey,
      info.lastHelloAt,
    );
  }

  /** The last known identity of a gateway. */
  gateway(gatewayId: string): GatewayInfo | undefined {
    const row = this.gatewayStmt.get(gatewayId) as Record<string, unknown> | undefined;
    return row ? toGatewayInfo(row) : undefined;
  }

  /** Other gateways seen at the same site (domain and egress address). */
  sitePeers(siteKey: string, exceptGatewayId: string): GatewayInfo[] {
    return (this.siteStmt.all(siteKey, exceptGatewayId) as Record<string, unknown>[]).map(toGatewayInfo);
  }

  /** Deletes records older than a time; returns how many. */
  prune(before: number): number {
    return Number(this.pruneStmt.run(before).changes);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function toGatewayInfo(row: Record<string, unknown>): GatewayInfo {
  return {
    gatewayId: String(row.gateway_id),
    clientId: String(row.client_id),
    domain: String(row.domain),
    egressAddress: row.egress_address === null ? null : String(row.egress_address),
    siteKey: String(row.site_key),
    lastHelloAt: Number(row.last_hello_at),
  };
}

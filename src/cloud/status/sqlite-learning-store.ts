import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';
import { WalCheckpointer } from '../../storage/wal-checkpointer.ts';
import type { Evidence } from '../learning/evidence.ts';
import type { StatusRecord } from '../learning/status-record.ts';
import type {
  EvidenceFold,
  GatewayInfo,
  LearningStore,
  NewRecord,
  PruneStep,
  Recorded,
  RetentionPolicy,
  SiteMember,
} from './learning-store.ts';

/** Gateways whose excess over the per-gateway cap one prune call looks at. */
const CAP_GATEWAYS_PER_CALL = 16;
/**
 * How long the log row of an exchange that changed no evidence (most keep-alives) may wait in
 * memory for the rows after it, ms: one commit then carries tens of rows, not one.
 */
const WRITE_BEHIND_MS = 100;
/** Rows waiting in memory past which they are written at once. */
const WRITE_BEHIND_MAX_ROWS = 2_000;
/**
 * Page cache of the log's connection, KiB: enough for the B-tree pages every gateway's next row
 * goes into (one leaf of the gateway/time index each) and the trees' inner pages, so an insert
 * reads no page from the file (SQLite's default is 2 MB).
 */
const PAGE_CACHE_KIB = 64 * 1024;
/** How often the write-ahead log is copied into the file, off the event loop (storage/wal-checkpointer.ts), ms. */
export const CHECKPOINT_EVERY_MS = 1000;
/**
 * The writer's own checkpoint threshold while the worker runs, pages (40 MB): the log restarts
 * from its beginning only when a writer finds it all copied, which a writer committing during
 * every worker checkpoint (a history import) never does; past this the writer checkpoints
 * itself, cheaply, as the worker copied most of it.
 */
const WRITER_CHECKPOINT_PAGES = 10_000;
/** SQLite's own threshold, pages: what the writer goes back to if the checkpoint worker fails. */
const AUTO_CHECKPOINT_PAGES = 1000;

interface RecordRow {
  id: number;
  time: number;
  gateway_id: string;
  client_id: string;
  connection_id: string;
  session_id: string | null;
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
  if (row.session_id !== null) record.sessionId = row.session_id;
  if (row.failure) record.failure = row.failure as NonNullable<StatusRecord['failure']>;
  return record;
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

/** An exchange folded and waiting to be written. */
interface PendingExchange {
  gatewayId: string;
  records: readonly StatusRecord[];
  evidence: Evidence;
  changed: boolean;
  /** Set when the caller waits for the write (the evidence changed). */
  done?: { resolve: (recorded: Recorded) => void; reject: (err: Error) => void };
}

/**
 * The learning store of a single cloud node, in SQLite via node:sqlite (no native module to
 * build; ":memory:" for tests). This node is the only writer, so each gateway's evidence and
 * each site's members are also kept in memory, and the log's row ids are numbered here: a
 * keep-alive costs one log insert, no read, and no commit of its own.
 *
 * Writes are grouped. An exchange that changed its gateway's evidence is written at the end of
 * its event-loop tick, with whatever waits, and its record() resolves once it is on file: advice
 * never rests on evidence that is not. An exchange that changed nothing (a keep-alive no longer
 * than what is known) resolves at once; its row waits in memory up to WRITE_BEHIND_MS for the
 * rows after it. A batch that cannot be written fails the next record() (the caller logs it and
 * that exchange goes unanswered), and the evidence is read again from the file.
 */
export class SqliteLearningStore implements LearningStore {
  private readonly db: DatabaseSync;
  private readonly insertStmt: StatementSync;
  private readonly recentStmt: StatementSync;
  private readonly evidenceStmt: StatementSync;
  private readonly saveEvidenceStmt: StatementSync;
  private readonly upsertGatewayStmt: StatementSync;
  private readonly gatewayStmt: StatementSync;
  private readonly siteStmt: StatementSync;
  private readonly pruneOldStmt: StatementSync;
  private readonly gatewaysAfterStmt: StatementSync;
  private readonly keepFromStmt: StatementSync;
  private readonly pruneGatewayStmt: StatementSync;
  private readonly evidenceCache = new Map<string, Evidence | null>();
  /** The gateways of each site asked for so far, kept as saveGateway changes them. */
  private readonly siteCache = new Map<string, Set<string>>();
  /** Exchanges folded but not yet written (flush). */
  private readonly pending: PendingExchange[] = [];
  private pendingRows = 0;
  /** The flush at the end of this tick (an exchange waits for it) or after WRITE_BEHIND_MS. */
  private flushSoon: NodeJS.Immediate | undefined;
  private flushLater: NodeJS.Timeout | undefined;
  /** Why the last write-behind batch failed, told to the next record(). */
  private writeError: Error | undefined;
  /** The id the next log row gets (AUTOINCREMENT's sequence, kept here as the only writer). */
  private nextId: number;
  /** Copies the write-ahead log into the file from a worker (none for ":memory:"). */
  private readonly checkpointer: WalCheckpointer | undefined;
  /** Where the per-gateway cap left off, so each prune call moves on through the gateways. */
  private capCursor = '';

  constructor(path: string, options: { checkpointEveryMs?: number } = {}) {
    this.db = openSharedDatabase(path);
    this.db.exec(`
      PRAGMA synchronous = NORMAL;
      PRAGMA cache_size = -${PAGE_CACHE_KIB};
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
      CREATE INDEX IF NOT EXISTS status_log_time ON status_log (time);
      CREATE TABLE IF NOT EXISTS gateways (
        gateway_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        egress_address TEXT,
        site_key TEXT NOT NULL,
        last_hello_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS gateways_site ON gateways (site_key);
      CREATE TABLE IF NOT EXISTS evidence (
        gateway_id TEXT PRIMARY KEY,
        evidence TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `);
    // Logs written before sessions were recorded lack the column.
    const columns = this.db.prepare('PRAGMA table_info(status_log)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'session_id'))
      this.db.exec('ALTER TABLE status_log ADD COLUMN session_id TEXT');
    // One death per session, however many hellos report it (issue 15 item 5); logs from before
    // the index lose their repeats once.
    const indexed = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'status_log_one_death'")
      .get();
    if (!indexed)
      this.db.exec(`
        DELETE FROM status_log WHERE status = 'NG' AND session_id IS NOT NULL AND id NOT IN (
          SELECT MIN(id) FROM status_log WHERE status = 'NG' AND session_id IS NOT NULL
          GROUP BY gateway_id, session_id);
        CREATE UNIQUE INDEX status_log_one_death ON status_log (gateway_id, session_id)
          WHERE status = 'NG' AND session_id IS NOT NULL;
      `);
    this.insertStmt = this.db.prepare(`INSERT INTO status_log
      (id, time, gateway_id, client_id, connection_id, session_id, role, data_type, status, idle_before_ms,
       connection_age_ms, failure, policy_limited)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (gateway_id, session_id) WHERE status = 'NG' AND session_id IS NOT NULL DO NOTHING`);
    this.recentStmt = this.db.prepare(`SELECT * FROM (
        SELECT * FROM status_log WHERE gateway_id = ? AND time >= ? ORDER BY time DESC, id DESC LIMIT ?
      ) ORDER BY time ASC, id ASC`);
    this.evidenceStmt = this.db.prepare('SELECT evidence FROM evidence WHERE gateway_id = ?');
    this.saveEvidenceStmt = this.db.prepare(`INSERT INTO evidence (gateway_id, evidence, updated_at)
      VALUES (?, ?, ?) ON CONFLICT (gateway_id) DO UPDATE SET evidence = excluded.evidence, updated_at = excluded.updated_at`);
    this.upsertGatewayStmt = this.db.prepare(`INSERT INTO gateways
      (gateway_id, client_id, domain, egress_address, site_key, last_hello_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (gateway_id) DO UPDATE SET client_id = excluded.client_id, domain = excluded.domain,
        egress_address = excluded.egress_address, site_key = excluded.site_key, last_hello_at = excluded.last_hello_at`);
    this.gatewayStmt = this.db.prepare('SELECT * FROM gateways WHERE gateway_id = ?');
    this.siteStmt = this.db.prepare('SELECT gateway_id FROM gateways WHERE site_key = ? ORDER BY gateway_id');
    this.pruneOldStmt = this.db.prepare(
      'DELETE FROM status_log WHERE id IN (SELECT id FROM status_log WHERE time < ? LIMIT ?)',
    );
    this.gatewaysAfterStmt = this.db.prepare(
      'SELECT DISTINCT gateway_id FROM status_log WHERE gateway_id > ? ORDER BY gateway_id LIMIT ?',
    );
    this.keepFromStmt = this.db.prepare(
      'SELECT time FROM status_log WHERE gateway_id = ? ORDER BY time DESC LIMIT 1 OFFSET ?',
    );
    this.pruneGatewayStmt = this.db.prepare(
      'DELETE FROM status_log WHERE id IN (SELECT id FROM status_log WHERE gateway_id = ? AND time <= ? LIMIT ?)',
    );
    this.nextId = this.lastId() + 1;
    if (path !== ':memory:') {
      // Commits no longer copy the log into the file themselves: the worker does, every second.
      this.db.exec(`PRAGMA wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
      this.checkpointer = new WalCheckpointer(path, options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS, () => {
        if (this.db.isOpen) this.db.exec(`PRAGMA wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      });
    }
  }

  /** Copies the write-ahead log into the file now, off the event loop (tests; the worker does it every second). */
  checkpoint(): Promise<{ log: number; checkpointed: number }> {
    if (!this.checkpointer) return Promise.resolve({ log: 0, checkpointed: 0 });
    this.flush();
    return this.checkpointer.checkpoint();
  }

  async record(gatewayId: string, records: readonly NewRecord[], fold: EvidenceFold): Promise<Recorded> {
    if (this.writeError) {
      const err = this.writeError;
      this.writeError = undefined;
      throw err;
    }
    // A death may be a repeat (its session's, already logged): only the insert can tell, so it
    // is written at once, after what waits. Every other row is new: folded and numbered now.
    if (records.some((r) => r.status === 'NG' && r.sessionId !== undefined)) {
      this.flush();
      return this.recordNow(gatewayId, records, fold);
    }
    const current = this.cachedEvidence(gatewayId);
    const stored = records.map((r) => ({ ...r, id: this.nextId++ }));
    const evidence = fold(current, stored);
    this.evidenceCache.set(gatewayId, evidence);
    const changed = evidence !== current;
    const entry: PendingExchange = { gatewayId, records: stored, evidence, changed };
    this.pending.push(entry);
    this.pendingRows += stored.length;
    if (!changed) {
      if (this.pendingRows >= WRITE_BEHIND_MAX_ROWS) this.flush();
      else this.flushLater ??= setTimeout(() => this.flush(), WRITE_BEHIND_MS).unref();
      return { records: stored, evidence, changed };
    }
    this.flushSoon ??= setImmediate(() => this.flush());
    return new Promise((resolve, reject) => {
      entry.done = { resolve, reject };
    });
  }

  /**
   * Writes the records and evidence of the waiting exchanges in one transaction (group commit:
   * a commit per keep-alive cost more CPU than the rest of the exchange). The write lock is held
   * only within this synchronous call, so the other stores' connections to the file never wait
   * on it across the event loop.
   */
  private flush(): void {
    clearImmediate(this.flushSoon);
    clearTimeout(this.flushLater);
    this.flushSoon = undefined;
    this.flushLater = undefined;
    const batch = this.pending.splice(0);
    this.pendingRows = 0;
    if (batch.length === 0) return;
    try {
      this.db.exec('BEGIN');
      const saved = new Map<string, { evidence: Evidence; at: number }>();
      for (const entry of batch) {
        for (const r of entry.records) this.insertRow(r, r.id);
        if (entry.changed)
          saved.set(entry.gatewayId, { evidence: entry.evidence, at: entry.records.at(-1)?.time ?? 0 });
      }
      for (const [gatewayId, { evidence, at }] of saved)
        this.saveEvidenceStmt.run(gatewayId, JSON.stringify(evidence), at);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      // The cache ran ahead of the file by this batch: read the evidence again from the file.
      this.evidenceCache.clear();
      this.nextId = this.lastId() + 1;
      const waited = batch.filter((entry) => entry.done);
      for (const entry of waited) entry.done?.reject(err as Error);
      if (waited.length < batch.length) this.writeError = err as Error;
      return;
    }
    for (const { records, evidence, changed, done } of batch)
      done?.resolve({ records: [...records], evidence, changed });
  }

  /** One exchange in its own transaction, its rows inserted before the fold. */
  private recordNow(gatewayId: string, records: readonly NewRecord[], fold: EvidenceFold): Recorded {
    const current = this.cachedEvidence(gatewayId);
    this.db.exec('BEGIN');
    try {
      const stored = records.flatMap((r) => this.insert(r) ?? []);
      const evidence = fold(current, stored);
      const changed = evidence !== current;
      if (changed) {
        this.saveEvidenceStmt.run(gatewayId, JSON.stringify(evidence), stored.at(-1)?.time ?? 0);
      }
      this.db.exec('COMMIT');
      this.evidenceCache.set(gatewayId, evidence);
      return { records: stored, evidence, changed };
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async evidence(gatewayId: string): Promise<Evidence | null> {
    return this.cachedEvidence(gatewayId);
  }

  async siteMembers(siteKey: string): Promise<SiteMember[]> {
    return [...this.membersOf(siteKey)].sort().map((gatewayId) => ({
      gatewayId,
      evidence: this.cachedEvidence(gatewayId),
    }));
  }

  async saveGateway(info: GatewayInfo): Promise<void> {
    const before = this.gatewayStmt.get(info.gatewayId) as { site_key: string } | undefined;
    if (before && before.site_key !== info.siteKey)
      this.siteCache.get(before.site_key)?.delete(info.gatewayId);
    this.siteCache.get(info.siteKey)?.add(info.gatewayId);
    this.upsertGatewayStmt.run(
      info.gatewayId,
      info.clientId,
      info.domain,
      info.egressAddress,
      info.siteKey,
      info.lastHelloAt,
    );
  }

  async gateway(gatewayId: string): Promise<GatewayInfo | undefined> {
    const row = this.gatewayStmt.get(gatewayId) as Record<string, unknown> | undefined;
    return row ? toGatewayInfo(row) : undefined;
  }

  async recent(gatewayId: string, since: number, limit: number): Promise<StatusRecord[]> {
    this.flush();
    return (this.recentStmt.all(gatewayId, since, limit) as unknown as RecordRow[]).map(toRecord);
  }

  async appendMany(records: readonly NewRecord[]): Promise<void> {
    this.flush();
    this.db.exec('BEGIN');
    try {
      for (const r of records) this.insert(r);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async prune(policy: RetentionPolicy): Promise<PruneStep> {
    this.flush();
    let deleted = 0;
    if (this.capCursor === '') {
      deleted = Number(this.pruneOldStmt.run(policy.before, policy.batch).changes);
      if (deleted === policy.batch) return { deleted, done: false };
    }
    // Then the per-gateway cap, a few gateways per call, resuming where the last call stopped.
    const gateways = this.gatewaysAfterStmt.all(this.capCursor, CAP_GATEWAYS_PER_CALL) as Array<{
      gateway_id: string;
    }>;
    for (const { gateway_id: id } of gateways) {
      const row = this.keepFromStmt.get(id, policy.maxPerGateway) as { time: number } | undefined;
      if (row) deleted += Number(this.pruneGatewayStmt.run(id, row.time, policy.batch - deleted).changes);
      if (deleted >= policy.batch) return { deleted, done: false };
      this.capCursor = id;
    }
    const done = gateways.length < CAP_GATEWAYS_PER_CALL;
    if (done) this.capCursor = '';
    return { deleted, done };
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    this.flush();
    if (this.db.isOpen) this.db.close();
  }

  /** Appends a row; undefined when it is a death already recorded (its session's). */
  private insert(r: NewRecord): StatusRecord | undefined {
    const id = this.nextId++;
    const result = this.insertRow(r, id);
    if (Number(result.changes) === 0) return undefined;
    return { ...r, id };
  }

  private insertRow(r: NewRecord, id: number): { changes: number | bigint } {
    return this.insertStmt.run(
      id,
      r.time,
      r.gatewayId,
      r.clientId,
      r.connectionId,
      r.sessionId ?? null,
      r.role,
      r.dataType,
      r.status,
      Math.round(r.idleBeforeMs),
      Math.round(r.connectionAgeMs),
      r.failure ?? null,
      r.policyLimited ? 1 : 0,
    );
  }

  /** The largest id the log ever gave a row (deleted ones included, as AUTOINCREMENT keeps it). */
  private lastId(): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'status_log'").get() as
      | { seq: number }
      | undefined;
    return row?.seq ?? 0;
  }

  /** A site's gateways: read once from the site index, then kept as hellos move gateways. */
  private membersOf(siteKey: string): Set<string> {
    let members = this.siteCache.get(siteKey);
    if (!members) {
      const rows = this.siteStmt.all(siteKey) as Array<{ gateway_id: string }>;
      members = new Set(rows.map((row) => row.gateway_id));
      this.siteCache.set(siteKey, members);
    }
    return members;
  }

  private cachedEvidence(gatewayId: string): Evidence | null {
    const cached = this.evidenceCache.get(gatewayId);
    if (cached !== undefined) return cached;
    const row = this.evidenceStmt.get(gatewayId) as { evidence: string } | undefined;
    const evidence = row ? (JSON.parse(row.evidence) as Evidence) : null;
    this.evidenceCache.set(gatewayId, evidence);
    return evidence;
  }
}

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
 * How long the log rows of a gateway whose exchanges changed no evidence (most keep-alives) may
 * wait in memory, ms. A gateway's rows go into its own leaf of the gateway/time index, so each row
 * written alone costs a page write and its checkpoint; a gateway keeping two lines alive every
 * 50 s has ~2.4 rows in a minute, written by one page write.
 */
export const WRITE_BEHIND_MS = 60_000;
/** Rows waiting in memory past which the longest-waiting gateways' are written at once (~150 B each). */
const WRITE_BEHIND_MAX_ROWS = 50_000;
/** How often the gateways whose rows waited WRITE_BEHIND_MS are written, ms. */
const WRITE_BEHIND_TICK_MS = 200;
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

/** An exchange that changed its gateway's evidence, written at the end of its tick. */
interface ChangedExchange {
  gatewayId: string;
  records: readonly NewRecord[];
  evidence: Evidence;
  done: { resolve: (recorded: Recorded) => void; reject: (err: Error) => void };
}

/** A gateway's log rows that changed nothing, waiting to be written together. */
interface WaitingRows {
  /** When the first of them came (Date.now()). */
  since: number;
  records: NewRecord[];
}

/**
 * Whether records report a line's death: it may be a repeat (its session's, already logged) and
 * only the insert can tell, so it is written at once, not behind.
 */
function holdsDeath(records: readonly NewRecord[]): boolean {
  return records.some((r) => r.status === 'NG' && r.sessionId !== undefined);
}

/**
 * The learning store of a single cloud node, in SQLite via node:sqlite (no native module to
 * build; ":memory:" for tests). This node is the only writer, so each gateway's evidence and
 * each site's members are also kept in memory, and the log's row ids are numbered here: a
 * keep-alive costs one log insert, no read, and no commit of its own.
 *
 * Writes are grouped. An exchange that changed its gateway's evidence is written at the end of
 * its event-loop tick, after that gateway's waiting rows, and its record() resolves once it is
 * on file: advice never rests on evidence that is not. An exchange that changed nothing (a
 * keep-alive no longer than what is known) resolves at once; its rows wait in memory with the
 * gateway's later ones up to WRITE_BEHIND_MS and are numbered when written, so the table stays
 * append-only and one index page write carries all of a gateway's rows. Every read of the log
 * writes what waits first. A batch that cannot be written fails the next record() (the caller
 * logs it and that exchange goes unanswered), and the evidence is read again from the file.
 */
export class SqliteLearningStore implements LearningStore {
  readonly soleWriter = true;
  private readonly db: DatabaseSync;
  private readonly insertStmt: StatementSync;
  private readonly recentStmt: StatementSync;
  private readonly evidenceStmt: StatementSync;
  private readonly saveEvidenceStmt: StatementSync;
  private readonly upsertGatewayStmt: StatementSync;
  private readonly gatewayStmt: StatementSync;
  private readonly siteStmt: StatementSync;
  private readonly headStmt: StatementSync;
  private readonly pruneOldStmt: StatementSync;
  private readonly gatewaysAfterStmt: StatementSync;
  private readonly keepFromStmt: StatementSync;
  private readonly pruneGatewayStmt: StatementSync;
  private readonly evidenceCache = new Map<string, Evidence | null>();
  /** The gateways of each site asked for so far, kept as saveGateway changes them. */
  private readonly siteCache = new Map<string, Set<string>>();
  /** Exchanges that changed evidence, written at the end of this tick (flushChanges). */
  private readonly changes: ChangedExchange[] = [];
  private flushSoon: NodeJS.Immediate | undefined;
  /** Rows that changed nothing, per gateway, the longest-waiting gateway first (Map order). */
  private readonly waiting = new Map<string, WaitingRows>();
  private waitingRows = 0;
  /** Writes the gateways whose rows waited long enough, while any wait. */
  private waitTicker: NodeJS.Timeout | undefined;
  private readonly writeBehindMs: number;
  /** Why the last write-behind batch failed, told to the next record(). */
  private writeError: Error | undefined;
  /** The id the next log row gets (AUTOINCREMENT's sequence, kept here as the only writer). */
  private nextId: number;
  /** Copies the write-ahead log into the file from a worker (none for ":memory:"). */
  private readonly checkpointer: WalCheckpointer | undefined;
  /** Where the per-gateway cap left off, so each prune call moves on through the gateways. */
  private capCursor = '';

  constructor(path: string, options: { checkpointEveryMs?: number; writeBehindMs?: number } = {}) {
    this.writeBehindMs = options.writeBehindMs ?? WRITE_BEHIND_MS;
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
      DROP INDEX IF EXISTS status_log_time;
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
    // The lowest `batch` rows: the first of them young enough, and the last of them.
    this.headStmt = this.db.prepare(`WITH head AS (SELECT id, time FROM status_log ORDER BY id LIMIT ?1)
      SELECT (SELECT id FROM head WHERE time >= ?2 ORDER BY id LIMIT 1) AS young, (SELECT MAX(id) FROM head) AS last`);
    this.pruneOldStmt = this.db.prepare('DELETE FROM status_log WHERE id < ?');
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
    // After the changes of this tick and the gateway's waiting rows.
    if (holdsDeath(records)) {
      this.flushChanges();
      return this.recordNow(gatewayId, records, fold);
    }
    const current = this.cachedEvidence(gatewayId);
    const evidence = fold(current, records);
    this.evidenceCache.set(gatewayId, evidence);
    if (evidence === current) {
      this.wait(gatewayId, records);
      return { records: [], evidence, changed: false };
    }
    this.flushSoon ??= setImmediate(() => this.flushChanges());
    return new Promise((resolve, reject) => {
      this.changes.push({ gatewayId, records, evidence, done: { resolve, reject } });
    });
  }

  recordUnchanged(
    gatewayId: string,
    records: readonly NewRecord[],
    fold: EvidenceFold,
  ): Recorded | undefined {
    // A pending write error, or a death (written at once): record() deals with them.
    if (this.writeError || holdsDeath(records)) return undefined;
    const current = this.cachedEvidence(gatewayId);
    const evidence = fold(current, records);
    if (evidence !== current) return undefined;
    this.wait(gatewayId, records);
    return { records: [], evidence, changed: false };
  }

  /** Keeps rows that changed nothing with the gateway's other waiting rows. */
  private wait(gatewayId: string, records: readonly NewRecord[]): void {
    const entry = this.waiting.get(gatewayId);
    if (entry) entry.records.push(...records);
    else this.waiting.set(gatewayId, { since: Date.now(), records: [...records] });
    this.waitingRows += records.length;
    if (this.waitingRows > WRITE_BEHIND_MAX_ROWS)
      this.writeWaiting(() => this.waitingRows > WRITE_BEHIND_MAX_ROWS / 2);
    else this.waitTicker ??= setInterval(() => this.writeDue(), WRITE_BEHIND_TICK_MS).unref();
  }

  /** Writes the gateways whose first waiting row came WRITE_BEHIND_MS ago or more. */
  private writeDue(): void {
    const due = Date.now() - this.writeBehindMs;
    this.writeWaiting((entry) => entry.since <= due);
  }

  /** Writes everything that waits: changed exchanges and waiting rows. */
  private flush(): void {
    this.flushChanges();
    this.writeWaiting(() => true);
  }

  /**
   * Writes the exchanges that changed evidence, each after its gateway's waiting rows, in one
   * transaction (group commit), and resolves their record() calls. The write lock is held only
   * within this synchronous call, so the other stores' connections never wait on it across the
   * event loop.
   */
  private flushChanges(): void {
    clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    const batch = this.changes.splice(0);
    if (batch.length === 0) return;
    const written: StatusRecord[][] = [];
    const saved = new Map<string, { evidence: Evidence; at: number }>();
    const taken: Array<[string, WaitingRows]> = [];
    try {
      this.db.exec('BEGIN');
      for (const entry of batch) {
        const before = this.waiting.get(entry.gatewayId);
        if (before) {
          this.waiting.delete(entry.gatewayId);
          this.waitingRows -= before.records.length;
          taken.push([entry.gatewayId, before]);
          for (const r of before.records) this.insertRow(r, this.nextId++);
        }
        written.push(entry.records.map((r) => this.inserted(r)));
        saved.set(entry.gatewayId, { evidence: entry.evidence, at: entry.records.at(-1)?.time ?? 0 });
      }
      for (const [gatewayId, { evidence, at }] of saved)
        this.saveEvidenceStmt.run(gatewayId, JSON.stringify(evidence), at);
      this.db.exec('COMMIT');
    } catch (err) {
      this.failed(err as Error, taken.length > 0);
      for (const entry of batch) entry.done.reject(err as Error);
      return;
    }
    for (const [i, entry] of batch.entries())
      entry.done.resolve({ records: written[i] ?? [], evidence: entry.evidence, changed: true });
  }

  /** Writes waiting rows, the longest-waiting gateway first, while `more` says so; one transaction. */
  private writeWaiting(more: (entry: WaitingRows) => boolean): void {
    let writing = false;
    try {
      for (const [gatewayId, entry] of this.waiting) {
        if (!more(entry)) break;
        if (!writing) {
          this.db.exec('BEGIN');
          writing = true;
        }
        this.waiting.delete(gatewayId);
        this.waitingRows -= entry.records.length;
        for (const r of entry.records) this.insertRow(r, this.nextId++);
      }
      if (writing) this.db.exec('COMMIT');
    } catch (err) {
      this.failed(err as Error, true);
    }
    if (this.waiting.size === 0) {
      clearInterval(this.waitTicker);
      this.waitTicker = undefined;
    }
  }

  /**
   * A batch could not be written: the cache ran ahead of the file, so the evidence is read again
   * from the file and numbering resumes from it; rows nobody waited for fail the next record().
   */
  private failed(err: Error, rowsLost: boolean): void {
    if (this.db.isTransaction) this.db.exec('ROLLBACK');
    this.evidenceCache.clear();
    this.nextId = this.lastId() + 1;
    if (rowsLost) this.writeError = err;
  }

  /** One exchange in its own transaction, after the gateway's waiting rows, its rows inserted before the fold. */
  private recordNow(gatewayId: string, records: readonly NewRecord[], fold: EvidenceFold): Recorded {
    const current = this.cachedEvidence(gatewayId);
    const before = this.waiting.get(gatewayId);
    this.waiting.delete(gatewayId);
    this.db.exec('BEGIN');
    try {
      for (const r of before?.records ?? []) this.insertRow(r, this.nextId++);
      const stored = records.flatMap((r) => this.insert(r) ?? []);
      const evidence = fold(current, stored);
      const changed = evidence !== current;
      if (changed) {
        this.saveEvidenceStmt.run(gatewayId, JSON.stringify(evidence), stored.at(-1)?.time ?? 0);
      }
      this.db.exec('COMMIT');
      this.evidenceCache.set(gatewayId, evidence);
      if (before) this.waitingRows -= before.records.length;
      return { records: stored, evidence, changed };
    } catch (err) {
      this.db.exec('ROLLBACK');
      this.nextId = this.lastId() + 1;
      if (before) this.waiting.set(gatewayId, before);
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

  /**
   * Rows are numbered as written, so age follows id: the age pass deletes from the lowest id up to
   * the first row young enough, looking at most a batch of rows ahead (no index on time to keep up
   * at every insert). A row dated before its neighbours (a death, dated when it happened) goes
   * when the rows before it have gone. Waiting rows are not written first: they are all young.
   */
  async prune(policy: RetentionPolicy): Promise<PruneStep> {
    let deleted = 0;
    if (this.capCursor === '') {
      const head = this.headStmt.get(policy.batch, policy.before) as {
        young: number | null;
        last: number | null;
      };
      if (head.last !== null) {
        const upTo = head.young ?? head.last + 1;
        deleted = Number(this.pruneOldStmt.run(upTo).changes);
        if (head.young === null) return { deleted, done: false };
      }
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

  /** Appends a row that cannot be a repeat (no death of a session) and returns it numbered. */
  private inserted(r: NewRecord): StatusRecord {
    const id = this.nextId++;
    this.insertRow(r, id);
    return { ...r, id };
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

import type { Pool } from 'pg';
import type { Evidence } from '../learning/evidence.ts';
import type { StatusRecord } from '../learning/status-record.ts';
import { inTransaction } from '../store/postgres-database.ts';
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
/** Optimistic folds a record() tries before it locks the gateway's evidence row instead. */
const OPTIMISTIC_FOLDS = 3;

const LOG_COLUMNS = `time, gateway_id, client_id, connection_id, session_id, role, data_type, status,
  idle_before_ms, connection_age_ms, failure, policy_limited`;
/** The log rows as twelve parallel arrays, so one statement inserts any number of them. */
const LOG_ROWS = `SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
  $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::boolean[])`;

function logColumns(records: readonly NewRecord[]): unknown[] {
  return [
    records.map((r) => r.time),
    records.map((r) => r.gatewayId),
    records.map((r) => r.clientId),
    records.map((r) => r.connectionId),
    records.map((r) => r.sessionId ?? null),
    records.map((r) => r.role),
    records.map((r) => r.dataType),
    records.map((r) => r.status),
    records.map((r) => Math.round(r.idleBeforeMs)),
    records.map((r) => Math.round(r.connectionAgeMs)),
    records.map((r) => r.failure ?? null),
    records.map((r) => r.policyLimited),
  ];
}

/** An exchange waiting for the next group commit. */
interface PendingRecord {
  gatewayId: string;
  records: readonly NewRecord[];
  fold: EvidenceFold;
  resolve: (recorded: Recorded) => void;
  reject: (err: Error) => void;
}

function toRecord(row: Record<string, unknown>): StatusRecord {
  const record: StatusRecord = {
    id: Number(row.id),
    time: Number(row.time),
    gatewayId: String(row.gateway_id),
    clientId: String(row.client_id),
    connectionId: String(row.connection_id),
    role: row.role as StatusRecord['role'],
    dataType: row.data_type as StatusRecord['dataType'],
    status: row.status as StatusRecord['status'],
    idleBeforeMs: Number(row.idle_before_ms),
    connectionAgeMs: Number(row.connection_age_ms),
    policyLimited: row.policy_limited === true,
  };
  if (row.session_id !== null) record.sessionId = String(row.session_id);
  if (row.failure) record.failure = row.failure as NonNullable<StatusRecord['failure']>;
  return record;
}

/**
 * The learning store of a fleet, in PostgreSQL: every node records the exchanges of the lines
 * it holds, and the two lines of one gateway may sit on two nodes. So nothing is cached, and
 * the evidence is written with an optimistic check: one statement appends the log rows and
 * reads the evidence with its version; the fold runs here; when it changed the evidence, an
 * update succeeds only on the version read, else the fold runs again on the newer evidence.
 * A fold that changed nothing writes nothing — it is as if it ran just before the other
 * node's, which is a valid order. The keep-alives that come while one batch is written go in
 * the next, one statement and one commit for all (group commit); a write of evidence follows
 * only when it moved. A gateway whose evidence keeps moving under the folds is folded under the
 * row's lock.
 * An evidence row may hold NULL (the lock's placeholder): no evidence yet.
 */
export class PostgresLearningStore implements LearningStore {
  readonly soleWriter = false;
  private readonly pool: Pool;
  /** Where the per-gateway cap left off, so each prune call moves on through the gateways. */
  private capCursor = '';
  /** Exchanges waiting for the next group commit (flush). */
  private readonly pending: PendingRecord[] = [];
  private flushing = false;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async record(gatewayId: string, records: readonly NewRecord[], fold: EvidenceFold): Promise<Recorded> {
    // A death may be a repeat (its session's): written on its own, where the insert tells.
    if (records.some((r) => r.status === 'NG' && r.sessionId !== undefined))
      return this.recordNow(gatewayId, records, fold);
    return new Promise((resolve, reject) => {
      this.pending.push({ gatewayId, records, fold, resolve, reject });
      if (this.pending.length === 1 && !this.flushing) setImmediate(() => void this.flush());
    });
  }

  /**
   * Group commit: the exchanges that came while the last batch was written (or in this tick)
   * go in one statement, one commit, instead of a round trip and a commit each; then each is
   * folded into its gateway's evidence as record() always did (a write only when it changed).
   */
  private async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    this.flushing = true;
    try {
      await this.writeBatch(batch);
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) setImmediate(() => void this.flush());
    }
  }

  private async writeBatch(batch: PendingRecord[]): Promise<void> {
    let rows: Record<string, unknown>[];
    try {
      ({ rows } = await this.pool.query(
        `WITH ins AS (INSERT INTO status_log (${LOG_COLUMNS}) ${LOG_ROWS} RETURNING *)
         SELECT ins.*, e.evidence AS current_evidence, e.version AS current_version
         FROM ins LEFT JOIN evidence e ON e.gateway_id = ins.gateway_id ORDER BY ins.id`,
        logColumns(batch.flatMap((entry) => entry.records)),
      ));
    } catch (err) {
      for (const entry of batch) entry.reject(err as Error);
      return;
    }
    // The rows come back in the order given: each exchange owns the next records.length of them.
    const byGateway = new Map<string, Array<{ entry: PendingRecord; rows: Record<string, unknown>[] }>>();
    let next = 0;
    for (const entry of batch) {
      const own = rows.slice(next, next + entry.records.length);
      next += entry.records.length;
      const list = byGateway.get(entry.gatewayId) ?? [];
      list.push({ entry, rows: own });
      byGateway.set(entry.gatewayId, list);
    }
    await Promise.all(
      [...byGateway.values()].map(async (exchanges) => {
        // One gateway's exchanges fold in order; after a write the next one reads the evidence anew.
        let known: { current: Evidence | null; version: number | null } | null = null;
        for (const { entry, rows: own } of exchanges) {
          try {
            const first = own[0];
            known ??= {
              current: (first?.current_evidence ?? null) as Evidence | null,
              version: (first?.current_version ?? null) as number | null,
            };
            const recorded = await this.foldInto(
              entry.gatewayId,
              own.map(toRecord),
              entry.fold,
              known.current,
              known.version,
            );
            if (recorded.changed) known = await this.readEvidence(entry.gatewayId);
            entry.resolve(recorded);
          } catch (err) {
            known = null;
            entry.reject(err as Error);
          }
        }
      }),
    );
  }

  /** One exchange on its own: its rows inserted (a repeated death is skipped), then folded. */
  private async recordNow(
    gatewayId: string,
    records: readonly NewRecord[],
    fold: EvidenceFold,
  ): Promise<Recorded> {
    const { rows } = await this.pool.query(
      `WITH ins AS (INSERT INTO status_log (${LOG_COLUMNS}) ${LOG_ROWS} ON CONFLICT DO NOTHING RETURNING *)
       SELECT ins.*, e.evidence AS current_evidence, e.version AS current_version
       FROM ins LEFT JOIN evidence e ON e.gateway_id = $13 ORDER BY ins.id`,
      [...logColumns(records), gatewayId],
    );
    const stored = rows.map(toRecord);
    // Every row was a death already recorded (another hello reported it): nothing to fold.
    if (stored.length === 0)
      return { records: [], evidence: fold(await this.evidence(gatewayId), []), changed: false };
    return this.foldInto(
      gatewayId,
      stored,
      fold,
      (rows[0]?.current_evidence ?? null) as Evidence | null,
      (rows[0]?.current_version ?? null) as number | null,
    );
  }

  /**
   * Folds stored rows into the gateway's evidence read at `version`: written only when it
   * changed, on that version; when another node wrote meanwhile, folded again on the newer.
   */
  private async foldInto(
    gatewayId: string,
    stored: StatusRecord[],
    fold: EvidenceFold,
    current: Evidence | null,
    version: number | null,
  ): Promise<Recorded> {
    for (let attempt = 0; attempt < OPTIMISTIC_FOLDS; attempt++) {
      const evidence = fold(current, stored);
      if (evidence === current) return { records: stored, evidence, changed: false };
      const at = stored.at(-1)?.time ?? 0;
      const written =
        version === null
          ? await this.pool.query(
              `INSERT INTO evidence (gateway_id, evidence, version, updated_at) VALUES ($1, $2, 1, $3)
               ON CONFLICT (gateway_id) DO NOTHING`,
              [gatewayId, JSON.stringify(evidence), at],
            )
          : await this.pool.query(
              `UPDATE evidence SET evidence = $2, version = version + 1, updated_at = $3
               WHERE gateway_id = $1 AND version = $4`,
              [gatewayId, JSON.stringify(evidence), at, version],
            );
      if ((written.rowCount ?? 0) > 0) return { records: stored, evidence, changed: true };
      ({ current, version } = await this.readEvidence(gatewayId));
    }
    return this.lockedFold(gatewayId, stored, fold);
  }

  private async readEvidence(
    gatewayId: string,
  ): Promise<{ current: Evidence | null; version: number | null }> {
    const fresh = await this.pool.query('SELECT evidence, version FROM evidence WHERE gateway_id = $1', [
      gatewayId,
    ]);
    return {
      current: (fresh.rows[0]?.evidence ?? null) as Evidence | null,
      version: (fresh.rows[0]?.version ?? null) as number | null,
    };
  }

  /** The fold under the row's lock, for a gateway whose evidence keeps moving under optimistic folds. */
  private lockedFold(gatewayId: string, stored: StatusRecord[], fold: EvidenceFold): Promise<Recorded> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO evidence (gateway_id, evidence, version, updated_at) VALUES ($1, NULL, 0, 0)
         ON CONFLICT (gateway_id) DO NOTHING`,
        [gatewayId],
      );
      const { rows } = await client.query('SELECT evidence FROM evidence WHERE gateway_id = $1 FOR UPDATE', [
        gatewayId,
      ]);
      const current = (rows[0]?.evidence ?? null) as Evidence | null;
      const evidence = fold(current, stored);
      if (evidence === current) return { records: stored, evidence, changed: false };
      await client.query(
        'UPDATE evidence SET evidence = $2, version = version + 1, updated_at = $3 WHERE gateway_id = $1',
        [gatewayId, JSON.stringify(evidence), stored.at(-1)?.time ?? 0],
      );
      return { records: stored, evidence, changed: true };
    });
  }

  async evidence(gatewayId: string): Promise<Evidence | null> {
    const { rows } = await this.pool.query('SELECT evidence FROM evidence WHERE gateway_id = $1', [
      gatewayId,
    ]);
    return (rows[0]?.evidence ?? null) as Evidence | null;
  }

  async siteMembers(siteKey: string): Promise<SiteMember[]> {
    const { rows } = await this.pool.query(
      `SELECT g.gateway_id, e.evidence FROM gateways g LEFT JOIN evidence e ON e.gateway_id = g.gateway_id
       WHERE g.site_key = $1 ORDER BY g.gateway_id`,
      [siteKey],
    );
    return rows.map((row) => ({
      gatewayId: String(row.gateway_id),
      evidence: (row.evidence ?? null) as Evidence | null,
    }));
  }

  async saveGateway(info: GatewayInfo): Promise<void> {
    await this.pool.query(
      `INSERT INTO gateways (gateway_id, client_id, domain, egress_address, site_key, last_hello_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (gateway_id) DO UPDATE SET client_id = excluded.client_id, domain = excluded.domain,
         egress_address = excluded.egress_address, site_key = excluded.site_key, last_hello_at = excluded.last_hello_at`,
      [info.gatewayId, info.clientId, info.domain, info.egressAddress, info.siteKey, info.lastHelloAt],
    );
  }

  async gateway(gatewayId: string): Promise<GatewayInfo | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM gateways WHERE gateway_id = $1', [gatewayId]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      gatewayId: String(row.gateway_id),
      clientId: String(row.client_id),
      domain: String(row.domain),
      egressAddress: row.egress_address === null ? null : String(row.egress_address),
      siteKey: String(row.site_key),
      lastHelloAt: Number(row.last_hello_at),
    };
  }

  async recent(gatewayId: string, since: number, limit: number): Promise<StatusRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM (
         SELECT * FROM status_log WHERE gateway_id = $1 AND time >= $2 ORDER BY time DESC, id DESC LIMIT $3
       ) r ORDER BY time, id`,
      [gatewayId, since, limit],
    );
    return rows.map(toRecord);
  }

  async appendMany(records: readonly NewRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.pool.query(
      `INSERT INTO status_log (${LOG_COLUMNS}) ${LOG_ROWS} ON CONFLICT DO NOTHING`,
      logColumns(records),
    );
  }

  async prune(policy: RetentionPolicy): Promise<PruneStep> {
    let deleted = 0;
    if (this.capCursor === '') {
      const old = await this.pool.query(
        'DELETE FROM status_log WHERE id IN (SELECT id FROM status_log WHERE time < $1 LIMIT $2)',
        [policy.before, policy.batch],
      );
      deleted = old.rowCount ?? 0;
      if (deleted === policy.batch) return { deleted, done: false };
    }
    // Then the per-gateway cap, a few gateways per call, resuming where the last call stopped.
    // The gateways come from the log's index, one skip at a time (PostgreSQL has no skip scan).
    const { rows: gateways } = await this.pool.query(
      `WITH RECURSIVE next AS (
         (SELECT gateway_id FROM status_log WHERE gateway_id > $1 ORDER BY gateway_id LIMIT 1)
         UNION ALL
         SELECT (SELECT s.gateway_id FROM status_log s WHERE s.gateway_id > next.gateway_id
                 ORDER BY s.gateway_id LIMIT 1)
         FROM next WHERE next.gateway_id IS NOT NULL
       ) SELECT gateway_id FROM next WHERE gateway_id IS NOT NULL LIMIT $2`,
      [this.capCursor, CAP_GATEWAYS_PER_CALL],
    );
    for (const { gateway_id: id } of gateways as Array<{ gateway_id: string }>) {
      const { rows } = await this.pool.query(
        'SELECT time FROM status_log WHERE gateway_id = $1 ORDER BY time DESC LIMIT 1 OFFSET $2',
        [id, policy.maxPerGateway],
      );
      if (rows[0]) {
        const capped = await this.pool.query(
          `DELETE FROM status_log WHERE id IN
             (SELECT id FROM status_log WHERE gateway_id = $1 AND time <= $2 LIMIT $3)`,
          [id, rows[0].time, policy.batch - deleted],
        );
        deleted += capped.rowCount ?? 0;
      }
      if (deleted >= policy.batch) return { deleted, done: false };
      this.capCursor = id;
    }
    const done = gateways.length < CAP_GATEWAYS_PER_CALL;
    if (done) this.capCursor = '';
    return { deleted, done };
  }

  /** Writes what waits; the pool belongs to the cloud store, which closes it. */
  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (this.flushing) await new Promise((resolve) => setImmediate(resolve));
      else await this.flush();
    }
  }
}

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';
import {
  type Job,
  type JobChanges,
  type JobRow,
  type JobState,
  type JobStore,
  jobChangeColumns,
  type NewJob,
  toJob,
} from './job-store.ts';

/** Jobs in the node's SQLite file (node:sqlite): every accepted job survives a restart. */
export class SqliteJobStore implements JobStore {
  private readonly db: DatabaseSync;
  /** Each query prepared once (a line coming up reads its gateway's jobs: 20,000 in a reconnect storm). */
  private readonly queries = new Map<string, StatementSync>();

  constructor(path: string) {
    this.db = openSharedDatabase(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        gateway_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        priority INTEGER NOT NULL,
        idempotency_key TEXT UNIQUE,
        request_fingerprint TEXT,
        name TEXT,
        format TEXT,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL,
        bytes_tunnel INTEGER NOT NULL DEFAULT 0,
        bytes_direct INTEGER NOT NULL DEFAULT 0,
        route TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        direct_token_hash TEXT,
        pages INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, gateway_id);
      CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at);
    `);
    // Added with the fleet (docs/fleet.md); files of earlier versions lack it.
    const columns = this.db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'node')) this.db.exec('ALTER TABLE jobs ADD COLUMN node TEXT');
    // Added with scoped idempotency keys (issue 13.4).
    if (!columns.some((c) => c.name === 'request_fingerprint'))
      this.db.exec('ALTER TABLE jobs ADD COLUMN request_fingerprint TEXT');
  }

  private rows(sql: string, ...params: (string | number | null)[]): Job[] {
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.queries.set(sql, statement);
    }
    return (statement.all(...params) as unknown as JobRow[]).map(toJob);
  }

  async insert(job: NewJob): Promise<Job> {
    this.db
      .prepare(
        `INSERT INTO jobs (id, type, gateway_id, device_id, priority, idempotency_key, request_fingerprint, name, format, size, sha256,
           state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(
        job.id,
        job.type,
        job.gatewayId,
        job.deviceId,
        job.priority,
        job.idempotencyKey,
        job.requestFingerprint ?? null,
        job.name,
        job.format,
        job.size,
        job.sha256,
        job.createdAt,
        job.createdAt,
      );
    return this.rows('SELECT * FROM jobs WHERE id = ?', job.id)[0] as Job;
  }

  async get(id: string): Promise<Job | undefined> {
    return this.rows('SELECT * FROM jobs WHERE id = ?', id)[0];
  }

  async byIdempotencyKey(key: string): Promise<Job | undefined> {
    return this.rows('SELECT * FROM jobs WHERE idempotency_key = ?', key)[0];
  }

  async list(filter: { gatewayId?: string; state?: JobState; limit: number }): Promise<Job[]> {
    return this.rows(
      `SELECT * FROM jobs WHERE (?1 IS NULL OR gateway_id = ?1) AND (?2 IS NULL OR state = ?2)
       ORDER BY created_at DESC, id DESC LIMIT ?3`,
      filter.gatewayId ?? null,
      filter.state ?? null,
      filter.limit,
    );
  }

  async queued(gatewayId: string): Promise<Job[]> {
    return this.rows(
      `SELECT * FROM jobs WHERE state = 'queued' AND gateway_id = ? ORDER BY priority DESC, created_at, id`,
      gatewayId,
    );
  }

  async unfinished(): Promise<Job[]> {
    return this.rows(`SELECT * FROM jobs WHERE state NOT IN ('done', 'failed') ORDER BY created_at, id`);
  }

  async update(id: string, changes: JobChanges, now: number): Promise<Job> {
    const { sets, values } = jobChangeColumns(changes);
    return this.rows(
      `UPDATE jobs SET ${['updated_at = ?', ...sets.map((c) => `${c} = ?`)].join(', ')} WHERE id = ? RETURNING *`,
      now,
      ...values,
      id,
    )[0] as Job;
  }

  async claim(id: string, node: string, now: number): Promise<Job | undefined> {
    return this.rows(
      `UPDATE jobs SET state = 'via-tunnel', node = ?, updated_at = ? WHERE id = ? AND state = 'queued' RETURNING *`,
      node,
      now,
      id,
    )[0];
  }

  async requeue(
    nodes: { of: readonly string[] } | { allBut: readonly string[] },
    now: number,
  ): Promise<Job[]> {
    const match = 'of' in nodes ? 'IN' : 'NOT IN';
    return this.rows(
      `UPDATE jobs SET state = 'queued', node = NULL, direct_token_hash = NULL, updated_at = ?
       WHERE state IN ('via-tunnel', 'switching')
         AND ((node IS NULL AND state = 'via-tunnel') OR node ${match} (SELECT value FROM json_each(?)))
       RETURNING *`,
      now,
      JSON.stringify('of' in nodes ? nodes.of : nodes.allBut),
    );
  }

  async prune(before: number): Promise<string[]> {
    return (
      this.db
        .prepare(`DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ? RETURNING id`)
        .all(before) as { id: string }[]
    ).map((r) => r.id);
  }

  close(): void {
    this.db.close();
  }
}

import type { Pool } from 'pg';
import {
  type Job,
  type JobChanges,
  type JobState,
  type JobStore,
  jobChangeColumns,
  type NewJob,
  toJob,
} from './job-store.ts';

/** Jobs in the fleet's PostgreSQL database: any node reads and advances any job. */
export class PostgresJobStore implements JobStore {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async insert(job: NewJob): Promise<Job> {
    const { rows } = await this.pool.query(
      `INSERT INTO jobs (id, type, gateway_id, device_id, priority, idempotency_key, request_fingerprint, name, format, size, sha256,
         state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', $12, $12) RETURNING *`,
      [
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
      ],
    );
    return toJob(rows[0]);
  }

  async get(id: string): Promise<Job | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async byIdempotencyKey(key: string): Promise<Job | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM jobs WHERE idempotency_key = $1', [key]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async list(filter: { gatewayId?: string; state?: JobState; limit: number }): Promise<Job[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM jobs WHERE ($1::text IS NULL OR gateway_id = $1) AND ($2::text IS NULL OR state = $2)
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [filter.gatewayId ?? null, filter.state ?? null, filter.limit],
    );
    return rows.map(toJob);
  }

  async queued(gatewayId: string): Promise<Job[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM jobs WHERE state = 'queued' AND gateway_id = $1 ORDER BY priority DESC, created_at, id`,
      [gatewayId],
    );
    return rows.map(toJob);
  }

  async unfinished(): Promise<Job[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM jobs WHERE state NOT IN ('done', 'failed') ORDER BY created_at, id`,
    );
    return rows.map(toJob);
  }

  async update(id: string, changes: JobChanges, now: number): Promise<Job> {
    const { sets, values } = jobChangeColumns(changes);
    const assignments = ['updated_at = $2', ...sets.map((c, i) => `${c} = $${i + 3}`)];
    const { rows } = await this.pool.query(
      `UPDATE jobs SET ${assignments.join(', ')} WHERE id = $1 RETURNING *`,
      [id, now, ...values],
    );
    return toJob(rows[0]);
  }

  async claim(id: string, node: string, now: number): Promise<Job | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE jobs SET state = 'via-tunnel', node = $2, updated_at = $3 WHERE id = $1 AND state = 'queued' RETURNING *`,
      [id, node, now],
    );
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async requeue(
    nodes: { of: readonly string[] } | { allBut: readonly string[] },
    now: number,
  ): Promise<Job[]> {
    const match = 'of' in nodes ? 'node = ANY($1::text[])' : 'NOT (node = ANY($1::text[]))';
    const { rows } = await this.pool.query(
      `UPDATE jobs SET state = 'queued', node = NULL, direct_token_hash = NULL, updated_at = $2
       WHERE state IN ('via-tunnel', 'switching') AND ((node IS NULL AND state = 'via-tunnel') OR ${match})
       RETURNING *`,
      ['of' in nodes ? nodes.of : nodes.allBut, now],
    );
    return rows.map(toJob);
  }

  async prune(before: number): Promise<string[]> {
    const { rows } = await this.pool.query(
      `DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < $1 RETURNING id`,
      [before],
    );
    return rows.map((r: { id: string }) => r.id);
  }
}

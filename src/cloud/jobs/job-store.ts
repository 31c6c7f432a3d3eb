import type { DatabaseSync } from 'node:sqlite';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';

export type JobType = 'print' | 'storage';
export type JobState = 'queued' | 'via-tunnel' | 'switching' | 'via-direct' | 'done' | 'failed';

/** One leg of a job's journey. */
export interface RouteEntry {
  route: 'tunnel' | 'direct';
  /** When the leg began (ms since epoch). */
  at: number;
  /** Document offset the leg started at. */
  offset: number;
  /** The push line that carried a tunnel leg. */
  line?: string;
}

/** A job as the cloud keeps it. */
export interface Job {
  id: string;
  type: JobType;
  gatewayId: string;
  deviceId: string;
  priority: number;
  idempotencyKey: string | null;
  name: string | null;
  format: string | null;
  size: number;
  sha256: string;
  state: JobState;
  /** Document bytes the device got through the tunnel and through its direct connection. */
  bytesTunnel: number;
  bytesDirect: number;
  route: RouteEntry[];
  error: string | null;
  /** sha256 of the one-time token of a switched job's direct connection. */
  directTokenHash: string | null;
  pages: number | null;
  createdAt: number;
  updatedAt: number;
}

interface JobRow {
  id: string;
  type: string;
  gateway_id: string;
  device_id: string;
  priority: number;
  idempotency_key: string | null;
  name: string | null;
  format: string | null;
  size: number;
  sha256: string;
  state: string;
  bytes_tunnel: number;
  bytes_direct: number;
  route: string;
  error: string | null;
  direct_token_hash: string | null;
  pages: number | null;
  created_at: number;
  updated_at: number;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type as JobType,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    priority: row.priority,
    idempotencyKey: row.idempotency_key,
    name: row.name,
    format: row.format,
    size: row.size,
    sha256: row.sha256,
    state: row.state as JobState,
    bytesTunnel: row.bytes_tunnel,
    bytesDirect: row.bytes_direct,
    route: JSON.parse(row.route) as RouteEntry[],
    error: row.error,
    directTokenHash: row.direct_token_hash,
    pages: row.pages,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type NewJob = Omit<
  Job,
  'state' | 'bytesTunnel' | 'bytesDirect' | 'route' | 'error' | 'directTokenHash' | 'pages' | 'updatedAt'
>;

/** Jobs in SQLite (node:sqlite): every accepted job survives a restart until it is done or failed. */
export class JobStore {
  private readonly db: DatabaseSync;

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
  }

  insert(job: NewJob): Job {
    this.db
      .prepare(
        `INSERT INTO jobs (id, type, gateway_id, device_id, priority, idempotency_key, name, format, size, sha256,
           state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(
        job.id,
        job.type,
        job.gatewayId,
        job.deviceId,
        job.priority,
        job.idempotencyKey,
        job.name,
        job.format,
        job.size,
        job.sha256,
        job.createdAt,
        job.createdAt,
      );
    return this.get(job.id) as Job;
  }

  get(id: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  byIdempotencyKey(key: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?').get(key) as
      | JobRow
      | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Newest first, optionally of one gateway or state. */
  list(filter: { gatewayId?: string; state?: JobState; limit: number }): Job[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM jobs WHERE (?1 IS NULL OR gateway_id = ?1) AND (?2 IS NULL OR state = ?2)
         ORDER BY created_at DESC, id DESC LIMIT ?3`,
      )
      .all(filter.gatewayId ?? null, filter.state ?? null, filter.limit) as unknown as JobRow[];
    return rows.map(toJob);
  }

  /** A gateway's queued jobs in the order they should start: highest priority, then oldest. */
  queued(gatewayId: string): Job[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM jobs WHERE state = 'queued' AND gateway_id = ?
         ORDER BY priority DESC, created_at, id`,
      )
      .all(gatewayId) as unknown as JobRow[];
    return rows.map(toJob);
  }

  /** Jobs not yet done or failed, oldest first. */
  unfinished(): Job[] {
    const rows = this.db
      .prepare(`SELECT * FROM jobs WHERE state NOT IN ('done', 'failed') ORDER BY created_at, id`)
      .all() as unknown as JobRow[];
    return rows.map(toJob);
  }

  /** Applies changes to a job and stamps it; returns the job as stored. */
  update(id: string, changes: Partial<Omit<Job, 'id' | 'createdAt'>>, now: number): Job {
    const columns: Record<string, string> = {
      state: 'state',
      bytesTunnel: 'bytes_tunnel',
      bytesDirect: 'bytes_direct',
      route: 'route',
      error: 'error',
      directTokenHash: 'direct_token_hash',
      pages: 'pages',
    };
    const sets: string[] = ['updated_at = ?'];
    const values: (string | number | null)[] = [now];
    for (const [key, value] of Object.entries(changes)) {
      const column = columns[key];
      if (!column) continue;
      sets.push(`${column} = ?`);
      values.push(key === 'route' ? JSON.stringify(value) : (value as string | number | null));
    }
    this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return this.get(id) as Job;
  }

  /** Forgets finished jobs last updated before `before`; returns their ids. */
  prune(before: number): string[] {
    const rows = this.db
      .prepare(`SELECT id FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ?`)
      .all(before) as { id: string }[];
    this.db.prepare(`DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ?`).run(before);
    return rows.map((r) => r.id);
  }

  close(): void {
    this.db.close();
  }
}

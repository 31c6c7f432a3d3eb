import { createHash } from 'node:crypto';

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
  /** The stored form: scoped to the API client and the gateway (scopedIdempotencyKey). */
  idempotencyKey: string | null;
  /** What the job was asked with (requestFingerprint): a repeated key must ask the same. */
  requestFingerprint: string | null;
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
  /** The cloud node whose tunnel carries the job now (via-tunnel), else null. */
  node: string | null;
  pages: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A jobs row as either database returns it. */
export interface JobRow {
  id: string;
  type: string;
  gateway_id: string;
  device_id: string;
  priority: number;
  idempotency_key: string | null;
  request_fingerprint: string | null;
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
  node: string | null;
  pages: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * An idempotency key as stored: the client's key scoped to the API client that sent it and
 * the gateway it is for (issue 13.4), so one client's key never answers another's request.
 * Header values cannot hold a newline, so the parts cannot run into each other.
 */
export function scopedIdempotencyKey(client: string, gatewayId: string, key: string): string {
  return `${client}\n${gatewayId}\n${key}`;
}

/** The client's own key of a stored one (keys stored before scoping are their own). */
export function clientIdempotencyKey(stored: string | null): string | null {
  if (stored === null) return null;
  const parts = stored.split('\n');
  return parts.length >= 3 ? parts.slice(2).join('\n') : stored;
}

/** What identifies a job request: a repeat of its idempotency key must match it. */
export function requestFingerprint(
  request: Pick<Job, 'type' | 'gatewayId' | 'deviceId' | 'priority' | 'name' | 'format' | 'size' | 'sha256'>,
): string {
  const { type, gatewayId, deviceId, priority, name, format, size, sha256 } = request;
  return createHash('sha256')
    .update(JSON.stringify([type, gatewayId, deviceId, priority, name, format, size, sha256]))
    .digest('hex');
}

/** A jobs row as a Job. */
export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type as JobType,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    priority: row.priority,
    idempotencyKey: row.idempotency_key,
    requestFingerprint: row.request_fingerprint ?? null,
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
    node: row.node,
    pages: row.pages,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type NewJob = Omit<
  Job,
  | 'state'
  | 'bytesTunnel'
  | 'bytesDirect'
  | 'route'
  | 'error'
  | 'directTokenHash'
  | 'node'
  | 'pages'
  | 'updatedAt'
>;

/** What an update may change. */
export type JobChanges = Partial<Omit<Job, 'id' | 'createdAt'>>;

const CHANGE_COLUMNS: Partial<Record<keyof JobChanges, string>> = {
  state: 'state',
  bytesTunnel: 'bytes_tunnel',
  bytesDirect: 'bytes_direct',
  route: 'route',
  error: 'error',
  directTokenHash: 'direct_token_hash',
  node: 'node',
  pages: 'pages',
};

/** The columns and values of an update, in the same order (for either database). */
export function jobChangeColumns(changes: JobChanges): {
  sets: string[];
  values: (string | number | null)[];
} {
  const sets: string[] = [];
  const values: (string | number | null)[] = [];
  for (const [key, value] of Object.entries(changes)) {
    const column = CHANGE_COLUMNS[key as keyof JobChanges];
    if (!column || value === undefined) continue;
    sets.push(column);
    values.push(key === 'route' ? JSON.stringify(value) : (value as string | number | null));
  }
  return { sets, values };
}

/**
 * Accepted jobs, kept until done or failed: every accepted job survives a restart (and, on
 * PostgreSQL, the node that accepted it).
 */
export interface JobStore {
  insert(job: NewJob): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  byIdempotencyKey(key: string): Promise<Job | undefined>;
  /** Newest first, optionally of one gateway or state. */
  list(filter: { gatewayId?: string; state?: JobState; limit: number }): Promise<Job[]>;
  /** A gateway's queued jobs in the order they should start: highest priority, then oldest. */
  queued(gatewayId: string): Promise<Job[]>;
  /** Jobs not yet done or failed, oldest first. */
  unfinished(): Promise<Job[]>;
  /** Applies changes to a job and stamps it; returns the job as stored. */
  update(id: string, changes: JobChanges, now: number): Promise<Job>;
  /** Takes a queued job onto a node's tunnel; undefined when it is no longer queued (another took it). */
  claim(id: string, node: string, now: number): Promise<Job | undefined>;
  /**
   * Puts back in the queue the jobs on tunnels (or in a switch not yet interrupted, whose
   * token it voids) of the given nodes, or of every node but the given ones; returns them.
   * A job on a tunnel with no node (from before fleets) counts as orphaned; a switching job
   * with no node does not: its tunnel closed with the switch, and its device is taking the rest
   * over its own connection with the token this would void.
   */
  requeue(nodes: { of: readonly string[] } | { allBut: readonly string[] }, now: number): Promise<Job[]>;
  /** Forgets finished jobs last updated before `before`; returns their ids. */
  prune(before: number): Promise<string[]>;
}

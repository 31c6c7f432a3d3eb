/**
 * The fleet's shared tables in PostgreSQL (docs/fleet.md). Idempotent: every node runs it at
 * start. Times are milliseconds since the epoch. Ids compare bytewise (COLLATE "C"), as in
 * SQLite, so pages come in the same order from either store.
 */
export const POSTGRES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS registered_gateways (
    id TEXT COLLATE "C" PRIMARY KEY,
    token_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false,
    max_tunnels INTEGER NOT NULL,
    cpu_threshold DOUBLE PRECISION,
    line_threshold DOUBLE PRECISION,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    idempotency_key TEXT UNIQUE,
    name TEXT,
    format TEXT,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    bytes_tunnel BIGINT NOT NULL DEFAULT 0,
    bytes_direct BIGINT NOT NULL DEFAULT 0,
    route TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    direct_token_hash TEXT,
    node TEXT,
    pages INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, gateway_id);
  CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at);

  -- A job's document in pieces, so any node streams it from any offset.
  CREATE TABLE IF NOT EXISTS job_documents (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    stored_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, seq)
  );

  CREATE TABLE IF NOT EXISTS devices (
    gateway_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    report TEXT NOT NULL,
    override TEXT,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (gateway_id, device_id)
  );
`;

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
    request_fingerprint TEXT,
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
  -- Added with scoped idempotency keys (issue 13.4); databases of earlier versions lack it.
  ALTER TABLE jobs ADD COLUMN IF NOT EXISTS request_fingerprint TEXT;
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

  -- The communication status log (seed 000), the gateways' sites, and each gateway's evidence.
  CREATE TABLE IF NOT EXISTS status_log (
    id BIGSERIAL PRIMARY KEY,
    time BIGINT NOT NULL,
    gateway_id TEXT COLLATE "C" NOT NULL,
    client_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    session_id TEXT,
    role TEXT NOT NULL,
    data_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('OK', 'NG')),
    idle_before_ms BIGINT NOT NULL,
    connection_age_ms BIGINT NOT NULL,
    failure TEXT,
    policy_limited BOOLEAN NOT NULL DEFAULT false
  );
  CREATE INDEX IF NOT EXISTS status_log_gateway_time ON status_log (gateway_id, time);
  CREATE INDEX IF NOT EXISTS status_log_time ON status_log (time);
  -- One death per session, however many hellos report it (issue 15 item 5); logs from before
  -- the index lose their repeats once.
  DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'status_log_one_death') THEN
      DELETE FROM status_log a USING status_log b
        WHERE a.status = 'NG' AND b.status = 'NG' AND a.session_id = b.session_id
          AND a.gateway_id = b.gateway_id AND a.id > b.id;
      CREATE UNIQUE INDEX status_log_one_death ON status_log (gateway_id, session_id)
        WHERE status = 'NG' AND session_id IS NOT NULL;
    END IF;
  END $$;
  CREATE TABLE IF NOT EXISTS gateways (
    gateway_id TEXT COLLATE "C" PRIMARY KEY,
    client_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    egress_address TEXT,
    site_key TEXT NOT NULL,
    last_hello_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS gateways_site ON gateways (site_key);
  CREATE TABLE IF NOT EXISTS evidence (
    gateway_id TEXT PRIMARY KEY,
    evidence JSONB,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
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

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
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
`;

import type { Pool, PoolClient } from 'pg';
import { onDemand } from '../../runtime/on-demand.ts';
import { POSTGRES_SCHEMA } from './postgres-schema.ts';

/** PostgreSQL's type id of BIGINT (int8), which pg returns as a string unless told otherwise. */
const INT8_OID = 20;
/** Key of the advisory lock that makes nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6d6670; // "mfp"

/**
 * Connects a pool to the fleet's shared PostgreSQL database and brings its schema up to
 * date. Times are stored as BIGINT milliseconds and read back as numbers (they stay below
 * 2^53). Several nodes may start at once: the DDL runs under a transaction-scoped advisory
 * lock, so they do not race on CREATE TABLE.
 */
export async function openPostgres(url: string, maxConnections: number): Promise<Pool> {
  const pg = onDemand('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server (a restart, a failover) must not crash the node; the
  // pool drops it and the next query opens a new connection.
  pool.on('error', () => {});
  try {
    await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(POSTGRES_SCHEMA);
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

/** Runs fn in one transaction on one pooled connection; rolls back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

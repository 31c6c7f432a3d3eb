import { afterAll } from 'vitest';
import type { StoreSettings } from '../../src/cloud/store/cloud-store.ts';
import { type PostgresHandle, startPostgres } from './postgres.ts';

/**
 * The two backends of the cloud's shared state, for contract tests that run the same cases
 * against each: SQLite in memory, and a fresh database on a throwaway PostgreSQL cluster
 * started once per test file (only when a PostgreSQL case runs).
 */
export function storeBackends(): { name: 'sqlite' | 'postgres'; fresh: () => Promise<StoreSettings> }[] {
  let starting: Promise<PostgresHandle> | undefined;
  afterAll(async () => {
    await (await starting)?.dispose();
  });
  return [
    { name: 'sqlite', fresh: async () => ({ path: ':memory:', maxConnections: 1 }) },
    {
      name: 'postgres',
      fresh: async () => {
        starting ??= startPostgres();
        const url = await (await starting).createDatabase();
        return { path: ':memory:', url, maxConnections: 2 };
      },
    },
  ];
}

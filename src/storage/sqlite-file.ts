import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** SQLite's page cache for each of the gateway's connections, KiB (SQLite's default is 2000). */
export const GATEWAY_PAGE_CACHE_KIB = 256;

/**
 * Bounds a connection's page cache. The default 2 MB fills, in the daemon's private malloc
 * heap, as a journal grows; pages past the bound are read again from the kernel's file
 * cache, which is shared and reclaimable (docs/memory.md).
 */
export function boundPageCache(db: DatabaseSync, kib = GATEWAY_PAGE_CACHE_KIB): void {
  db.exec(`PRAGMA cache_size = -${kib}`);
}

/**
 * Opens (creating its directory) an SQLite database shared by several stores of one
 * process: WAL so readers never block the writer, and a busy timeout so two connections
 * to the same file wait for each other instead of failing. ":memory:" works for tests.
 */
export function openSharedDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
  return db;
}

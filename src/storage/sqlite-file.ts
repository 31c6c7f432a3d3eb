import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

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

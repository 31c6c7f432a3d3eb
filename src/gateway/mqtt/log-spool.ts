import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { boundPageCache } from '../../storage/sqlite-file.ts';

/** One spooled log record: its durable sequence number and its JSON body. */
export interface SpooledRecord {
  seq: number;
  at: number;
  body: string;
}

/**
 * A durable, bounded queue of log records on the SD card (SQLite, synchronous writes), so a
 * broker outage or a restart loses nothing that was appended. Records leave the spool only when
 * the broker acknowledged the batch carrying them; past `maxRecords` the oldest are dropped and
 * counted, so a months-long outage cannot fill the card.
 */
export class LogSpool {
  private readonly db: DatabaseSync;
  private readonly maxRecords: number;
  private droppedCount = 0;

  constructor(file: string, maxRecords: number) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    boundPageCache(this.db);
    this.maxRecords = maxRecords;
    const row = this.db.prepare(`SELECT value FROM counters WHERE name = 'dropped'`).get() as
      | { value: number }
      | undefined;
    this.droppedCount = row?.value ?? 0;
  }

  /** Appends a record; returns its sequence number. */
  append(at: number, record: unknown): number {
    const result = this.db
      .prepare('INSERT INTO records (at, body) VALUES (?, ?)')
      .run(at, JSON.stringify(record));
    const excess = this.size() - this.maxRecords;
    if (excess > 0) {
      this.db
        .prepare('DELETE FROM records WHERE seq IN (SELECT seq FROM records ORDER BY seq LIMIT ?)')
        .run(excess);
      this.droppedCount += excess;
      this.db
        .prepare(
          `INSERT INTO counters (name, value) VALUES ('dropped', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`,
        )
        .run(this.droppedCount);
    }
    return Number(result.lastInsertRowid);
  }

  /** The oldest records with a sequence number above `after`, at most `limit`. */
  oldest(after: number, limit: number): SpooledRecord[] {
    return this.db
      .prepare('SELECT seq, at, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(after, limit) as unknown as SpooledRecord[];
  }

  /** Removes records first..last (a batch the broker acknowledged). */
  remove(first: number, last: number): void {
    this.db.prepare('DELETE FROM records WHERE seq BETWEEN ? AND ?').run(first, last);
  }

  /** Records waiting. */
  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n;
  }

  /** Records dropped over the bound, ever. */
  get dropped(): number {
    return this.droppedCount;
  }

  close(): void {
    this.db.close();
  }
}

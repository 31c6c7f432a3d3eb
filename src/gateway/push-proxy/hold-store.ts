import type { DatabaseSync } from 'node:sqlite';
import { boundPageCache, openSharedDatabase } from '../../storage/sqlite-file.ts';
import type { HeldPush, HoldStore } from './hold-queue.ts';

interface Row {
  push_id: string;
  device_id: string;
  data_type: string;
  payload: string;
  held_at: number;
  expires_at: number;
  bytes: number;
  seq: number;
}

/**
 * Held pushes in SQLite under the gateway's stateDir. synchronous = FULL: a push the cloud
 * was told is held must survive a power cut, and pushes are few, so the fsync is cheap.
 */
export class SqliteHoldStore implements HoldStore {
  private readonly db: DatabaseSync;
  private readonly insertStmt;
  private readonly deleteStmt;

  constructor(file: string) {
    // Shared with the device states (device-state-store.ts): push-proxy.db.
    this.db = openSharedDatabase(file);
    boundPageCache(this.db);
    this.db.exec(`
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS held_pushes (
        push_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        data_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        held_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        seq INTEGER NOT NULL
      );
    `);
    this.insertStmt = this.db.prepare(`INSERT OR IGNORE INTO held_pushes
      (push_id, device_id, data_type, payload, held_at, expires_at, bytes, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.deleteStmt = this.db.prepare('DELETE FROM held_pushes WHERE push_id = ?');
  }

  load(): HeldPush[] {
    const rows = this.db.prepare('SELECT * FROM held_pushes ORDER BY seq').all() as unknown as Row[];
    return rows.map((r) => ({
      pushId: r.push_id,
      deviceId: r.device_id,
      dataType: r.data_type,
      payload: JSON.parse(r.payload) as unknown,
      heldAt: r.held_at,
      expiresAt: r.expires_at,
      bytes: r.bytes,
      seq: r.seq,
    }));
  }

  insert(push: HeldPush): void {
    this.insertStmt.run(
      push.pushId,
      push.deviceId,
      push.dataType,
      JSON.stringify(push.payload ?? null),
      push.heldAt,
      push.expiresAt,
      push.bytes,
      push.seq,
    );
  }

  delete(pushIds: readonly string[]): void {
    this.db.exec('BEGIN');
    try {
      for (const id of pushIds) this.deleteStmt.run(id);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

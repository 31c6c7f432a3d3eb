import type { DatabaseSync } from 'node:sqlite';
import type { DeviceReport } from '../../protocol/messages.ts';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';
import {
  type DeviceOverride,
  type DeviceRegistry,
  type DeviceRow,
  type RegisteredDevice,
  toDevice,
} from './device-registry.ts';

/** The device registry in the node's SQLite file. */
export class SqliteDeviceRegistry implements DeviceRegistry {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = openSharedDatabase(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS devices (
        gateway_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        report TEXT NOT NULL,
        override TEXT,
        reported_at INTEGER NOT NULL,
        PRIMARY KEY (gateway_id, device_id)
      );
    `);
  }

  async report(gatewayId: string, devices: readonly DeviceReport[], now: number): Promise<void> {
    this.db.exec('BEGIN');
    try {
      this.db
        .prepare(
          'DELETE FROM devices WHERE gateway_id = ? AND device_id NOT IN (SELECT value FROM json_each(?))',
        )
        .run(gatewayId, JSON.stringify(devices.map((d) => d.id)));
      const upsert = this.db.prepare(
        `INSERT INTO devices (gateway_id, device_id, report, reported_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (gateway_id, device_id) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at`,
      );
      for (const d of devices) upsert.run(gatewayId, d.id, JSON.stringify(d), now);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async get(gatewayId: string, deviceId: string): Promise<RegisteredDevice | undefined> {
    const row = this.db
      .prepare('SELECT * FROM devices WHERE gateway_id = ? AND device_id = ?')
      .get(gatewayId, deviceId) as DeviceRow | undefined;
    return row ? toDevice(row) : undefined;
  }

  async list(gatewayId?: string): Promise<RegisteredDevice[]> {
    const rows = this.db
      .prepare('SELECT * FROM devices WHERE (?1 IS NULL OR gateway_id = ?1) ORDER BY gateway_id, device_id')
      .all(gatewayId ?? null) as unknown as DeviceRow[];
    return rows.map(toDevice);
  }

  async setOverride(
    gatewayId: string,
    deviceId: string,
    override: DeviceOverride | null,
  ): Promise<RegisteredDevice | undefined> {
    const result = this.db
      .prepare('UPDATE devices SET override = ? WHERE gateway_id = ? AND device_id = ?')
      .run(override ? JSON.stringify(override) : null, gatewayId, deviceId);
    return result.changes > 0 ? this.get(gatewayId, deviceId) : undefined;
  }

  close(): void {
    this.db.close();
  }
}

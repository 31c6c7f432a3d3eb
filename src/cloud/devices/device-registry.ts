import type { DatabaseSync } from 'node:sqlite';
import type { DeviceReport } from '../../protocol/messages.ts';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';

/** How a device's direct connection reaches the cloud: by itself, or relayed by its gateway. */
export type DirectVia = 'own' | 'gateway';

/** What an administrator may override of a reported device. */
export interface DeviceOverride {
  directCapable?: boolean;
  directVia?: DirectVia;
  spec?: Record<string, string | number | boolean>;
}

/** A device as the cloud's management server knows it: the gateway's report, overridden by an admin. */
export interface RegisteredDevice {
  gatewayId: string;
  id: string;
  driver: string;
  address: string;
  jobTypes: ('print' | 'storage')[];
  directCapable: boolean;
  /** The route of its direct connection; a switch command names it (docs/jobs.md). */
  directVia: DirectVia;
  spec: Record<string, string | number | boolean>;
  /** What the administrator changed, if anything. */
  override: DeviceOverride | null;
  /** When the gateway last reported the device (ms since epoch). */
  reportedAt: number;
}

interface Row {
  gateway_id: string;
  device_id: string;
  report: string;
  override: string | null;
  reported_at: number;
}

function toDevice(row: Row): RegisteredDevice {
  const report = JSON.parse(row.report) as DeviceReport;
  const override = row.override ? (JSON.parse(row.override) as DeviceOverride) : null;
  return {
    gatewayId: row.gateway_id,
    id: row.device_id,
    driver: report.driver,
    address: report.address,
    jobTypes: report.jobTypes,
    directCapable: override?.directCapable ?? report.directCapable,
    directVia: override?.directVia ?? report.directVia ?? 'own',
    spec: { ...report.spec, ...override?.spec },
    override,
    reportedAt: row.reported_at,
  };
}

/**
 * The device attribute registry (seed 001's management server): per device its gateway,
 * address, protocols, whether it can connect to the cloud by itself, and its spec.
 * Gateways report their configured devices in each hello; overrides survive the reports.
 */
export class DeviceRegistry {
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

  /** Replaces a gateway's reported devices; devices it no longer reports are forgotten (with their overrides). */
  report(gatewayId: string, devices: readonly DeviceReport[], now: number): void {
    const ids = devices.map((d) => d.id);
    this.db.exec('BEGIN');
    try {
      const keep = new Set(ids);
      for (const row of this.db
        .prepare('SELECT device_id FROM devices WHERE gateway_id = ?')
        .all(gatewayId) as { device_id: string }[]) {
        if (!keep.has(row.device_id)) {
          this.db
            .prepare('DELETE FROM devices WHERE gateway_id = ? AND device_id = ?')
            .run(gatewayId, row.device_id);
        }
      }
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

  get(gatewayId: string, deviceId: string): RegisteredDevice | undefined {
    const row = this.db
      .prepare('SELECT * FROM devices WHERE gateway_id = ? AND device_id = ?')
      .get(gatewayId, deviceId) as Row | undefined;
    return row ? toDevice(row) : undefined;
  }

  /** Every device, or a gateway's. */
  list(gatewayId?: string): RegisteredDevice[] {
    const rows = this.db
      .prepare('SELECT * FROM devices WHERE (?1 IS NULL OR gateway_id = ?1) ORDER BY gateway_id, device_id')
      .all(gatewayId ?? null) as unknown as Row[];
    return rows.map(toDevice);
  }

  /** Sets (or with null clears) an administrator's override; false when the device is unknown. */
  setOverride(
    gatewayId: string,
    deviceId: string,
    override: DeviceOverride | null,
  ): RegisteredDevice | undefined {
    const result = this.db
      .prepare('UPDATE devices SET override = ? WHERE gateway_id = ? AND device_id = ?')
      .run(override ? JSON.stringify(override) : null, gatewayId, deviceId);
    return result.changes > 0 ? this.get(gatewayId, deviceId) : undefined;
  }

  close(): void {
    this.db.close();
  }
}

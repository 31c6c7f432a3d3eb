import type { Pool } from 'pg';
import type { DeviceReport } from '../../protocol/messages.ts';
import { inTransaction } from '../store/postgres-database.ts';
import {
  type DeviceOverride,
  type DeviceRegistry,
  type DeviceRow,
  type RegisteredDevice,
  toDevice,
} from './device-registry.ts';

/** The device registry in the fleet's PostgreSQL database. */
export class PostgresDeviceRegistry implements DeviceRegistry {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async report(gatewayId: string, devices: readonly DeviceReport[], now: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM devices WHERE gateway_id = $1 AND NOT (device_id = ANY($2::text[]))', [
        gatewayId,
        devices.map((d) => d.id),
      ]);
      for (const d of devices) {
        await client.query(
          `INSERT INTO devices (gateway_id, device_id, report, reported_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (gateway_id, device_id) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at`,
          [gatewayId, d.id, JSON.stringify(d), now],
        );
      }
    });
  }

  async get(gatewayId: string, deviceId: string): Promise<RegisteredDevice | undefined> {
    const { rows } = await this.pool.query<DeviceRow>(
      'SELECT * FROM devices WHERE gateway_id = $1 AND device_id = $2',
      [gatewayId, deviceId],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async list(gatewayId?: string): Promise<RegisteredDevice[]> {
    const { rows } = await this.pool.query<DeviceRow>(
      'SELECT * FROM devices WHERE ($1::text IS NULL OR gateway_id = $1) ORDER BY gateway_id, device_id',
      [gatewayId ?? null],
    );
    return rows.map(toDevice);
  }

  async setOverride(
    gatewayId: string,
    deviceId: string,
    override: DeviceOverride | null,
  ): Promise<RegisteredDevice | undefined> {
    const { rows } = await this.pool.query<DeviceRow>(
      'UPDATE devices SET override = $1 WHERE gateway_id = $2 AND device_id = $3 RETURNING *',
      [override ? JSON.stringify(override) : null, gatewayId, deviceId],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }
}

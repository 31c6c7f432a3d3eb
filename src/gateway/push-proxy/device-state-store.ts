import type { DatabaseSync } from 'node:sqlite';
import { type DeviceState, deviceStateSchema } from '../../protocol/push-proxy/messages.ts';
import { boundPageCache, openSharedDatabase } from '../../storage/sqlite-file.ts';

/** A proxied device's state and since when, as last recorded. */
export interface RecordedDeviceState {
  state: DeviceState;
  since: number;
}

/** Where proxied devices' states outlive a gateway restart. */
export interface DeviceStateStore {
  load(): Map<string, RecordedDeviceState>;
  save(deviceId: string, recorded: RecordedDeviceState): void;
}

interface Row {
  device_id: string;
  state: string;
  since: number;
}

/**
 * Proxied devices' states in SQLite beside the held pushes (push-proxy.db), so a device
 * that said `sleep` is still shown asleep — not "gone" — after the gateway restarts, with
 * the time it fell asleep.
 */
export class SqliteDeviceStateStore implements DeviceStateStore {
  private readonly db: DatabaseSync;
  private readonly saveStmt;

  constructor(file: string) {
    this.db = openSharedDatabase(file);
    boundPageCache(this.db);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS device_states (
        device_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since INTEGER NOT NULL
      );
    `);
    this.saveStmt = this.db.prepare(
      'INSERT INTO device_states (device_id, state, since) VALUES (?, ?, ?) ' +
        'ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, since = excluded.since',
    );
  }

  /** Recorded states; a row this version cannot read is left out (the device starts "gone"). */
  load(): Map<string, RecordedDeviceState> {
    const rows = this.db.prepare('SELECT * FROM device_states').all() as unknown as Row[];
    const states = new Map<string, RecordedDeviceState>();
    for (const row of rows) {
      const state = deviceStateSchema.safeParse(row.state);
      if (state.success) states.set(row.device_id, { state: state.data, since: row.since });
    }
    return states;
  }

  save(deviceId: string, recorded: RecordedDeviceState): void {
    // Sessions closed while the gateway stops may report after the store closed; that end is "gone" anyway.
    if (!this.db.isOpen) return;
    this.saveStmt.run(deviceId, recorded.state, recorded.since);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

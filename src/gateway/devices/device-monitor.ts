import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DeviceStatus } from '../../devices/device-driver.ts';
import { isDeviceError } from '../../devices/device-error.ts';
import { type SnmpDeviceStatus, SnmpPoller } from '../../devices/snmp/snmp-poller.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceRegistry, GatewayDevice } from './device-registry.ts';

/** What the gateway knows of one device now: its driver's status, with SNMP meters when configured. */
export interface DeviceSnapshot {
  id: string;
  driver: string;
  directCapable: boolean;
  status: DeviceStatus | undefined;
  /** Page meter and supplies read over SNMP (Printer MIB), when the device has `snmp`. */
  meters: SnmpDeviceStatus | undefined;
  /** When the device last answered (ms since epoch). */
  lastSeen: number | undefined;
}

interface MonitorEvents {
  /** A device's state or reasons changed. */
  change: [snapshot: DeviceSnapshot];
}

interface Watched {
  device: GatewayDevice;
  timer: TimerHandle | undefined;
  meters: SnmpDeviceStatus | undefined;
  lastSeen: number | undefined;
  snmp: SnmpPoller | undefined;
}

/**
 * Polls every configured device's status through its driver on its `statusEvery`
 * schedule (and its SNMP meters when it has `snmp`), never overlapping polls of one
 * device. Emits 'change' when a device's state or reasons change.
 */
export class DeviceMonitor extends EventEmitter<MonitorEvents> {
  private readonly watched = new Map<string, Watched>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopped = false;

  constructor(registry: DeviceRegistry, deps: { clock: Clock; logger: Logger }) {
    super();
    this.clock = deps.clock;
    this.log = deps.logger.child({ part: 'devices' });
    for (const device of registry.list()) {
      const { config } = device;
      const entry: Watched = {
        device,
        timer: undefined,
        meters: undefined,
        lastSeen: undefined,
        snmp: undefined,
      };
      if (config.snmp) {
        entry.snmp = new SnmpPoller({
          id: config.id,
          host: config.snmp.host,
          port: config.snmp.port,
          community: config.snmp.community,
          clock: deps.clock,
          intervalMs: config.snmp.every,
          logger: this.log,
          onStatus: (status) => {
            entry.meters = status;
            if (status.state !== 'offline') entry.lastSeen = this.clock.now();
          },
          onError: (err) => this.log.warn({ device: config.id, code: err.code }, err.message),
        });
      }
      this.watched.set(config.id, entry);
    }
  }

  /** Reads SNMP meters no more often than every ms (a power mode's limit; 0: each device's own). */
  setSnmpFloor(ms: number): void {
    for (const entry of this.watched.values()) {
      const every = entry.device.config.snmp?.every;
      if (every !== undefined) entry.snmp?.setIntervalMs(Math.max(every, ms));
    }
  }

  start(): void {
    for (const entry of this.watched.values()) {
      entry.snmp?.start();
      void this.poll(entry);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.watched.values()) {
      if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
      void entry.snmp?.stop();
    }
  }

  /** Every device as last seen, in config order. */
  snapshots(): DeviceSnapshot[] {
    return [...this.watched.values()].map((e) => this.snapshot(e));
  }

  /** Polls one device now (tests, and the status page's refresh). */
  async pollNow(id: string): Promise<DeviceSnapshot | undefined> {
    const entry = this.watched.get(id);
    if (!entry) return undefined;
    await this.poll(entry, false);
    return this.snapshot(entry);
  }

  private snapshot(e: Watched): DeviceSnapshot {
    return {
      id: e.device.config.id,
      driver: e.device.config.driver,
      directCapable: e.device.config.directCapable,
      status: e.device.status,
      meters: e.meters,
      lastSeen: e.lastSeen,
    };
  }

  private async poll(entry: Watched, reschedule = true): Promise<void> {
    const { device } = entry;
    let status: DeviceStatus;
    try {
      status = await device.driver.status();
    } catch (err) {
      // A reply that does not parse: the device is there but misbehaving; keep the last state.
      const code = isDeviceError(err) ? err.code : 'unknown';
      this.log.warn(
        { device: device.config.id, code, err: (err as Error).message },
        'device status query failed',
      );
      status = device.status ?? { state: 'offline', reasons: ['offline'], since: this.clock.now() };
    }
    const before = device.status;
    device.status = status;
    if (status.state !== 'offline') entry.lastSeen = this.clock.now();
    if (!before || before.state !== status.state || before.reasons.join() !== status.reasons.join()) {
      this.log.info(
        { device: device.config.id, state: status.state, reasons: status.reasons },
        before ? 'device state changed' : 'device state',
      );
      this.emit('change', this.snapshot(entry));
    }
    if (reschedule && !this.stopped) {
      entry.timer = this.clock.setTimeout(() => void this.poll(entry), device.config.statusEvery);
    }
  }
}

import type { Feature } from '../../lifecycle/feature.ts';
import { parseStorageKey } from '../../storage/secure-format.ts';
import type { GatewayContext } from '../gateway-context.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import { DeviceMonitor } from './device-monitor.ts';
import { DeviceRegistry } from './device-registry.ts';

/**
 * The configured devices and their drivers, polled on their schedules: emits `device-change`,
 * and reads SNMP meters no more often than the power mode in force allows.
 */
export class DevicesFeature implements Feature {
  readonly name = 'devices';
  readonly registry: DeviceRegistry;
  readonly monitor: DeviceMonitor;

  constructor(ctx: GatewayContext, power: { mode(): PowerMode }) {
    const { config, clock, logger, bus } = ctx;
    this.registry = DeviceRegistry.create(config.devices, {
      clock,
      logger,
      storageKey: config.storage ? parseStorageKey(config.storage.key) : undefined,
      stateDir: config.gateway.stateDir,
    });
    const monitor = new DeviceMonitor(this.registry, { clock, logger });
    this.monitor = monitor;
    monitor.on('change', (snapshot) => bus.emit('device-change', snapshot));
    // A mode's limit stretches SNMP polling (never shortens it).
    const applyLimit = (mode: PowerMode) => monitor.setSnmpFloor(mode.snmpEveryMs ?? 0);
    bus.on(this.name, 'power-mode', (state) => applyLimit(state.mode));
    // A reload may redefine the mode in force without changing it.
    bus.on(this.name, 'config-reloaded', () => applyLimit(power.mode()));
  }

  start(): void {
    this.monitor.start();
  }

  async stop(): Promise<void> {
    this.monitor.stop();
    await this.registry.close();
  }
}

import type { Clock } from '../../clock/clock.ts';
import { type DeviceConfig, deviceAddress } from '../../config/device-config.ts';
import type { DeviceDriver, DeviceStatus } from '../../devices/device-driver.ts';
import { IppDriver } from '../../devices/ipp/ipp-driver.ts';
import { LpdDriver } from '../../devices/lpd/lpd-driver.ts';
import { PjlDriver } from '../../devices/pjl/pjl-driver.ts';
import { TcpLink } from '../../devices/pjl/tcp-link.ts';
import { SerialLink } from '../../devices/serial/serial-link.ts';
import { StorageDriver } from '../../devices/storage/storage-driver.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceReport } from '../../protocol/messages.ts';
import { storageTarget } from './storage-target.ts';

/** A configured device with its driver and what the gateway last saw of it. */
export interface GatewayDevice {
  config: DeviceConfig;
  driver: DeviceDriver;
  status: DeviceStatus | undefined;
}

/**
 * The devices of this gateway's config, each behind its driver. They are the tunnels'
 * device allow-list and are reported to the cloud's device registry in every hello.
 */
export class DeviceRegistry {
  private readonly devices = new Map<string, GatewayDevice>();

  private constructor(devices: GatewayDevice[]) {
    for (const d of devices) this.devices.set(d.config.id, d);
  }

  /** Builds every configured device's driver (a serial port that is missing is retried by its link). */
  static create(
    configs: readonly DeviceConfig[],
    deps: { clock: Clock; logger: Logger; storageKey: Buffer | undefined; stateDir: string },
  ): DeviceRegistry {
    return new DeviceRegistry(
      configs.map((config) => ({ config, driver: makeDriver(config, deps), status: undefined })),
    );
  }

  get(id: string): GatewayDevice | undefined {
    return this.devices.get(id);
  }

  list(): GatewayDevice[] {
    return [...this.devices.values()];
  }

  /** What the cloud's device registry learns from the hello. */
  reports(): DeviceReport[] {
    return this.list().map(({ config }) => ({
      id: config.id,
      driver: config.driver,
      address: deviceAddress(config),
      directCapable: config.directCapable,
      directVia: config.directVia,
      jobTypes: config.driver === 'storage' ? ['storage'] : ['print'],
      spec: config.spec,
    }));
  }

  /** True when a raw host:port tunnel goes to a configured network device. */
  isDeviceAddress(host: string, port: number): boolean {
    return this.list().some(
      ({ config }) =>
        (config.driver === 'pjl' || config.driver === 'lpd') && config.host === host && config.port === port,
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.list().map((d) => d.driver.close()));
  }
}

function makeDriver(
  config: DeviceConfig,
  deps: { clock: Clock; logger: Logger; storageKey: Buffer | undefined; stateDir: string },
): DeviceDriver {
  const { clock } = deps;
  const logger = deps.logger.child({ device: config.id });
  switch (config.driver) {
    case 'pjl':
      return new PjlDriver({
        id: config.id,
        link: new TcpLink({ deviceId: config.id, host: config.host, port: config.port, clock }),
        clock,
        logger,
      });
    case 'ipp':
      return new IppDriver({ id: config.id, printerUri: config.uri, clock, logger });
    case 'lpd':
      return new LpdDriver({
        id: config.id,
        host: config.host,
        port: config.port,
        queue: config.queue,
        clock,
        logger,
      });
    case 'serial': {
      const link = new SerialLink({
        deviceId: config.id,
        path: config.path,
        baudRate: config.baudRate,
        dataBits: config.dataBits,
        stopBits: config.stopBits,
        parity: config.parity,
        rtscts: config.flowControl === 'rtscts',
        xonxoff: config.flowControl === 'xonxoff',
        clock,
        logger,
      });
      // A missing port is not an error: the link keeps reopening it and reports the device offline.
      link.start().catch((err: unknown) => logger.warn({ err: String(err) }, 'serial line not started'));
      return new PjlDriver({ id: config.id, link, clock, logger });
    }
    case 'storage':
      if (!deps.storageKey) throw new Error(`device ${config.id}: secure storage needs storage.key`);
      return new StorageDriver({
        id: config.id,
        target: storageTarget(config, deps.stateDir),
        key: deps.storageKey,
        clock,
      });
  }
}

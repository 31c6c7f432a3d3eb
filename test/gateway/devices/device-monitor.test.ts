import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { DeviceDriver, DeviceStatus } from '../../../src/devices/device-driver.ts';
import { DeviceError } from '../../../src/devices/device-error.ts';
import { DeviceMonitor, type DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import type { DeviceRegistry } from '../../../src/gateway/devices/device-registry.ts';
import { createLogger } from '../../../src/log/logger.ts';

/** A driver whose status answers are scripted (pure scheduling logic under test). */
function scriptedDriver(answers: Array<DeviceStatus | Error>): DeviceDriver & { calls: number } {
  const driver = {
    id: 'mfp1',
    calls: 0,
    print: () => Promise.reject(new Error('not used')),
    status: () => {
      const answer = answers[Math.min(driver.calls++, answers.length - 1)] as DeviceStatus | Error;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    close: () => Promise.resolve(),
  };
  return driver;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('DeviceMonitor', () => {
  it('polls on each device’s schedule, reports changes only, and keeps the last state on a garbled reply', async () => {
    const clock = new ManualClock();
    const config = parseGatewayConfig({
      gateway: { id: 'gw1' },
      cloud: { url: 'wss://cloud.example.com/push', token: 'x'.repeat(20) },
      devices: [{ id: 'mfp1', driver: 'pjl', host: '10.0.0.5', statusEvery: '30s' }],
    });
    const idle: DeviceStatus = { state: 'idle', reasons: [], since: 0 };
    const jam: DeviceStatus = { state: 'stopped', reasons: ['media-jam'], since: 1 };
    const driver = scriptedDriver([
      idle,
      idle,
      jam,
      new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', 'mfp1', 'garbage'),
      idle,
    ]);
    const registry = {
      list: () => [{ config: config.devices[0], driver, status: undefined }],
    } as unknown as DeviceRegistry;
    const monitor = new DeviceMonitor(registry, { clock, logger: createLogger({ level: 'silent' }) });
    const changes: DeviceSnapshot[] = [];
    monitor.on('change', (s) => changes.push(s));
    monitor.start();
    await flush();
    expect(driver.calls).toBe(1);
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      await flush();
    }
    expect(driver.calls).toBe(5);
    expect(changes.map((c) => c.status?.state)).toEqual(['idle', 'stopped', 'idle']);
    expect(changes[1]?.status?.reasons).toEqual(['media-jam']);
    expect(monitor.snapshots()[0]).toMatchObject({ id: 'mfp1', driver: 'pjl', status: { state: 'idle' } });
    monitor.stop();
    clock.advance(60_000);
    await flush();
    expect(driver.calls).toBe(5);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { powerModesFrom } from '../../../src/gateway/power/power-config.ts';

const base = {
  gateway: { id: 'gw1' },
  cloud: { url: 'wss://cloud.example.com/push', token: 'x'.repeat(20) },
};

describe('power modes from config', () => {
  it('carry their telemetry and SNMP limits, none by default', () => {
    const config = parseGatewayConfig({
      ...base,
      power: {
        modes: {
          normal: {},
          night: { minInterval: '1h', changeThreshold: '30m', telemetryEvery: '1h', snmpEvery: '6h' },
        },
      },
    });
    const modes = powerModesFrom(config.power);
    expect(modes.normal).toMatchObject({ minIntervalMs: 0, telemetryEveryMs: 0, snmpEveryMs: 0 });
    expect(modes.night).toMatchObject({
      minIntervalMs: 3_600_000,
      changeThresholdMs: 1_800_000,
      telemetryEveryMs: 3_600_000,
      snmpEveryMs: 21_600_000,
    });
  });

  it('name the key of a limit written without a unit', () => {
    expect(() =>
      parseGatewayConfig({ ...base, power: { modes: { normal: {}, night: { telemetryEvery: '60' } } } }),
    ).toThrow(ConfigError);
    try {
      parseGatewayConfig({ ...base, power: { modes: { normal: {}, night: { telemetryEvery: '60' } } } });
    } catch (err) {
      expect(String((err as ConfigError).message)).toContain('power.modes.night.telemetryEvery');
    }
  });
});

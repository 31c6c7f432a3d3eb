import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { GatewayContext, GatewayEvents } from '../../../src/gateway/gateway-context.ts';
import { PowerFeature } from '../../../src/gateway/power/power-feature.ts';
import { EventBus } from '../../../src/lifecycle/event-bus.ts';
import { silentLogger } from '../../../src/log/logger.ts';

describe('power feature', () => {
  it('tells the other features the mode in force when it starts, limits included', () => {
    const config = parseGatewayConfig({
      gateway: { id: 'office-1', stateDir: mkdtempSync(join(tmpdir(), 'power-feature-')) },
      cloud: { url: 'wss://cloud.example.com/push', token: 'a'.repeat(32) },
      power: {
        mode: 'quiet',
        modes: { normal: {}, quiet: { minInterval: '1h', telemetryEvery: '30m', snmpEvery: '2h' } },
      },
    });
    const bus = new EventBus<GatewayEvents>(silentLogger());
    const ctx: GatewayContext = {
      config,
      clock: new ManualClock(),
      logger: silentLogger(),
      bus,
      env: {},
      clientId: 'c',
      software: 'test',
    };
    const seen: { name: string; snmpEveryMs?: number | undefined; telemetryEveryMs?: number | undefined }[] =
      [];
    bus.on('devices', 'power-mode', (state) => seen.push(state.mode));
    const power = new PowerFeature(ctx);
    expect(seen).toEqual([]);
    power.start();
    expect(seen).toMatchObject([{ name: 'quiet', snmpEveryMs: 7_200_000, telemetryEveryMs: 1_800_000 }]);
    power.stop();
  });
});

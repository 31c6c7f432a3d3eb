import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type GatewayConfig,
  loadGatewayConfig,
  parseGatewayConfig,
} from '../../../src/config/gateway-config.ts';
import { ConfigReloader, changedKeys, planReload } from '../../../src/gateway/reload/config-reload.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir, writeYaml } from '../../support/chain.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();

const BASE = {
  gateway: { id: 'gw1', stateDir: '/tmp/unused' },
  cloud: { url: 'wss://cloud.example.com/push', token: 'a-cloud-token-of-enough-length' },
  mqtt: { url: 'mqtts://broker.example.com:8883', telemetry: { every: '5m', minGap: '10s' } },
  power: {
    timezone: 'Europe/Berlin',
    modes: { normal: { minInterval: '0s' }, night: { minInterval: '1h', changeThreshold: '30m' } },
    schedules: [] as { cron: string; mode: string }[],
  },
};
const config = (patch: (raw: typeof BASE & Record<string, unknown>) => void = () => {}): GatewayConfig => {
  const raw = structuredClone(BASE) as typeof BASE & Record<string, unknown>;
  patch(raw);
  return parseGatewayConfig(raw, { env: {} });
};

describe('planReload', () => {
  it('names nothing when nothing changed', () => {
    expect(planReload(config(), config())).toEqual({ live: [], restart: [] });
  });

  it('applies power, telemetry pacing and the log level live; everything else needs a restart', () => {
    const next = config((c) => {
      c.power.timezone = 'Asia/Tokyo';
      c.power.modes.night.minInterval = '2h';
      c.power.schedules = [{ cron: '0 22 * * *', mode: 'night' }];
      c.mqtt.telemetry.every = '1m';
      c.log = { level: 'debug' };
      c.cloud = { ...c.cloud, connections: 3 } as typeof c.cloud;
      c.tunnels = { allow: [{ cidr: '192.168.1.0/24', ports: [9100] }] };
    });
    expect(planReload(config(), next)).toEqual({
      live: [
        'power.modes.night.minInterval',
        'power.timezone',
        'power.schedules',
        'mqtt.telemetry.every',
        'log.level',
      ],
      restart: ['cloud.connections', 'tunnels.allow'],
    });
  });

  it('counts a section added or removed as one key', () => {
    expect(changedKeys({ a: { b: 1 } }, { a: { b: 1 }, mqtt: { url: 'x' } })).toEqual(['mqtt']);
    expect(changedKeys({ list: [1, 2] }, { list: [2, 1] })).toEqual(['list']);
  });
});

describe('ConfigReloader', () => {
  function reloader() {
    const { dir, cleanup } = scratchDir('reload');
    defer(cleanup);
    const file = writeYaml(dir, 'gateway.yaml', BASE);
    const applied: GatewayConfig[] = [];
    const r = new ConfigReloader({
      file,
      inForce: loadGatewayConfig(file, { env: {} }),
      logger: silentLogger(),
      load: (f) => loadGatewayConfig(f, { env: {} }),
      apply: (next) => applied.push(next),
    });
    return { file, r, applied };
  }

  it('applies the live keys, names the ones that need a restart, and keeps naming them until then', () => {
    const { file, r, applied } = reloader();
    writeYaml(dirname(file), 'gateway.yaml', {
      ...BASE,
      power: { ...BASE.power, mode: 'night' },
      cloud: { ...BASE.cloud, connections: 3 },
    });
    expect(r.reload()).toEqual({
      ok: true,
      file,
      applied: ['power.mode'],
      needsRestart: ['cloud.connections'],
    });
    expect(applied.map((c) => c.power.mode)).toEqual(['night']);
    expect(r.config.power.mode).toBe('night');
    expect(r.config.cloud.connections).toBe(2);
    // Read again: nothing new to apply, the restart is still owed.
    expect(r.reload()).toEqual({ ok: true, file, applied: [], needsRestart: ['cloud.connections'] });
    expect(applied).toHaveLength(1);
  });

  it('refuses an invalid file with every problem (key, value, expected) and changes nothing', () => {
    const { file, r, applied } = reloader();
    writeFileSync(
      file,
      [
        'gateway: { id: gw1, stateDir: /tmp/unused }',
        'cloud: { url: "wss://cloud.example.com/push", token: a-cloud-token-of-enough-length }',
        'power: { mode: siesta, timezone: Mars/Olympus }',
        'mqtt: { url: "mqtts://broker.example.com:8883", telemetry: { every: soon } }',
        '',
      ].join('\n'),
    );
    const outcome = r.reload();
    expect(outcome).toMatchObject({ ok: false, code: 'MFP_ERR_CONFIG' });
    if (outcome.ok) return;
    expect(outcome.issues).toEqual(
      expect.arrayContaining([
        {
          key: 'power.timezone',
          value: '"Mars/Olympus"',
          expected: expect.stringContaining('IANA time zone'),
        },
        { key: 'mqtt.telemetry.every', value: '"soon"', expected: expect.any(String) },
      ]),
    );
    expect(outcome.message).toContain('power.timezone: got "Mars/Olympus"');
    expect(applied).toEqual([]);
    expect(r.config.power.timezone).toBe('Europe/Berlin');
  });

  it('names a missing file', () => {
    const { file, r } = reloader();
    writeFileSync(file, '');
    const renamed = `${file}.gone`;
    const gone = new ConfigReloader({
      file: renamed,
      inForce: r.config,
      logger: silentLogger(),
      load: (f) => loadGatewayConfig(f, { env: {} }),
      apply: () => {},
    });
    expect(gone.reload()).toMatchObject({
      ok: false,
      code: 'MFP_ERR_CONFIG',
      issues: [{ key: '(file)', value: renamed, expected: expect.stringContaining('file not found') }],
    });
  });
});

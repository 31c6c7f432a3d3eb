import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { inConfigUnits } from '../../src/config/config-units.ts';
import { gatewayConfigSchema, parseGatewayConfig } from '../../src/config/gateway-config.ts';

describe('a parsed config in its file’s units', () => {
  const raw = {
    gateway: { id: 'gw1', stateDir: '/var/lib/mfp-gateway' },
    cloud: { url: 'wss://cloud.example/push', token: 'a-secret-token-of-20-chars' },
    status: { sessionTtl: '90m', login: { delay: '1500ms' } },
  };
  const config = parseGatewayConfig(raw);
  const shown = inConfigUnits(gatewayConfigSchema, config) as typeof config & Record<string, unknown>;

  it('writes durations with units again, described or nested in records', () => {
    expect(config.status.sessionTtl).toBe(5_400_000);
    expect(shown.status.sessionTtl).toBe('1h30m');
    expect(shown.status.login.delay).toBe('1.5s');
    expect(shown.keepalive.answerTimeout).toBe('10s');
    expect((shown.power.modes as Record<string, { minInterval: unknown }>)['power-saving']?.minInterval).toBe(
      '1h',
    );
  });

  it('leaves everything else as it is, and parses back to the same config', () => {
    expect(shown.cloud.connections).toBe(config.cloud.connections);
    expect(shown.gateway).toEqual(config.gateway);
    const again = parseGatewayConfig(parse(JSON.stringify(shown)));
    for (const section of ['gateway', 'cloud', 'keepalive', 'status', 'journal', 'jobs', 'tunnels'] as const)
      expect(again[section], section).toEqual(config[section]);
  });
});

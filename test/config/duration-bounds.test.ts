import { describe, expect, it } from 'vitest';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { parseGatewayConfig } from '../../src/config/gateway-config.ts';

const token = 'a'.repeat(32);
const gateway = { gateway: { id: 'office-1' }, cloud: { url: 'wss://cloud.example.com/push', token } };
const cloud = { api: { token }, gateways: [{ id: 'gw1', token }] };

function refusal(fn: () => unknown): { key: string; expected: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues[0];
    throw err;
  }
  return undefined;
}

// Issue 13.14: Node fires a timer of 24.8 days or more at once; durations are bounded.
describe('duration bounds in the config schemas', () => {
  it('refuses any duration over a year, naming the bound', () => {
    expect(refusal(() => parseGatewayConfig({ ...gateway, status: { sessionTtl: '400d' } }))).toMatchObject({
      key: 'status.sessionTtl',
      expected: 'a duration of at most 365d',
    });
    expect(parseGatewayConfig({ ...gateway, status: { sessionTtl: '30d' } }).status.sessionTtl).toBe(
      30 * 86_400_000,
    );
    expect(refusal(() => parseCloudConfig({ ...cloud, jobs: { keepDone: '9999d' } }))?.key).toBe(
      'jobs.keepDone',
    );
  });

  it('bounds keep-alive advice as the protocol does (24 days)', () => {
    expect(refusal(() => parseCloudConfig({ ...cloud, keepalive: { max: '30d' } }))).toMatchObject({
      key: 'keepalive.max',
      expected: 'a duration of at most 24d',
    });
    expect(parseCloudConfig({ ...cloud, keepalive: { max: '24d' } }).keepalive.max).toBe(24 * 86_400_000);
    expect(refusal(() => parseGatewayConfig({ ...gateway, keepalive: { default: '25d' } }))?.key).toBe(
      'keepalive.default',
    );
  });

  it('bounds the MQTT keep-alive to what MQTT can say (65535 s)', () => {
    const mqtt = { url: 'mqtts://broker.example:8883' };
    expect(
      refusal(() => parseGatewayConfig({ ...gateway, mqtt: { ...mqtt, keepalive: '65536s' } }))?.key,
    ).toBe('mqtt.keepalive');
    expect(parseGatewayConfig({ ...gateway, mqtt: { ...mqtt, keepalive: '18h' } }).mqtt?.keepalive).toBe(
      18 * 3_600_000,
    );
  });
});

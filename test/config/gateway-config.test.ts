import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadGatewayConfig, parseGatewayConfig } from '../../src/config/gateway-config.ts';

const token = 'a'.repeat(32);
const minimal = { gateway: { id: 'office-1' }, cloud: { url: 'wss://cloud.example.com/push', token } };

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('gateway config', () => {
  it('fills sane defaults', () => {
    const config = parseGatewayConfig(minimal);
    expect(config.cloud.connections).toBe(2);
    expect(config.keepalive.default).toBe(25_000);
    expect(config.power.mode).toBe('normal');
    expect(config.power.modes['power-saving']).toEqual({
      minInterval: 3_600_000,
      changeThreshold: 1_800_000,
    });
  });

  it('names the key, the value and what was expected for a bad duration', () => {
    const issues = issuesOf(() => parseGatewayConfig({ ...minimal, keepalive: { default: '45' } }));
    expect(issues).toEqual([
      { key: 'keepalive.default', value: '"45"', expected: expect.stringContaining('duration with a unit') },
    ]);
  });

  it('refuses plain ws:// to a non-loopback cloud', () => {
    const issues = issuesOf(() =>
      parseGatewayConfig({ ...minimal, cloud: { url: 'ws://cloud.example.com/push', token } }),
    );
    expect(issues[0]?.key).toBe('cloud.url');
  });

  it('never prints a secret in an error', () => {
    const err = (() => {
      try {
        parseGatewayConfig({ ...minimal, cloud: { url: 'wss://c.example/push', token: 'hunter2' } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain('cloud.token');
    expect(err?.message).not.toContain('hunter2');
  });

  it('never shows a URL’s password, an unknown key’s value or an SNMP community in an error', () => {
    let message = '';
    const issues = issuesOf(() => {
      try {
        parseGatewayConfig({
          ...minimal,
          cloud: {
            ...minimal.cloud,
            tokn: 'typo-held-secret-123',
            proxy: 'https://bob:proxy-pw-77@proxy.lan:3128',
          },
          devices: [{ id: 'm', driver: 'pjl', host: 'h', snmp: { host: 'h', community: 'c'.repeat(65) } }],
        });
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    });
    expect(issues.map((i) => i.key).sort()).toEqual([
      'cloud.proxy',
      'cloud.tokn',
      'devices.0.snmp.community',
    ]);
    expect(issues.find((i) => i.key === 'cloud.proxy')?.value).toBe('"https://bob:***@proxy.lan:3128"');
    expect(issues.find((i) => i.key === 'cloud.tokn')?.value).toBe('');
    for (const secret of ['proxy-pw-77', 'typo-held-secret-123', 'c'.repeat(65)]) {
      expect(message).not.toContain(secret);
      expect(JSON.stringify(issues)).not.toContain(secret);
    }
  });

  it('reports unknown keys (typos) instead of ignoring them', () => {
    const issues = issuesOf(() =>
      parseGatewayConfig({ ...minimal, cloud: { ...minimal.cloud, conections: 3 } }),
    );
    expect(issues[0]?.key).toBe('cloud.conections');
  });

  it('takes secrets from the environment', () => {
    const config = parseGatewayConfig(
      { gateway: { id: 'g' }, cloud: { url: 'wss://c.example/push', token: '${env:MY_TOKEN}' } },
      { env: { MY_TOKEN: 'b'.repeat(20) } },
    );
    expect(config.cloud.token).toBe('b'.repeat(20));
    const overridden = parseGatewayConfig(minimal, { env: { MFPGW_CLOUD_TOKEN: 'c'.repeat(20) } });
    expect(overridden.cloud.token).toBe('c'.repeat(20));
    const missing = issuesOf(() =>
      parseGatewayConfig(
        { gateway: { id: 'g' }, cloud: { url: 'wss://c.example/push', token: '${env:NOPE}' } },
        { env: {} },
      ),
    );
    expect(missing[0]).toMatchObject({ key: 'cloud.token', expected: 'environment variable NOPE to be set' });
  });

  it('refuses a tunnel memory cap too small for the tunnels it allows, naming both keys', () => {
    expect(parseGatewayConfig(minimal).tunnels.memoryCap).toBe(32 * 1024 * 1024);
    const issues = issuesOf(() =>
      parseGatewayConfig({ ...minimal, tunnels: { maxConcurrent: 100, memoryCap: 16 * 1024 * 1024 } }),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.key).toBe('tunnels.memoryCap');
    expect(issues[0]?.expected).toMatch(/at least 26214400 bytes.*tunnels\.maxConcurrent \(100\)/);
    expect(
      parseGatewayConfig({ ...minimal, tunnels: { maxConcurrent: 100, memoryCap: 25 * 1024 * 1024 } }).tunnels
        .memoryCap,
    ).toBe(25 * 1024 * 1024);
  });

  it('rejects a power mode that is not defined', () => {
    const issues = issuesOf(() => parseGatewayConfig({ ...minimal, power: { mode: 'turbo' } }));
    expect(issues[0]?.key).toBe('power.mode');
  });

  it('routes a device’s direct connection itself unless told "via gateway"; a push proxy listener may only relay', () => {
    const config = parseGatewayConfig({
      ...minimal,
      devices: [
        { id: 'mfp-a', driver: 'pjl', host: '192.0.2.10', directCapable: true },
        { id: 'mfp-b', driver: 'pjl', host: '192.0.2.11', directCapable: true, directVia: 'gateway' },
      ],
      pushProxy: { listen: { host: '192.0.2.2' } },
    });
    expect(config.devices.map((d) => d.directVia)).toEqual(['own', 'gateway']);
    expect(config.pushProxy).toMatchObject({ devices: [], listen: { host: '192.0.2.2', port: 8081 } });
    const bad = issuesOf(() =>
      parseGatewayConfig({
        ...minimal,
        devices: [{ id: 'm', driver: 'pjl', host: 'h', directVia: 'cloud' }],
        pushProxy: { relayUrl: 'https://192.0.2.2:8081' },
      }),
    );
    expect(bad.map((i) => i.key).sort()).toEqual(['devices.0.directVia', 'pushProxy.relayUrl']);
  });

  it('reports YAML syntax errors and missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, 'gateway:\n  id: [unclosed\n');
    expect(() => loadGatewayConfig(file)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(join(dir, 'missing.yaml'))).toThrow(/file not found/);
  });
});

import { BlockList, isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCloudConfig } from '../../src/config/cloud-config.ts';
import { loadGatewayConfig } from '../../src/config/gateway-config.ts';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

const gatewayEnv = { MFPGW_CLOUD_TOKEN: 'g'.repeat(32) };
const cloudEnv = { MFPGW_API_TOKEN: 'a'.repeat(32), MFPGW_GATEWAY_OFFICE_1_TOKEN: 'o'.repeat(32) };

/** Where an example may point or listen: loopback, RFC 5737's documentation networks, example.com. */
const harmless = new BlockList();
harmless.addSubnet('127.0.0.0', 8);
for (const net of ['192.0.2.0', '198.51.100.0', '203.0.113.0']) harmless.addSubnet(net, 24);
const harmlessHost = (host: string) =>
  isIP(host) === 4 ? harmless.check(host) : host === 'localhost' || /(^|\.)example\.com$/.test(host);

/** Every host an effective config names: `host` keys, URLs' hosts, CIDRs' networks. */
function hostsIn(value: unknown, key = ''): string[] {
  if (typeof value === 'string') {
    if (key === 'host') return [value];
    if (key === 'cidr') return [value.split('/')[0] as string];
    if (/^[a-z]+:\/\//.test(value)) return [new URL(value).hostname];
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((v) => hostsIn(v));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => hostsIn(v, k));
  return [];
}

describe('the shipped example configs', () => {
  it('are valid as they stand, given their secrets in the environment', () => {
    const gateway = loadGatewayConfig(example('gateway.yaml'), { env: gatewayEnv });
    expect(gateway.devices.map((d) => d.id)).toEqual(['mfp-3f', 'reception']);
    expect(gateway.devices[0]).toMatchObject({
      driver: 'pjl',
      directCapable: true,
      snmp: { every: 300_000 },
    });
    const cloud = loadCloudConfig(example('cloud.yaml'), { env: cloudEnv });
    expect(cloud.gateways[0]).toMatchObject({ id: 'office-1', maxTunnels: 8 });
    expect(cloud.jobs.directTimeout).toBe(600_000);
  });

  it('are safe to run as shipped: they reach no real address and listen on loopback only', () => {
    const gateway = loadGatewayConfig(example('gateway.yaml'), { env: gatewayEnv });
    const cloud = loadCloudConfig(example('cloud.yaml'), { env: cloudEnv });
    const hosts = [...hostsIn(gateway), ...hostsIn(cloud)];
    expect(hosts).toEqual(expect.arrayContaining(['cloud.example.com', '192.0.2.40', '127.0.0.1']));
    expect(hosts.filter((h) => !harmlessHost(h))).toEqual([]);
    expect(gateway.status.listen.host).toBe('127.0.0.1');
    expect(cloud.listen.host).toBe('127.0.0.1');
  });
});

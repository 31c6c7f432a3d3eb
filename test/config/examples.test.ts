import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCloudConfig } from '../../src/config/cloud-config.ts';
import { loadGatewayConfig } from '../../src/config/gateway-config.ts';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe('the shipped example configs', () => {
  it('are valid as they stand, given their secrets in the environment', () => {
    const gateway = loadGatewayConfig(example('gateway.yaml'), {
      env: { MFPGW_CLOUD_TOKEN: 'g'.repeat(32) },
    });
    expect(gateway.devices.map((d) => d.id)).toEqual(['mfp-3f', 'reception']);
    expect(gateway.devices[0]).toMatchObject({
      driver: 'pjl',
      directCapable: true,
      snmp: { every: 300_000 },
    });
    const cloud = loadCloudConfig(example('cloud.yaml'), {
      env: { MFPGW_API_TOKEN: 'a'.repeat(32), MFPGW_GATEWAY_OFFICE_1_TOKEN: 'o'.repeat(32) },
    });
    expect(cloud.gateways[0]).toMatchObject({ id: 'office-1', maxTunnels: 8 });
    expect(cloud.jobs.directTimeout).toBe(600_000);
  });
});

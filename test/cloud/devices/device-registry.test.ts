import { describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/cloud/devices/device-registry.ts';
import type { DeviceReport } from '../../../src/protocol/messages.ts';

const report = (id: string, extra: Partial<DeviceReport> = {}): DeviceReport => ({
  id,
  driver: 'pjl',
  address: '192.0.2.10:9100',
  directCapable: true,
  jobTypes: ['print'],
  spec: {},
  ...extra,
});

describe('cloud device registry: the route of a device’s direct connection', () => {
  it('keeps what the gateway reports (own when an older gateway says nothing), overridable by an administrator', () => {
    const registry = new DeviceRegistry(':memory:');
    registry.report('gw1', [report('old'), report('walled', { directVia: 'gateway' })], 1);
    expect(registry.list('gw1').map((d) => [d.id, d.directVia])).toEqual([
      ['old', 'own'],
      ['walled', 'gateway'],
    ]);

    expect(registry.setOverride('gw1', 'old', { directVia: 'gateway' })?.directVia).toBe('gateway');
    registry.report(
      'gw1',
      [report('old', { directVia: 'own' }), report('walled', { directVia: 'gateway' })],
      2,
    );
    expect(registry.get('gw1', 'old')).toMatchObject({
      directVia: 'gateway',
      override: { directVia: 'gateway' },
    });
    expect(registry.setOverride('gw1', 'old', null)?.directVia).toBe('own');
    registry.close();
  });
});

import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { type CloudStore, openCloudStore } from '../../../src/cloud/store/cloud-store.ts';
import type { DeviceReport } from '../../../src/protocol/messages.ts';
import { storeBackends } from '../../support/cloud-stores.ts';

const report = (id: string, extra: Partial<DeviceReport> = {}): DeviceReport => ({
  id,
  driver: 'pjl',
  address: '192.0.2.10:9100',
  directCapable: true,
  jobTypes: ['print'],
  spec: {},
  ...extra,
});

describe.each(storeBackends())('cloud device registry on $name', ({ fresh }) => {
  let store: CloudStore;
  afterEach(async () => {
    await store?.close();
  });

  it('keeps what the gateway reports (own when an older gateway says nothing), overridable by an administrator', async () => {
    store = await openCloudStore(await fresh(), { documentsDir: tmpdir(), clock: systemClock });
    const registry = store.devices;
    await registry.report('gw1', [report('old'), report('walled', { directVia: 'gateway' })], 1);
    expect((await registry.list('gw1')).map((d) => [d.id, d.directVia])).toEqual([
      ['old', 'own'],
      ['walled', 'gateway'],
    ]);

    expect((await registry.setOverride('gw1', 'old', { directVia: 'gateway' }))?.directVia).toBe('gateway');
    await registry.report(
      'gw1',
      [report('old', { directVia: 'own' }), report('walled', { directVia: 'gateway' })],
      2,
    );
    expect(await registry.get('gw1', 'old')).toMatchObject({
      directVia: 'gateway',
      override: { directVia: 'gateway' },
      reportedAt: 2,
    });
    expect((await registry.setOverride('gw1', 'old', null))?.directVia).toBe('own');
    expect(await registry.setOverride('gw1', 'nobody', null)).toBeUndefined();
  });

  it('forgets devices a gateway no longer reports, and only that gateway’s', async () => {
    store = await openCloudStore(await fresh(), { documentsDir: tmpdir(), clock: systemClock });
    const registry = store.devices;
    await registry.report('gw1', [report('a'), report('b')], 1);
    await registry.report('gw2', [report('a')], 1);
    await registry.report('gw1', [report('b')], 2);
    expect((await registry.list()).map((d) => `${d.gatewayId}/${d.id}`)).toEqual(['gw1/b', 'gw2/a']);
    await registry.report('gw1', [], 3);
    expect(await registry.list('gw1')).toEqual([]);
  });
});

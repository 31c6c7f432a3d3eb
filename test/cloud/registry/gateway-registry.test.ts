import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import {
  hashGatewayToken,
  newGatewayToken,
  type RegisteredGateway,
  seedGateways,
  tokenMatchesHash,
} from '../../../src/cloud/registry/gateway-registry.ts';
import { type CloudStore, openCloudStore } from '../../../src/cloud/store/cloud-store.ts';
import { storeBackends } from '../../support/cloud-stores.ts';

const gateway = (id: string, extra: Partial<RegisteredGateway> = {}): RegisteredGateway => ({
  id,
  tokenHash: hashGatewayToken(`token-of-${id}-0123456789`),
  disabled: false,
  maxTunnels: 8,
  cpuThreshold: null,
  lineThreshold: null,
  source: 'api',
  createdAt: 1000,
  updatedAt: 1000,
  ...extra,
});

describe('gateway tokens', () => {
  it('are 256 random bits, stored only as a hash that matches nothing else', () => {
    const token = newGatewayToken();
    expect(token).toMatch(/^mfpgw_[A-Za-z0-9_-]{43}$/);
    expect(newGatewayToken()).not.toBe(token);
    const hash = hashGatewayToken(token);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hash).not.toContain(token.slice(6));
    expect(tokenMatchesHash(token, hash)).toBe(true);
    expect(tokenMatchesHash(`${token}x`, hash)).toBe(false);
    expect(tokenMatchesHash(token, 'sha256:short')).toBe(false);
  });
});

describe.each(storeBackends())('gateway registry on $name', ({ fresh }) => {
  let store: CloudStore;
  const open = async () => {
    store = await openCloudStore(await fresh(), { documentsDir: tmpdir(), clock: systemClock });
    return store.gateways;
  };
  afterEach(async () => {
    await store?.close();
  });

  it('creates a gateway once, reads, changes and deletes it', async () => {
    const registry = await open();
    expect(await registry.create(gateway('gw-1', { cpuThreshold: 1.5 }))).toBe(true);
    expect(await registry.create(gateway('gw-1', { maxTunnels: 2 }))).toBe(false);
    expect(await registry.get('gw-1')).toEqual(gateway('gw-1', { cpuThreshold: 1.5 }));
    expect(await registry.get('gw-2')).toBeUndefined();

    const changed = await registry.update(
      'gw-1',
      { disabled: true, maxTunnels: 3, cpuThreshold: null, lineThreshold: 125_000 },
      2000,
    );
    expect(changed).toEqual(
      gateway('gw-1', { disabled: true, maxTunnels: 3, lineThreshold: 125_000, updatedAt: 2000 }),
    );
    expect(await registry.update('gw-2', { disabled: true }, 2000)).toBeUndefined();

    expect(await registry.delete('gw-1')).toBe(true);
    expect(await registry.delete('gw-1')).toBe(false);
    expect(await registry.get('gw-1')).toBeUndefined();
  });

  it('lists in pages by id, bytewise', async () => {
    const registry = await open();
    for (const id of ['b', 'a', 'B', 'a.2', 'c']) await registry.create(gateway(id));
    const first = await registry.list({ limit: 2 });
    expect(first.map((g) => g.id)).toEqual(['B', 'a']);
    const second = await registry.list({ after: 'a', limit: 2 });
    expect(second.map((g) => g.id)).toEqual(['a.2', 'b']);
    expect((await registry.list({ after: 'b', limit: 2 })).map((g) => g.id)).toEqual(['c']);
    expect(await registry.list({ after: 'c', limit: 2 })).toEqual([]);
  });

  it('seeds from the config: adds, follows config edits, leaves what the API took over', async () => {
    const registry = await open();
    await seedGateways(registry, [{ id: 'seeded', token: 'first-token-0123456789', maxTunnels: 4 }], 1000);
    expect(await registry.get('seeded')).toMatchObject({
      source: 'config',
      maxTunnels: 4,
      tokenHash: hashGatewayToken('first-token-0123456789'),
    });
    await seedGateways(registry, [{ id: 'seeded', token: 'second-token-012345678', maxTunnels: 5 }], 2000);
    expect(await registry.get('seeded')).toMatchObject({
      maxTunnels: 5,
      tokenHash: hashGatewayToken('second-token-012345678'),
      updatedAt: 2000,
    });

    await registry.update('seeded', { source: 'api', tokenHash: hashGatewayToken('rotated') }, 3000);
    await seedGateways(registry, [{ id: 'seeded', token: 'second-token-012345678', maxTunnels: 6 }], 4000);
    expect(await registry.get('seeded')).toMatchObject({
      source: 'api',
      maxTunnels: 5,
      tokenHash: hashGatewayToken('rotated'),
    });
  });
});

describe('the SQLite gateway registry', () => {
  it('keeps what it read, frozen, and sees every change made through it', async () => {
    const store = await openCloudStore(
      { path: ':memory:', maxConnections: 1 },
      { documentsDir: tmpdir(), clock: systemClock },
    );
    try {
      const registry = store.gateways;
      expect(await registry.get('gw-1')).toBeUndefined();
      await registry.create(gateway('gw-1'));
      const first = await registry.get('gw-1');
      expect(first).toEqual(gateway('gw-1'));
      // Every upgrade and push reads it: the second read is the first one's copy.
      expect(await registry.get('gw-1')).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      await registry.update('gw-1', { disabled: true }, 2000);
      expect(await registry.get('gw-1')).toMatchObject({ disabled: true, updatedAt: 2000 });
      await registry.delete('gw-1');
      expect(await registry.get('gw-1')).toBeUndefined();
      await registry.create(gateway('gw-1', { maxTunnels: 2 }));
      expect(await registry.get('gw-1')).toMatchObject({ maxTunnels: 2, disabled: false });
    } finally {
      await store.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { ConfigError } from '../../src/config/config-error.ts';

const base = { api: { token: 'a'.repeat(32) } };

function issues(raw: unknown): { key: string; expected: string }[] {
  try {
    parseCloudConfig(raw, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('the cloud config’s cluster section', () => {
  it('is absent by default: one node on SQLite', () => {
    expect(parseCloudConfig(base, { env: {} }).cluster).toBeUndefined();
  });

  it('switches a fleet on with store.url and cluster.nats', () => {
    const config = parseCloudConfig(
      { ...base, store: { url: 'postgres://u:p@db/cloud' }, cluster: { nats: 'nats://bus:4222' } },
      { env: { MFPGW_NATS_TOKEN: 'n'.repeat(32) } },
    );
    expect(config.cluster).toEqual({ nats: 'nats://bus:4222', token: 'n'.repeat(32), nodeTimeout: 5_000 });
  });

  it('names cluster.nats when the nodes would share no database', () => {
    expect(issues({ ...base, cluster: { nats: 'nats://bus:4222' } })).toEqual([
      expect.objectContaining({ key: 'cluster.nats', expected: expect.stringContaining('store.url') }),
    ]);
  });

  it('names the key of a bad URL or node name', () => {
    const found = issues({
      ...base,
      store: { url: 'postgres://u:p@db/cloud' },
      cluster: { nats: 'http://bus', node: 'a b' },
    });
    expect(found.map((i) => i.key).sort()).toEqual(['cluster.nats', 'cluster.node']);
  });
});

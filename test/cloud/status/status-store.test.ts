import { describe, expect, it } from 'vitest';
import { StatusStore } from '../../../src/cloud/status/status-store.ts';

const base = {
  gatewayId: 'g1',
  clientId: 'c1',
  connectionId: 'line-0',
  role: 'push' as const,
  dataType: 'keepalive' as const,
  status: 'OK' as const,
  idleBeforeMs: 1000,
  connectionAgeMs: 5000,
  policyLimited: false,
};

describe('status store', () => {
  it('keeps the seed’s record and returns the most recent ones oldest first', () => {
    const store = new StatusStore(':memory:');
    for (let i = 0; i < 5; i++) store.append({ ...base, time: 1000 + i, idleBeforeMs: i });
    store.append({ ...base, gatewayId: 'g2', time: 2000 });
    store.append({ ...base, time: 3000, status: 'NG', failure: 'ack-timeout' });
    const recent = store.recent('g1', 1002, 3);
    expect(recent.map((r) => r.time)).toEqual([1003, 1004, 3000]);
    expect(recent[2]).toMatchObject({ status: 'NG', failure: 'ack-timeout', gatewayId: 'g1' });
    expect(store.prune(1003)).toBe(3);
    store.close();
  });

  it('appends many records in one transaction, or none when one of them is refused', () => {
    const store = new StatusStore(':memory:');
    const records = [1, 2, 3].map((time) => ({ ...base, time }));
    expect(store.appendMany(records)).toBe(3);
    expect(store.recent('g1', 0, 10).map((r) => r.time)).toEqual([1, 2, 3]);
    const bad = { ...base, time: 5, status: 'maybe' as 'OK' };
    expect(() => store.appendMany([{ ...base, time: 4 }, bad])).toThrow(/CHECK/);
    expect(store.recent('g1', 0, 10).map((r) => r.time)).toEqual([1, 2, 3]);
    store.close();
  });

  it('remembers gateways and finds their site peers', () => {
    const store = new StatusStore(':memory:');
    const info = {
      clientId: 'c',
      domain: 'example.co.jp',
      egressAddress: '203.0.113.9',
      siteKey: 'example.co.jp|203.0.113.9',
      lastHelloAt: 1,
    };
    store.saveGateway({ ...info, gatewayId: 'a' });
    store.saveGateway({ ...info, gatewayId: 'b' });
    store.saveGateway({ ...info, gatewayId: 'c', siteKey: 'other' });
    expect(store.sitePeers('example.co.jp|203.0.113.9', 'a').map((g) => g.gatewayId)).toEqual(['b']);
    expect(store.gateway('c')?.siteKey).toBe('other');
    store.close();
  });
});

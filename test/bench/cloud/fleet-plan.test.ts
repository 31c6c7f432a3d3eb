import { describe, expect, it } from 'vitest';
import { nodeOf, simGateway, simSiteKey, splitRange } from '../../../bench/cloud/fleet-plan.ts';
import { helloSchema } from '../../../src/protocol/messages.ts';

describe('bench:cloud fleet plan', () => {
  it('derives the same identity from an index and the run secret, and a token per gateway', () => {
    const a = simGateway(42, 'secret', 3);
    expect(a).toEqual(simGateway(42, 'secret', 3));
    expect(a.id).toBe('gw-00042');
    expect(a.token).not.toBe(simGateway(43, 'secret', 3).token);
    expect(a.token).not.toBe(simGateway(42, 'other', 3).token);
  });

  it('gives ids, client UUIDs and domains a hello accepts, unique across 10,000 gateways', () => {
    const fleet = Array.from({ length: 10_000 }, (_, i) => simGateway(i, 's', 3));
    expect(new Set(fleet.map((g) => g.clientId)).size).toBe(10_000);
    for (const g of [fleet[0], fleet[9_999]]) {
      const hello = {
        type: 'hello',
        v: 1,
        gatewayId: g?.id,
        clientId: g?.clientId,
        connectionId: 'line-0',
        role: 'push',
        domain: g?.domain,
        uptimeMs: 0,
        cpuLoad: 0,
        powerMode: 'normal',
        keepaliveMs: 50_000,
        policyLimited: false,
        software: 'x',
        lost: [],
      };
      expect(helloSchema.safeParse(hello).success).toBe(true);
    }
  });

  it('puts siteSize consecutive gateways in one site and deals whole sites to the nodes', () => {
    const site = (i: number) => simSiteKey(simGateway(i, 's', 3));
    expect(site(0)).toBe(site(2));
    expect(site(2)).not.toBe(site(3));
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => nodeOf(i, 2, 3))).toEqual([0, 0, 0, 1, 1, 1, 0]);
    expect(nodeOf(12345, 1, 3)).toBe(0);
  });

  it('splits a range into even contiguous parts that cover it once', () => {
    expect(splitRange(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRange(2, 4)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });
});

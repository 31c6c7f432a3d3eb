import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { decideAdvice } from '../../../src/cloud/learning/interval-decision.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { LearningStore, NewRecord } from '../../../src/cloud/status/learning-store.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';
import { twoGatewaySite } from './two-gateway-site.ts';

const stores: SqliteLearningStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

const keepalive = (gatewayId: string, time: number, idleBeforeMs: number): NewRecord => ({
  time,
  gatewayId,
  clientId: `${gatewayId}-client`,
  connectionId: 'line-0',
  role: 'push',
  dataType: 'keepalive',
  status: 'OK',
  idleBeforeMs,
  connectionAgeMs: 600_000,
  policyLimited: false,
});

/** A site of two gateways over a real SQLite store, counting the advisor's reads of the site. */
async function site(soleWriter: boolean) {
  const clock = new ManualClock(1_000_000);
  const sqlite = new SqliteLearningStore(':memory:');
  stores.push(sqlite);
  const reads = { site: 0 };
  // The same store, told to say whether other nodes write it.
  const store = new Proxy(sqlite, {
    get(target, key) {
      if (key === 'soleWriter') return soleWriter;
      if (key === 'siteMembers') reads.site++;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as LearningStore;
  const advisor = await twoGatewaySite({ clock, sqlite, store, probeEnabled: false });
  return { clock, sqlite, advisor, reads };
}

describe("the advisor's view of a site", () => {
  it('reads a site once from a store no other node writes, and sees its own changes', async () => {
    const { clock, advisor, reads } = await site(true);
    await advisor.observe('gw-a', [keepalive('gw-a', clock.now(), 30_000)]);
    for (let i = 0; i < 20; i++) {
      clock.advance(25_000);
      await advisor.observe(i % 2 ? 'gw-a' : 'gw-b', [
        keepalive(i % 2 ? 'gw-a' : 'gw-b', clock.now(), 20_000),
      ]);
    }
    expect(reads.site).toBe(1);
    // gw-b learns a longer gap: gw-a's next decision has it among its peers.
    await advisor.observe('gw-b', [keepalive('gw-b', clock.now(), 40_000)]);
    const seen = await advisor.observe('gw-a', []);
    expect(seen.peers.map((p) => p.lowerMs)).toEqual([40_000]);
    expect(reads.site).toBe(1);
  });

  it('reads a site again when other nodes write the store, and sees what they wrote', async () => {
    const { clock, sqlite, advisor, reads } = await site(false);
    await advisor.observe('gw-a', []);
    expect(reads.site).toBe(1);
    // Another node folds a keep-alive of gw-b (here: straight into the shared store).
    await sqlite.record('gw-b', [keepalive('gw-b', clock.now(), 45_000)], (current, records) =>
      foldRecords(current, records, { config: CONFIG }),
    );
    clock.advance(60_000);
    const seen = await advisor.observe('gw-a', []);
    expect(reads.site).toBe(2);
    expect(seen.peers.map((p) => p.lowerMs)).toEqual([45_000]);
  });

  it('decides again only when a bounds changed: one advice object until then, as decided afresh', async () => {
    const { clock, advisor } = await site(true);
    const fresh = (snapshot: Awaited<ReturnType<typeof advisor.observe>>) =>
      decideAdvice({ own: snapshot.own, peers: snapshot.peers, config: CONFIG });
    const first = await advisor.observe('gw-a', [keepalive('gw-a', clock.now(), 30_000)]);
    const advice = advisor.state('gw-a', first).advice;
    expect(advice).toEqual(fresh(first));
    clock.advance(25_000);
    const same = await advisor.observe('gw-a', [keepalive('gw-a', clock.now(), 20_000)]);
    expect(advisor.state('gw-a', same).advice).toBe(advice);
    // A peer learns more: gw-a's advice is decided again.
    await advisor.observe('gw-b', [keepalive('gw-b', clock.now(), 45_000)]);
    await advisor.observe('gw-b', [keepalive('gw-b', clock.now(), 45_000)]);
    const after = await advisor.observe('gw-a', []);
    const changed = advisor.state('gw-a', after).advice;
    expect(changed).not.toBe(advice);
    expect(changed).toEqual(fresh(after));
  });
});

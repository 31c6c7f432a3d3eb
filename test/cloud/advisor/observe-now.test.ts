import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { NewRecord } from '../../../src/cloud/status/learning-store.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';
import { SITE_GATEWAYS, twoGatewaySite } from './two-gateway-site.ts';

const stores: SqliteLearningStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

interface Step {
  gateway: number;
  advanceMs: number;
  idleBeforeMs: number;
  died: boolean;
}

const record = (gatewayId: string, time: number, step: Step, n: number): NewRecord => ({
  time,
  gatewayId,
  clientId: `${gatewayId}-client`,
  connectionId: 'line-0',
  sessionId: step.died ? `session-${n}` : undefined,
  role: 'push',
  dataType: 'keepalive',
  status: step.died ? 'NG' : 'OK',
  failure: step.died ? 'reset' : undefined,
  idleBeforeMs: step.idleBeforeMs,
  connectionAgeMs: 600_000,
  policyLimited: false,
});

/** A site of two connected gateways over a real SQLite store. */
async function site() {
  const clock = new ManualClock(1_000_000);
  const store = new SqliteLearningStore(':memory:');
  stores.push(store);
  const advisor = await twoGatewaySite({ clock, sqlite: store, probeEnabled: true });
  return { clock, store, advisor };
}

const steps = fc.array(
  fc.record({
    gateway: fc.integer({ min: 0, max: 1 }),
    advanceMs: fc.integer({ min: 0, max: 120_000 }),
    idleBeforeMs: fc.oneof(fc.constantFrom(20_000, 30_000, 45_000), fc.integer({ min: 0, max: 600_000 })),
    died: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  }),
  { minLength: 1, maxLength: 40 },
);

describe('a keep-alive folded at once (observeNow)', () => {
  it('advises, elects and logs exactly as the asynchronous way, whichever way each exchange took', async () => {
    let atOnce = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (run) => {
        const slow = await site();
        const fast = await site();
        for (const [n, step] of run.entries()) {
          const id = SITE_GATEWAYS[step.gateway] as string;
          slow.clock.advance(step.advanceMs);
          fast.clock.advance(step.advanceMs);
          const expected = await slow.advisor.observe(id, [record(id, slow.clock.now(), step, n)]);
          const now = fast.advisor.observeNow(id, [record(id, fast.clock.now(), step, n)]);
          if (now) atOnce++;
          const got = now ?? (await fast.advisor.observe(id, [record(id, fast.clock.now(), step, n)]));
          expect(got).toEqual(expected);
          expect(fast.advisor.state(id, got)).toEqual(slow.advisor.state(id, expected));
        }
        for (const id of SITE_GATEWAYS) {
          const rows = (s: SqliteLearningStore) =>
            s.recent(id, 0, 1000).then((all) => all.map(({ id: _, ...row }) => row));
          expect(await rows(fast.store)).toEqual(await rows(slow.store));
        }
      }),
      { numRuns: 150 },
    );
    // The runs did take the synchronous way, often: about one exchange in ten of these random
    // runs teaches nothing new. 150 runs take it ~325 times (the least of 150 tries: 242);
    // 60 runs took it 93-171 times, and a bound of 100 failed one seed in fourteen.
    expect(atOnce).toBeGreaterThan(100);
  });

  it('is taken by the keep-alives that change nothing, and left to observe() by the ones that do', async () => {
    const { clock, store, advisor } = await site();
    const ok = (idleBeforeMs: number): Step => ({ gateway: 0, advanceMs: 0, idleBeforeMs, died: false });
    // The first keep-alive teaches a lower bound: it must be written before the answer.
    expect(advisor.observeNow('gw-a', [record('gw-a', clock.now(), ok(30_000), 0)])).toBeUndefined();
    await advisor.observe('gw-a', [record('gw-a', clock.now(), ok(30_000), 0)]);
    clock.advance(25_000);
    // A shorter gap than one already survived teaches nothing: answered at once, written behind.
    expect(advisor.observeNow('gw-a', [record('gw-a', clock.now(), ok(20_000), 1)])).toBeDefined();
    // A death is written at once (it may repeat one already logged).
    const death = { ...ok(40_000), died: true };
    expect(advisor.observeNow('gw-a', [record('gw-a', clock.now(), death, 2)])).toBeUndefined();
    expect(
      store.recordUnchanged('gw-a', [record('gw-a', clock.now(), death, 2)], (current, records) =>
        foldRecords(current, records, { config: CONFIG }),
      ),
    ).toBeUndefined();
    // A gateway with no line here: its site is not known at once.
    expect(advisor.observeNow('gw-z', [record('gw-z', clock.now(), ok(20_000), 3)])).toBeUndefined();
  });
});

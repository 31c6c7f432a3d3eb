import { describe, expect, it } from 'vitest';
import { BENCH_CASES, benchWeek, officeSite } from '../../../bench/sim/scenarios.ts';
import { DAY_MS, WeekSimulation } from '../../../bench/sim/week.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { DEFAULT_ANSWER_TIMEOUT_MS, SLOW_START } from '../../../src/config/keepalive-defaults.ts';
import type { SlowStart } from '../../../src/gateway/keepalive/keepalive-manager.ts';

const T = 7_000;

/** A minute behind a firewall that forgets idle flows at 7 s and tells nobody. */
function silentSevenSeconds(slowStart: SlowStart | null) {
  const sim = new WeekSimulation({
    seed: 7,
    pushMeanGapMs: null,
    slowStart,
    durationMs: 60_000,
    sites: [officeSite(T)],
  });
  const report = sim.run();
  /** When a gateway first took advice below the default, as an offset. */
  const firstLowered = (id: string) =>
    (sim.metrics.adviceSteps.get(id) ?? []).find((s) => s.intervalMs < CONFIG.defaultIntervalMs)?.time;
  return { sim, report, firstLowered };
}

describe('slow start behind a silent firewall stricter than the default (7 s, issue 15)', () => {
  it('keeps every push line alive until the site’s first evidence reaches it, so the second gateway hears it at once', () => {
    const { sim, report, firstLowered } = silentSevenSeconds(SLOW_START);
    expect(report.safeLineDeathsBeforeConvergence).toBe(0);
    expect(sim.metrics.keepaliveDeathTimes).toEqual([]);
    // The representative's probes lower the advice; the cloud tells the other gateway over its
    // live lines in the same moment.
    expect(firstLowered('gw-2')).toBe(firstLowered('gw-1'));
  });

  it('without it, the second gateway’s lines die at T and it learns only at the default plus the answer wait', () => {
    const { sim, report, firstLowered } = silentSevenSeconds(null);
    expect(report.safeLineDeathsBeforeConvergence).toBe(4);
    expect((firstLowered('gw-2') as number) - sim.startMs).toBe(
      CONFIG.defaultIntervalMs + DEFAULT_ANSWER_TIMEOUT_MS,
    );
  });
});

describe('the bench case "7 s" (a silent firewall, issue 15)', () => {
  it('converges on both gateways within 3 × T, with no push line dying and no push lost', () => {
    const c = BENCH_CASES.find((b) => b.name === '7 s');
    if (!c) throw new Error('bench case "7 s" is gone');
    const report = new WeekSimulation({ ...benchWeek(c), durationMs: DAY_MS }).run();
    expect(report.convergeMs as number).toBeLessThanOrEqual(3 * c.timeoutMs);
    expect(report.safeLineDeathsBeforeConvergence).toBe(0);
    expect(report.lostPushes).toBe(0);
  });
});

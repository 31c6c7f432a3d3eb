import { describe, expect, it, vi } from 'vitest';
import { BENCH_CASES, benchWeek, officeSite } from '../../../bench/sim/scenarios.ts';
import { DAY_MS, WeekSimulation } from '../../../bench/sim/week.ts';
import type { DeathReport, LineName } from '../../../bench/sim/wire.ts';

const T = 7_000;

/** Every loss the gateways reported on reconnecting, as (gateway, line, report) with offsets. */
function reportsOf(sim: WeekSimulation) {
  const reports: Array<{ gateway: string; line: LineName; report: DeathReport }> = [];
  const connect = sim.cloud.connect.bind(sim.cloud);
  vi.spyOn(sim.cloud, 'connect').mockImplementation((gateway, line, sessionId, report) => {
    if (report) reports.push({ gateway, line, report: { ...report, at: report.at - sim.startMs } });
    return connect(gateway, line, sessionId, report);
  });
  return reports;
}

describe('the bench week behind a proxy that closes idle tunnels (7 s, issue 15 item 4)', () => {
  it('tells both ends at the close: every line reconnects at once and reports the gap it sat, as the real gateway', () => {
    const sim = new WeekSimulation({
      seed: 5,
      pushMeanGapMs: null,
      // Push lines that sit past T, as at the default from the start: the close is what is tested.
      slowStart: null,
      sites: [officeSite(T, { onExpiry: 'close' })],
    });
    const reports = reportsOf(sim);
    sim.runUntil(T);
    // Both push lines of both gateways closed at T (the default keep-alive is 25 s), and the
    // representative's probe lines planned past T with them: all reported at once, as
    // PushLine.ended reports a close with no keep-alive out ('error', idle since the last byte).
    const pushReports = reports.filter((r) => !r.line.startsWith('probe-'));
    expect(pushReports.map((r) => `${r.gateway}/${r.line}`).sort()).toEqual([
      'gw-1/line-0',
      'gw-1/line-1',
      'gw-2/line-0',
      'gw-2/line-1',
    ]);
    for (const { report } of reports) {
      expect(report).toMatchObject({ reason: 'error', idleBeforeMs: T, connectionAgeMs: T, at: T });
    }
    // Nobody waited for a keep-alive: no line was dark, and the second gateway, which has no
    // probe lines, knows U now rather than at its first keep-alive (25 s) plus the answer wait.
    expect(sim.metrics.keepaliveDeathTimes).toEqual([]);
    for (const spell of sim.metrics.darkSpells) expect(spell.endedAt - spell.diedAt).toBe(0);
    for (const gw of [sim.gateway('gw-1'), sim.gateway('gw-2')]) {
      expect(gw.advice?.upperBoundMs).toBe(T);
      expect(gw.advice?.intervalMs).toBeLessThan(T);
    }
  });

  it.each(BENCH_CASES.filter((c) => c.onExpiry === 'close'))(
    '$name: converges within 3 × T, loses no push, and never leaves a line dark',
    (c) => {
      const report = new WeekSimulation({ ...benchWeek(c), durationMs: 2 * DAY_MS }).run();
      expect(report.convergeMs as number).toBeLessThanOrEqual(3 * c.timeoutMs);
      expect(report.lostPushes).toBe(0);
      expect(report.failedPushAttempts).toBe(0);
      expect(report.darkTimeMs).toBe(0);
      for (const advised of Object.values(report.finalAdviceMs)) {
        expect(advised).toBeLessThan(c.timeoutMs);
        expect(advised).toBeGreaterThanOrEqual(0.9 * c.timeoutMs);
      }
    },
  );
});

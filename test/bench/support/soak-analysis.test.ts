import { describe, expect, it } from 'vitest';
import { analyseSoak, type MinuteRow, stretchLevels } from '../../../bench/support/soak-analysis.ts';

const PARTS = { v8PagesMB: 16, codeMB: 3, mallocMB: 12, otherMB: 4 };
/** Operations a minute at the normal rate, with a day of them. */
const PER_MINUTE = 74;
const OPTIONS = { warmupMinutes: 10, maxSlopeMBPerHour: 0.5, operationsPerDayAtRate1: PER_MINUTE * 60 * 24 };

/** 40 minutes at `rate` times the normal activity, the held heap growing by `heldPerHour`, private memory jittering. */
function run(rate: number, heldPerHour: number): MinuteRow[] {
  return Array.from({ length: 40 }, (_, i) => {
    const minute = i + 1;
    const jitter = (minute % 3) * 0.5;
    return {
      minute,
      operations: minute * PER_MINUTE * rate,
      anonMB: 40 + jitter,
      anonMinMB: 39 + jitter,
      anonMaxMB: 41 + jitter,
      rssMB: 95,
      parts: PARTS,
      heapUsedMB: 20,
      heapTotalMB: 25,
      externalMB: 5,
      afterGc: {
        usedMB: 18,
        objectsMB: 13 + (heldPerHour * minute) / 60,
        codeMB: 5,
        bytecodeMB: 2,
        machineCodeMB: 2.5,
        externalMB: 4.6,
        anonMB: 36 + jitter,
        parts: PARTS,
      },
    };
  });
}

describe("a soak's verdict", () => {
  it('finds a flat held heap flat, with a small standard error, and passes', () => {
    const { afterGcTrends, verdict, operations } = analyseSoak(run(1, 0), OPTIONS);
    expect(afterGcTrends.heldMB.slopeMBPerHour).toBe(0);
    expect(afterGcTrends.anonMB.stdErrMBPerHour).toBeGreaterThan(0);
    expect(operations.afterWarmup).toBe(30 * PER_MINUTE);
    expect(operations.rateAfterWarmup).toBe(1);
    expect(verdict.withinBound).toBe(true);
  });

  it('fails a held heap growing by 1 MB an hour at the normal rate', () => {
    const { afterGcTrends, verdict } = analyseSoak(run(1, 1), OPTIONS);
    expect(afterGcTrends.heldMB.slopeMBPerHour).toBeCloseTo(1, 6);
    expect(verdict.heldWeekOfOperationsUpperMB).toBeCloseTo(168, 0);
    expect(verdict.withinBound).toBe(false);
  });

  it('counts growth at ten times the rate per operation: 1 MB/h there is a tenth of it a week of normal operations', () => {
    const { verdict, operations } = analyseSoak(run(10, 1), OPTIONS);
    expect(operations.rateAfterWarmup).toBe(10);
    expect(operations.equivalentDaysAtRate1).toBeCloseTo(400 / (60 * 24), 2);
    expect(verdict.heldUpperMBPerHour).toBeCloseTo(1, 6);
    expect(verdict.heldWeekOfOperationsUpperMB).toBeCloseTo(16.8, 1);
    expect(verdict.withinBound).toBe(true);
  });
});

describe("a soak's stretches", () => {
  it('gives each whole stretch its mean level, a growing heap rising from one to the next', () => {
    const rows = run(1, 6).filter((r) => r.minute > 10);
    const levels = stretchLevels(rows, 10);
    expect(levels.map((l) => [l.fromMinute, l.toMinute])).toEqual([
      [11, 20],
      [21, 30],
      [31, 40],
    ]);
    // 6 MB/h is 1 MB each 10 minutes; private memory's jitter repeats every 3 minutes.
    const held = levels.map((l) => l.heldAfterGcMB);
    expect(held.slice(1).map((level, i) => level - (held[i] as number))).toEqual([
      expect.closeTo(1, 6),
      expect.closeTo(1, 6),
    ]);
    expect(levels.map((l) => l.mallocAfterGcMB)).toEqual([12, 12, 12]);
  });

  it('leaves out a last stretch that is not whole', () => {
    expect(
      stretchLevels(
        run(1, 0).filter((r) => r.minute > 15),
        10,
      ),
    ).toHaveLength(2);
  });
});

/**
 * What a soak's minutes say (bench/soak.ts): the trend after the warm-up of each series, each
 * with its standard error, and the verdict. Apart from the run so that a run's JSON can be read
 * again with the same rules (`node bench/soak.ts --reanalyse FILE`).
 *
 * The verdict is on growth per operation and with time at once: a run at N times the normal
 * activity divides its slopes by N (by the operations it actually ran), so it bounds what a
 * week of the normal rate's operations would add, N times more finely than a normal run;
 * growth with time alone (the JIT's warm-up) is the normal-rate run's to bound.
 */

import type { HeapAfterGc } from './inspector.ts';
import { type LinearTrend, linearTrend } from './linear-trend.ts';
import type { PrivateParts } from './memory-map.ts';

/** One minute of a soak. */
export interface MinuteRow {
  minute: number;
  /** Pushes, tunnels and jobs done so far. */
  operations: number;
  anonMB: number;
  anonMinMB: number;
  anonMaxMB: number;
  rssMB: number;
  parts: PrivateParts;
  heapUsedMB: number | null;
  heapTotalMB: number | null;
  externalMB: number | null;
  /** Right after a full GC at the minute's end: the live heap, and the private memory. */
  afterGc: (HeapAfterGc & { anonMB: number; parts: PrivateParts }) | null;
}

/** A trend in MB an hour: the slope, its standard error, the fit's R². */
export interface TrendPerHour {
  slopeMBPerHour: number;
  stdErrMBPerHour: number;
  r2: number;
}

const PART_NAMES = ['v8PagesMB', 'codeMB', 'mallocMB', 'otherMB'] as const;
const HOURS_A_WEEK = 24 * 7;
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const perHour = (t: LinearTrend): TrendPerHour => ({
  slopeMBPerHour: round(t.slope * 60, 3),
  stdErrMBPerHour: round(t.slopeStdErr * 60, 3),
  r2: round(t.r2, 3),
});
/** The slope plus two standard errors: what the growth is, at about 95 %, at most. */
const upper = (t: TrendPerHour) => t.slopeMBPerHour + 2 * t.stdErrMBPerHour;

/** The mean level of a soak's series over one stretch of minutes after the warm-up, MB. */
export interface StretchLevel {
  fromMinute: number;
  toMinute: number;
  privateAfterGcMB: number;
  heldAfterGcMB: number;
  mallocAfterGcMB: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The measured minutes cut into stretches of `minutes` (the last one whole, or left out), and
 * each one's mean level: what a long run shows beside its slope — a leak raises every stretch
 * over the one before, malloc's swings move a stretch's mean by a fraction of their size.
 */
export function stretchLevels(measured: MinuteRow[], minutes: number): StretchLevel[] {
  const rows = measured.filter((r) => r.afterGc !== null);
  const levels: StretchLevel[] = [];
  for (let at = 0; at + minutes <= rows.length; at += minutes) {
    const stretch = rows.slice(at, at + minutes);
    const after = stretch.map((r) => r.afterGc as NonNullable<MinuteRow['afterGc']>);
    levels.push({
      fromMinute: stretch[0]?.minute ?? 0,
      toMinute: stretch.at(-1)?.minute ?? 0,
      privateAfterGcMB: round(mean(after.map((a) => a.anonMB)), 2),
      heldAfterGcMB: round(mean(after.map((a) => a.objectsMB + a.externalMB)), 2),
      mallocAfterGcMB: round(mean(after.map((a) => a.parts.mallocMB)), 2),
    });
  }
  return levels;
}

/** Minutes in each stretch of SoakAnalysis.stretches. */
export const STRETCH_MINUTES = 20;

/** What analyseSoak says of a run. */
export type SoakAnalysis = ReturnType<typeof analyseSoak>;

/** Trends and verdict of a soak's minutes. */
export function analyseSoak(
  perMinute: MinuteRow[],
  options: { warmupMinutes: number; maxSlopeMBPerHour: number; operationsPerDayAtRate1: number },
) {
  const measured = perMinute.filter((r) => r.minute > options.warmupMinutes);
  const trendOf = (y: (r: MinuteRow) => number | null) =>
    linearTrend(
      measured.flatMap((r) => {
        const value = y(r);
        return value === null ? [] : [{ x: r.minute, y: value }];
      }),
    );
  const trend = trendOf((r) => r.anonMB);
  const afterGcTrends = {
    heldMB: perHour(trendOf((r) => (r.afterGc ? r.afterGc.objectsMB + r.afterGc.externalMB : null))),
    objectsMB: perHour(trendOf((r) => r.afterGc?.objectsMB ?? null)),
    externalMB: perHour(trendOf((r) => r.afterGc?.externalMB ?? null)),
    codeMB: perHour(trendOf((r) => r.afterGc?.codeMB ?? null)),
    bytecodeMB: perHour(trendOf((r) => r.afterGc?.bytecodeMB ?? null)),
    machineCodeMB: perHour(trendOf((r) => r.afterGc?.machineCodeMB ?? null)),
    anonMB: perHour(trendOf((r) => r.afterGc?.anonMB ?? null)),
    mallocMB: perHour(trendOf((r) => r.afterGc?.parts.mallocMB ?? null)),
  };

  // The warm-up's last minute to the run's last: the operations the trends saw.
  const from = perMinute.find((r) => r.minute === options.warmupMinutes) ?? { minute: 0, operations: 0 };
  const last = perMinute.at(-1) ?? from;
  const afterWarmup = last.operations - from.operations;
  const normalPerHour = options.operationsPerDayAtRate1 / 24;
  const scale =
    last.minute > from.minute ? afterWarmup / ((last.minute - from.minute) / 60) / normalPerHour : 1;
  const operations = {
    total: last.operations,
    afterWarmup,
    perDayAtRate1: options.operationsPerDayAtRate1,
    weekAtRate1: 7 * options.operationsPerDayAtRate1,
    equivalentDaysAtRate1: round(last.operations / options.operationsPerDayAtRate1, 2),
    /** The rate after the warm-up, in times the normal rate. */
    rateAfterWarmup: round(scale, 2),
  };

  const held = afterGcTrends.heldMB;
  const privateAfterGc = afterGcTrends.anonMB;
  const verdict = {
    heldUpperMBPerHour: round(upper(held), 3),
    privateAfterGcUpperMBPerHour: round(upper(privateAfterGc), 3),
    /** A week of the normal rate's operations, were each to leave what this run's did: at most. */
    heldWeekOfOperationsUpperMB: round((upper(held) / scale) * HOURS_A_WEEK),
    privateAfterGcWeekOfOperationsUpperMB: round((upper(privateAfterGc) / scale) * HOURS_A_WEEK),
    // Private memory's noise (malloc's swings of 1-2 MB) makes its standard error over half an
    // hour ~1 MB/h at the normal rate: its slope is held to the bound, its upper bound reported.
    withinBound:
      upper(held) / scale <= options.maxSlopeMBPerHour &&
      privateAfterGc.slopeMBPerHour / scale <= options.maxSlopeMBPerHour,
  };
  return {
    slopeMBPerHour: round(trend.slope * 60, 3),
    slopeR2: round(trend.r2, 3),
    slopeStdErrMBPerHour: round(trend.slopeStdErr * 60, 3),
    heapSlopeMBPerHour: round(trendOf((r) => r.heapUsedMB).slope * 60, 3),
    partSlopesMBPerHour: Object.fromEntries(
      PART_NAMES.map((part) => [part, round(trendOf((r) => r.parts[part]).slope * 60, 3)]),
    ),
    anonLowsTrend: perHour(trendOf((r) => r.anonMinMB)),
    afterGcTrends,
    verdict,
    operations,
    stretches: stretchLevels(measured, STRETCH_MINUTES),
    anonFirstMB: perMinute[0]?.anonMB ?? null,
    anonAfterWarmupMB: measured[0]?.anonMB ?? null,
    anonLastMB: perMinute.at(-1)?.anonMB ?? null,
  };
}

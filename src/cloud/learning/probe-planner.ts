import { isConverged, probeCeilingMs } from './convergence.ts';
import type { Bounds } from './evidence.ts';
import { type LearningConfig, PROBE_GROWTH_FACTOR, PROBE_LINES } from './learning-config.ts';

/**
 * The idle gap the representative's probe line should sit before the next probe, or null when
 * there is nothing left to learn: the shortest of the gaps probeTargets asks for.
 */
export function nextProbeGap(bounds: Bounds, config: LearningConfig): number | null {
  return probeTargets(bounds, config, 1)[0] ?? null;
}

/**
 * The idle gaps worth testing now, shortest first, at most `count` (one per probe line); empty
 * when there is nothing left to learn.
 *
 * Idle probe lines cost nothing on the wire, so several gaps are tested at once:
 * - without an upper bound, a ladder growing ×1.4 from max(L, default) (the seed's ladder, with
 *   no holes): with `count` lines the rungs overlap, so the first failing rung — within a
 *   factor of 1.4 above the timeout — is reached after about its own gap; while L is below the
 *   default (or unknown), the ladder's rungs below the default come first (rungsBelowDefault),
 *   so a middlebox stricter than the default is bracketed within seconds;
 * - with both bounds, `count` gaps spaced geometrically inside (L, U): each round of answers
 *   shrinks log(U/L) by a factor count + 1, so with eight lines a factor-1.4 bracket is within
 *   the 5 % tolerance after one round (9 > ln 1.4 / −ln 0.95 ≈ 6.6) unless lines were lost.
 */
export function probeTargets(bounds: Bounds, config: LearningConfig, count = PROBE_LINES): number[] {
  if (isConverged(bounds, config)) return [];
  const { lowerMs, upperMs } = bounds;
  const ceiling = Math.floor(probeCeilingMs(bounds, config));
  const raw: number[] = [];
  if (upperMs === null) {
    const growth = config.probeGrowthFactor ?? PROBE_GROWTH_FACTOR;
    const base = Math.max(lowerMs ?? 0, config.defaultIntervalMs);
    const first = Math.max(config.probeStartGapMs ?? 0, growth * base);
    // At least one line stays on a rung above the default; a configured start means "from there".
    const below = count > 1 && config.probeStartGapMs === undefined ? rungsBelowDefault(lowerMs, config) : [];
    raw.push(...below.slice(0, count - 1));
    for (let i = 0; raw.length < count; i++) raw.push(first * growth ** i);
  } else {
    // With no good gap known yet, the default (or half of U, if U is below it) stands in for L,
    // but never below the evidence floor: a probe that short proves nothing, and planning it
    // again and again would never move the bounds.
    const low =
      lowerMs ??
      Math.max(config.minIntervalMs, config.evidenceFloorMs, Math.min(config.defaultIntervalMs, upperMs / 2));
    const ratio = upperMs / low;
    for (let i = 1; i <= count; i++) raw.push(low * ratio ** (i / (count + 1)));
  }
  const gaps: number[] = [];
  for (const g of raw) {
    const gap = Math.min(Math.round(g), ceiling);
    if ((lowerMs !== null && gap <= lowerMs) || (upperMs !== null && gap >= upperMs)) continue;
    if (gap < config.evidenceFloorMs) continue;
    if (gaps.at(-1) !== gap) gaps.push(gap);
  }
  return gaps;
}

/**
 * The rungs of the ladder at or below the default, shortest first: default ÷ growth^k above
 * max(L, keepalive.min, evidence floor), and the default itself (the push lines only report it
 * failed after their answer timeout). The same grid as the rungs above the default, so a
 * success on one rung does not move the others. Probes that succeed answer at once and free
 * their line for the rungs above, so for a lenient middlebox they cost a few probes in the
 * first 25 s; behind a stricter one (a 7 s proxy) the probe lines bracket the timeout within
 * seconds, instead of it being found when the push lines die at the default.
 */
function rungsBelowDefault(lowerMs: number | null, config: LearningConfig): number[] {
  const growth = config.probeGrowthFactor ?? PROBE_GROWTH_FACTOR;
  const low = Math.max(lowerMs ?? 0, config.minIntervalMs, config.evidenceFloorMs);
  const rungs: number[] = [];
  for (let gap = config.defaultIntervalMs; gap > low; gap /= growth) rungs.unshift(gap);
  return rungs;
}

/** A probe line the planner may use: open, no probe in flight, idle this long. */
export interface ProbeLineView {
  id: string;
  idleMs: number;
}

/** What to do with one probe line: probe when its idle reaches gapMs, or reopen it (fresh). */
export type ProbeAssignment = { id: string; gapMs: number } | { id: string; reopen: true };

/**
 * Gives each probe line a gap to test. An idle line can test any gap at least as long as it has
 * already sat, so the shortest target goes to the line idle longest short of it (it answers
 * soonest). A line left over tests its own idle now when that still says something (between L
 * and U), waits when it is not yet past L, and is reopened when it is idle at or past U (it can
 * only fail). Call again whenever the bounds change: pending probes are moved, not waited for.
 */
export function assignProbes(
  bounds: Bounds,
  lines: readonly ProbeLineView[],
  config: LearningConfig,
): ProbeAssignment[] {
  const targets = probeTargets(bounds, config, Math.max(1, lines.length));
  if (targets.length === 0) return [];
  const free = [...lines];
  const out: ProbeAssignment[] = [];
  for (const gapMs of targets) {
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const idle = (free[i] as ProbeLineView).idleMs;
      if (idle <= gapMs && (best < 0 || idle > (free[best] as ProbeLineView).idleMs)) best = i;
    }
    if (best < 0) continue;
    const [line] = free.splice(best, 1);
    out.push({ id: (line as ProbeLineView).id, gapMs });
  }
  const { lowerMs, upperMs } = bounds;
  const ceiling = probeCeilingMs(bounds, config);
  for (const line of free) {
    const pastUseful = (upperMs !== null && line.idleMs >= upperMs) || line.idleMs >= ceiling;
    // A line idle past U can only fail: start it afresh. One not yet past L waits for the next plan.
    if (pastUseful) out.push({ id: line.id, reopen: true });
    else if (lowerMs === null || line.idleMs > lowerMs)
      out.push({ id: line.id, gapMs: Math.ceil(line.idleMs) });
  }
  return out;
}

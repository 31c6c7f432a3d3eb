import { isConverged, probeCeilingMs } from './convergence.ts';
import type { Bounds } from './evidence.ts';
import { type LearningConfig, PROBE_GROWTH_FACTOR } from './learning-config.ts';

/**
 * The idle gap the representative's probe line should sit before the next probe, or null when
 * there is nothing left to learn.
 *
 * Without an upper bound the gap grows geometrically from max(L, default) (the seed's ladder,
 * but with no holes: any timeout up to the ceiling is bracketed within a factor of 2). With
 * both bounds it bisects geometrically, at √(L·U): the stopping rule is relative (L ≥ U ×
 * (1 − tol)), so halving log(U/L) converges in a fixed ⌈log2(ln 2 / −ln(1 − tol))⌉ = 4 steps
 * from any factor-2 bracket, for 60 s and 2 h 4 min alike; an arithmetic midpoint needs 4 or 5
 * and spends longer idle waits on the high side, where failures also cost a reconnect.
 */
export function nextProbeGap(bounds: Bounds, config: LearningConfig): number | null {
  if (isConverged(bounds, config)) return null;
  const { lowerMs, upperMs } = bounds;
  let gap: number;
  if (upperMs === null) {
    const growth = config.probeGrowthFactor ?? PROBE_GROWTH_FACTOR;
    gap = Math.max(config.probeStartGapMs ?? 0, growth * Math.max(lowerMs ?? 0, config.defaultIntervalMs));
  } else {
    // With no good gap known yet, the default (or half of U, if U is below it) stands in for L.
    const low = lowerMs ?? Math.max(config.minIntervalMs, Math.min(config.defaultIntervalMs, upperMs / 2));
    gap = Math.sqrt(low * upperMs);
  }
  gap = Math.min(Math.round(gap), Math.floor(probeCeilingMs(bounds, config)));
  if (lowerMs !== null && gap <= lowerMs) return null;
  return gap;
}

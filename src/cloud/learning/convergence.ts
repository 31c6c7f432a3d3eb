import type { Bounds } from './evidence.ts';
import type { LearningConfig } from './learning-config.ts';

/**
 * The longest idle gap worth learning: beyond maxInterval / (1 − margin) the advice is clamped
 * anyway, and with a lifetime cap no line lives longer than the age at which it is replaced.
 */
export function probeCeilingMs(bounds: Bounds, config: LearningConfig): number {
  const byAdvice = config.maxIntervalMs / (1 - config.marginFraction);
  if (bounds.lifetimeCapMs === null) return byAdvice;
  return Math.min(byAdvice, bounds.lifetimeCapMs * config.reconnectBeforeCapFraction);
}

/** True when there is nothing left to learn: U and L within the tolerance, or L at the ceiling. */
export function isConverged(bounds: Bounds, config: LearningConfig): boolean {
  const { lowerMs, upperMs } = bounds;
  const keep = 1 - config.probeToleranceFraction;
  if (upperMs !== null && upperMs <= config.minIntervalMs) return true;
  if (lowerMs === null) return false;
  if (upperMs !== null && lowerMs >= upperMs * keep) return true;
  return lowerMs >= probeCeilingMs(bounds, config) * keep;
}

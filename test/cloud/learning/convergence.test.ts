import { describe, expect, it } from 'vitest';
import { isConverged, probeCeilingMs } from '../../../src/cloud/learning/convergence.ts';
import type { Bounds } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { HOUR, MINUTE, SECOND } from './record-factory.ts';

function bounds(lowerMs: number | null, upperMs: number | null, lifetimeCapMs: number | null = null): Bounds {
  return { lowerMs, upperMs, lifetimeCapMs, lowerFrom: null };
}

describe('isConverged', () => {
  it('is false while either bound is missing and L is below the ceiling', () => {
    expect(isConverged(bounds(null, null), CONFIG)).toBe(false);
    expect(isConverged(bounds(HOUR, null), CONFIG)).toBe(false);
    expect(isConverged(bounds(null, HOUR), CONFIG)).toBe(false);
  });

  it('is true when L is within the tolerance of U', () => {
    expect(isConverged(bounds(0.95 * HOUR, HOUR), CONFIG)).toBe(true);
    expect(isConverged(bounds(0.94 * HOUR, HOUR), CONFIG)).toBe(false);
  });

  it('is true when L reaches the ceiling (advice clamped, or lines replaced before the cap)', () => {
    expect(isConverged(bounds(probeCeilingMs(bounds(null, null), CONFIG), null), CONFIG)).toBe(true);
    expect(isConverged(bounds(9 * MINUTE, null, 10 * MINUTE), CONFIG)).toBe(true);
    expect(isConverged(bounds(5 * MINUTE, null, 10 * MINUTE), CONFIG)).toBe(false);
  });

  it('is true when U is at the floor: nothing shorter would be advised anyway', () => {
    expect(isConverged(bounds(null, 5 * SECOND), CONFIG)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import type { Bounds } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { nextProbeGap } from '../../../src/cloud/learning/probe-planner.ts';
import { HOUR, MINUTE, SECOND } from './record-factory.ts';

function bounds(lowerMs: number | null, upperMs: number | null, lifetimeCapMs: number | null = null): Bounds {
  return { lowerMs, upperMs, lifetimeCapMs, lowerFrom: lowerMs === null ? null : 'probe' };
}

/** Runs the planner against a middlebox with idle timeout T until it stops; returns what it learned. */
function learn(
  timeoutMs: number,
  config = CONFIG,
): { lowerMs: number | null; upperMs: number | null; probes: number } {
  let lowerMs: number | null = null;
  let upperMs: number | null = null;
  let probes = 0;
  for (;;) {
    const gap = nextProbeGap(bounds(lowerMs, upperMs), config);
    if (gap === null) return { lowerMs, upperMs, probes };
    probes++;
    if (probes > 40) throw new Error(`no convergence for T = ${timeoutMs}`);
    if (gap < timeoutMs) lowerMs = gap;
    else upperMs = gap;
  }
}

describe('nextProbeGap', () => {
  it('doubles from the default while no failure is known', () => {
    expect(nextProbeGap(bounds(null, null), CONFIG)).toBe(50 * SECOND);
    expect(nextProbeGap(bounds(30 * SECOND, null), CONFIG)).toBe(60 * SECOND);
    expect(nextProbeGap(bounds(20 * MINUTE, null), CONFIG)).toBe(40 * MINUTE);
  });

  it('starts at probeStartGapMs when configured (the seed ladder starts at 1 h)', () => {
    expect(nextProbeGap(bounds(null, null), { ...CONFIG, probeStartGapMs: HOUR })).toBe(HOUR);
  });

  it('bisects geometrically between L and U', () => {
    expect(nextProbeGap(bounds(HOUR, 4 * HOUR), CONFIG)).toBe(2 * HOUR);
  });

  it('bisects below U from the default when no success is known', () => {
    expect(nextProbeGap(bounds(null, 200 * SECOND), CONFIG)).toBe(
      Math.round(Math.sqrt(25 * SECOND * 200 * SECOND)),
    );
    expect(nextProbeGap(bounds(null, 40 * SECOND), CONFIG)).toBe(
      Math.round(Math.sqrt(20 * SECOND * 40 * SECOND)),
    );
  });

  it('stops when L and U are within the tolerance', () => {
    expect(nextProbeGap(bounds(57 * MINUTE, 59.9 * MINUTE), CONFIG)).toBeNull();
    expect(nextProbeGap(bounds(56 * MINUTE, 60 * MINUTE), CONFIG)).not.toBeNull();
  });

  it('never probes beyond what the advice could use, nor past a lifetime cap', () => {
    const ceiling = CONFIG.maxIntervalMs / (1 - CONFIG.marginFraction);
    expect(nextProbeGap(bounds(100 * HOUR, null), CONFIG)).toBe(Math.floor(ceiling));
    expect(nextProbeGap(bounds(ceiling, null), CONFIG)).toBeNull();
    expect(nextProbeGap(bounds(5 * MINUTE, null, 10 * MINUTE), CONFIG)).toBe(9 * MINUTE);
    expect(nextProbeGap(bounds(9 * MINUTE, null, 10 * MINUTE), CONFIG)).toBeNull();
  });

  it.each([
    60 * SECOND,
    61 * SECOND,
    4 * MINUTE,
    350 * SECOND,
    15 * MINUTE,
    HOUR,
    2 * HOUR + 4 * MINUTE,
    12 * HOUR,
    100 * HOUR,
  ])('learns an idle timeout of %i ms to within the tolerance, from below', (timeoutMs) => {
    const { lowerMs, probes } = learn(timeoutMs);
    expect(lowerMs).not.toBeNull();
    expect(lowerMs as number).toBeLessThan(timeoutMs);
    expect(lowerMs as number).toBeGreaterThanOrEqual(timeoutMs * (1 - CONFIG.probeToleranceFraction));
    // Doubling to bracket T, then four geometric halvings of the bracket.
    expect(probes).toBeLessThanOrEqual(Math.ceil(Math.log2(timeoutMs / CONFIG.defaultIntervalMs)) + 1 + 4);
  });

  it('stops at the ceiling when the middlebox never drops idle lines', () => {
    const { lowerMs, upperMs } = learn(Number.POSITIVE_INFINITY);
    expect(upperMs).toBeNull();
    expect((lowerMs as number) * (1 - CONFIG.marginFraction)).toBeGreaterThanOrEqual(
      CONFIG.maxIntervalMs * (1 - CONFIG.probeToleranceFraction),
    );
  });
});

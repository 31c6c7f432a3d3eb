import { describe, expect, it } from 'vitest';
import type { Bounds } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { assignProbes, nextProbeGap, probeTargets } from '../../../src/cloud/learning/probe-planner.ts';
import { HOUR, MINUTE, SECOND } from './record-factory.ts';

/** One probe line at a time, doubling: the planner's sequential use (the seed's single probe line). */
const CONFIG = { ...DEFAULT_LEARNING_CONFIG, probeGrowthFactor: 2 };

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
    expect(nextProbeGap(bounds(150 * HOUR, null), DEFAULT_LEARNING_CONFIG)).toBe(Math.floor(ceiling));
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

describe('probeTargets (several probe lines at once)', () => {
  it('never plans a gap below the evidence floor, where a probe proves nothing (demo with a 3 s firewall)', () => {
    // The demo's settings: default and min 1 s, the shipped 2 s floor; a line died at 3 s.
    const demo = { ...DEFAULT_LEARNING_CONFIG, defaultIntervalMs: SECOND, minIntervalMs: SECOND };
    const targets = probeTargets(bounds(null, 3 * SECOND), demo, 8);
    expect(targets.length).toBeGreaterThan(0);
    expect(Math.min(...targets)).toBeGreaterThanOrEqual(demo.evidenceFloorMs);
    expect(Math.max(...targets)).toBeLessThan(3 * SECOND);
    // With U at the floor there is nothing a probe could show.
    expect(probeTargets(bounds(null, demo.evidenceFloorMs), demo, 8)).toEqual([]);
  });

  const config = DEFAULT_LEARNING_CONFIG;
  const growth = config.probeGrowthFactor as number;

  it('climbs a ladder from the default, one rung per line, once L is past the default', () => {
    const d = config.defaultIntervalMs;
    expect(probeTargets(bounds(d, null), config, 4)).toEqual(
      [1, 2, 3, 4].map((i) => Math.round(d * growth ** i)),
    );
    expect(probeTargets(bounds(10 * MINUTE, null), config, 2)).toEqual([
      Math.round(10 * MINUTE * growth),
      Math.round(10 * MINUTE * growth ** 2),
    ]);
  });

  it('starts the ladder below the default, on the same grid, while nothing good is known (a 7 s proxy)', () => {
    const d = config.defaultIntervalMs;
    // From the keep-alive floor (5 s) up: 6.5 s, 9.1 s, 12.8 s, 17.9 s, the default, then 35 s, 49 s, 69 s.
    expect(probeTargets(bounds(null, null), config, 8)).toEqual(
      [-4, -3, -2, -1, 0, 1, 2, 3].map((k) => Math.round(d * growth ** k)),
    );
    // A success on one rung leaves the rungs above where they were.
    const afterSuccess = probeTargets(bounds(Math.round(d / growth ** 4), null), config, 8);
    expect(afterSuccess.slice(0, 4)).toEqual([-3, -2, -1, 0].map((k) => Math.round(d * growth ** k)));
    // Never below keepalive.min: a timeout below it is not worth knowing more precisely.
    expect(Math.min(...afterSuccess)).toBeGreaterThan(config.minIntervalMs);
    // One line (the seed's sequential probing) and a configured start climb from the default.
    expect(probeTargets(bounds(null, null), config, 1)).toEqual([Math.round(d * growth)]);
    expect(probeTargets(bounds(null, null), { ...config, probeStartGapMs: HOUR }, 2)).toEqual([
      HOUR,
      Math.round(HOUR * growth),
    ]);
  });

  it('keeps a rung above the default for its lines whatever lies below', () => {
    const targets = probeTargets(bounds(null, null), config, 2);
    expect(targets[1]).toBeGreaterThan(config.defaultIntervalMs);
  });

  it('spaces the gaps geometrically inside (L, U) once both are known', () => {
    const gaps = probeTargets(bounds(HOUR, 2 * HOUR), config, 3);
    expect(gaps).toEqual([1, 2, 3].map((i) => Math.round(HOUR * 2 ** (i / 4))));
  });

  it('asks for nothing once converged', () => {
    expect(probeTargets(bounds(57 * MINUTE, 59.9 * MINUTE), config, 4)).toEqual([]);
  });
});

describe('assignProbes', () => {
  const config = DEFAULT_LEARNING_CONFIG;

  it('gives the shortest gap to the line idle longest short of it', () => {
    const plan = assignProbes(
      bounds(HOUR, 2 * HOUR),
      [
        { id: 'probe-0', idleMs: 0 },
        { id: 'probe-1', idleMs: 70 * MINUTE },
        { id: 'probe-2', idleMs: 10 * MINUTE },
      ],
      config,
    );
    const gaps = probeTargets(bounds(HOUR, 2 * HOUR), config, 3);
    expect(plan).toEqual([
      { id: 'probe-1', gapMs: gaps[0] },
      { id: 'probe-2', gapMs: gaps[1] },
      { id: 'probe-0', gapMs: gaps[2] },
    ]);
  });

  it('reopens a line idle past U (it can only fail), lets one past L test its idle now', () => {
    const plan = assignProbes(
      bounds(HOUR, 2 * HOUR),
      [
        { id: 'probe-0', idleMs: 3 * HOUR },
        { id: 'probe-1', idleMs: 110 * MINUTE },
        { id: 'probe-2', idleMs: 115 * MINUTE },
      ],
      config,
    );
    expect(plan).toContainEqual({ id: 'probe-0', reopen: true });
    expect(plan).toContainEqual({ id: 'probe-1', gapMs: 110 * MINUTE });
    expect(plan).toContainEqual({ id: 'probe-2', gapMs: 115 * MINUTE });
  });

  it('leaves a fresh line waiting when there is no gap for it (nothing is reopened in a loop)', () => {
    const ceiling = 9 * MINUTE;
    const plan = assignProbes(
      bounds(8.5 * MINUTE, null, ceiling / config.reconnectBeforeCapFraction),
      [
        { id: 'probe-0', idleMs: 0 },
        { id: 'probe-1', idleMs: 0 },
      ],
      config,
    );
    expect(plan).toEqual([{ id: 'probe-0', gapMs: ceiling }]);
  });
});

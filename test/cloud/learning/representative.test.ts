import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  type ElectionTolerance,
  electRepresentative,
} from '../../../src/cloud/learning/representative.ts';
import { HOUR, MINUTE } from './record-factory.ts';

describe('electRepresentative', () => {
  it('elects nobody from nobody', () => {
    expect(electRepresentative([])).toBeNull();
  });

  it('prefers the longest uptime', () => {
    const elected = electRepresentative([
      { gatewayId: 'a', uptimeMs: HOUR, cpuLoad: 0.1 },
      { gatewayId: 'b', uptimeMs: 5 * HOUR, cpuLoad: 0.9 },
    ]);
    expect(elected).toBe('b');
  });

  it('then the lowest CPU load', () => {
    const elected = electRepresentative([
      { gatewayId: 'a', uptimeMs: 5 * HOUR, cpuLoad: 0.6 },
      { gatewayId: 'b', uptimeMs: 5 * HOUR, cpuLoad: 0.2 },
    ]);
    expect(elected).toBe('b');
  });

  it('then the gateway id, so every cloud node elects the same box', () => {
    const candidates = [
      { gatewayId: 'b', uptimeMs: 5 * HOUR, cpuLoad: 0.2 },
      { gatewayId: 'a', uptimeMs: 5 * HOUR, cpuLoad: 0.2 },
    ];
    expect(electRepresentative(candidates)).toBe('a');
    expect(electRepresentative([...candidates].reverse())).toBe('a');
  });

  it('does not flap between two boxes booted together', () => {
    // b booted a minute after a; their loads jitter. The choice must not follow the jitter.
    const elections = [0.18, 0.22, 0.19, 0.21].map((loadA) =>
      electRepresentative([
        { gatewayId: 'a', uptimeMs: 5 * HOUR + MINUTE, cpuLoad: loadA },
        { gatewayId: 'b', uptimeMs: 5 * HOUR, cpuLoad: 0.2 },
      ]),
    );
    expect(new Set(elections)).toEqual(new Set(['a']));
  });

  it('does not flap when the reported uptimes of boxes booted together jitter', () => {
    const elections = [20, -20, 5, -40].map((skewSeconds) =>
      electRepresentative([
        { gatewayId: 'b', uptimeMs: 5 * HOUR, cpuLoad: 0.2 },
        { gatewayId: 'a', uptimeMs: 5 * HOUR + skewSeconds * 1000, cpuLoad: 0.2 },
      ]),
    );
    expect(new Set(elections)).toEqual(new Set(['a']));
  });

  it('still lets a clearly longer uptime win', () => {
    const elected = electRepresentative([
      { gatewayId: 'a', uptimeMs: 5 * HOUR, cpuLoad: 0.1 },
      { gatewayId: 'b', uptimeMs: 5 * HOUR + 30 * MINUTE, cpuLoad: 0.1 },
    ]);
    expect(elected).toBe('b');
  });
});

describe('electRepresentative against its definition', () => {
  /** The rule as written: the seniors (within the uptime tolerance), their least loaded, the smallest id. */
  function byDefinition(candidates: readonly Candidate[], tolerance: ElectionTolerance): string | null {
    if (candidates.length === 0) return null;
    const longest = Math.max(...candidates.map((c) => c.uptimeMs));
    const senior = candidates.filter((c) => c.uptimeMs >= longest - tolerance.uptimeMs);
    const lowest = Math.min(...senior.map((c) => c.cpuLoad));
    const idle = senior.filter((c) => c.cpuLoad <= lowest + tolerance.cpuLoad);
    return idle.map((c) => c.gatewayId).sort()[0] ?? null;
  }

  it('elects whom the definition elects', () => {
    const candidate = fc.record({
      gatewayId: fc.constantFrom('a', 'b', 'c', 'd', 'gw-10', 'gw-9'),
      uptimeMs: fc.integer({ min: 0, max: 100_000 }),
      cpuLoad: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    const tolerance = fc.record({
      uptimeMs: fc.integer({ min: 0, max: 20_000 }),
      cpuLoad: fc.double({ min: 0, max: 0.5, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 8 }), tolerance, (candidates, tol) => {
        expect(electRepresentative(candidates, tol)).toBe(byDefinition(candidates, tol));
      }),
      { numRuns: 5_000 },
    );
  });
});

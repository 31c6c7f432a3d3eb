import { describe, expect, it } from 'vitest';
import { electRepresentative } from '../../../src/cloud/learning/representative.ts';
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

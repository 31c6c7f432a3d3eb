import { describe, expect, it } from 'vitest';
import { type CpuProfile, hotSpots } from '../../../bench/cloud/cpu-profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/** root → main → (recent → all, decide → decide (recursion)) */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2] },
    { id: 2, callFrame: frame('main', 'file:///repo/src/cli/main.ts', 9), children: [3, 5] },
    {
      id: 3,
      callFrame: frame('recent', 'file:///repo/src/cloud/status/status-store.ts', 147),
      children: [4],
    },
    { id: 4, callFrame: frame('all') },
    { id: 5, callFrame: frame('decide', 'file:///repo/src/cloud/learning/x.ts', 0), children: [6] },
    { id: 6, callFrame: frame('decide', 'file:///repo/src/cloud/learning/x.ts', 0) },
  ],
  samples: [4, 4, 3, 6, 5, 2],
  timeDeltas: [1000, 1000, 1000, 2000, 1000, 4000],
};

describe('bench:cloud CPU profile hot spots', () => {
  it('ranks functions by self time and by total time, a recursive one counted once per sample', () => {
    const { bySelf, byTotal } = hotSpots(profile);
    expect(bySelf[0]).toEqual({
      function: 'main',
      location: 'src/cli/main.ts:10',
      selfMs: 4,
      selfPercent: 40,
      totalMs: 10,
      totalPercent: 100,
    });
    expect(bySelf.find((s) => s.function === 'decide')).toMatchObject({ selfMs: 3, totalMs: 3 });
    expect(bySelf.find((s) => s.function === 'all')).toMatchObject({ location: '', selfMs: 2 });
    expect(byTotal.find((s) => s.function === 'recent')).toMatchObject({
      location: 'src/cloud/status/status-store.ts:148',
      selfMs: 1,
      totalMs: 3,
      totalPercent: 30,
    });
    expect(new Set(byTotal.slice(0, 2).map((s) => s.function))).toEqual(new Set(['(root)', 'main']));
  });

  it('keeps only the top entries', () => {
    expect(hotSpots(profile, 2).bySelf).toHaveLength(2);
  });
});

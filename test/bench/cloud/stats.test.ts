import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../../../bench/cloud/stats.ts';

describe('bench:cloud latency summary', () => {
  it('takes the nearest-rank percentile: an observed sample, never an interpolation', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 0)).toBe(1);
    expect(percentile([], 99)).toBeNull();
  });

  it('summarizes samples in any order, and a single slow one out of a hundred sets the max, not the p99', () => {
    const samples = [...Array.from({ length: 99 }, () => 2), 5000].reverse();
    expect(summarize(samples)).toEqual({ count: 100, p50: 2, p99: 2, max: 5000, mean: 52 });
    expect(summarize([1.26, 3.04])).toMatchObject({ p50: 1.3, max: 3, mean: 2.2 });
  });

  it('says null, not zero, when nothing was measured', () => {
    expect(summarize([])).toEqual({ count: 0, p50: null, p99: null, max: null, mean: null });
  });
});

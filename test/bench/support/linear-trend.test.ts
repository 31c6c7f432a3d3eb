import { describe, expect, it } from 'vitest';
import { linearTrend } from '../../../bench/support/linear-trend.ts';

describe('least-squares trend', () => {
  it('finds the slope of an exact line with R² 1 and no error', () => {
    const trend = linearTrend([1, 2, 3, 4, 5].map((x) => ({ x, y: 10 + 0.5 * x })));
    expect(trend.slope).toBeCloseTo(0.5, 12);
    expect(trend.r2).toBeCloseTo(1, 12);
    expect(trend.slopeStdErr).toBeCloseTo(0, 12);
  });

  it("gives the slope's standard error of a noisy series", () => {
    // x 1..5, y = 1, 3, 2, 5, 4: slope 0.8, residuals' sum of squares 3.6,
    // standard error √(3.6 / 3 / 10) ≈ 0.3464, R² 6.4 / 10 = 0.64.
    const trend = linearTrend([1, 3, 2, 5, 4].map((y, i) => ({ x: i + 1, y })));
    expect(trend.slope).toBeCloseTo(0.8, 12);
    expect(trend.r2).toBeCloseTo(0.64, 12);
    expect(trend.slopeStdErr).toBeCloseTo(Math.sqrt(0.12), 12);
  });

  it('has no error estimate from two points, and no slope from one', () => {
    expect(
      linearTrend([
        { x: 1, y: 1 },
        { x: 2, y: 3 },
      ]).slopeStdErr,
    ).toBe(Number.POSITIVE_INFINITY);
    expect(linearTrend([{ x: 1, y: 1 }])).toEqual({ slope: 0, r2: 0, slopeStdErr: Number.POSITIVE_INFINITY });
  });
});

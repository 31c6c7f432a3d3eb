/** Latency figures of a set of samples, ms; null figures when there are no samples. */
export interface Summary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/**
 * The nearest-rank percentile (the smallest sample with at least p % of the samples at or
 * below it) of samples sorted ascending: a real observed value, never an interpolation.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** p50, p99, max and mean of samples in any order, rounded to 0.1. */
export function summarize(samples: Iterable<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
  let total = 0;
  for (const sample of sorted) total += sample;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length === 0 ? null : (sorted[sorted.length - 1] as number)),
    mean: round(sorted.length === 0 ? null : total / sorted.length),
  };
}

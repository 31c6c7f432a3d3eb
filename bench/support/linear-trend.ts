/**
 * The least-squares line through a series, with what says how far to trust its slope: R² and
 * the slope's standard error. A soak's verdict is the slope plus two standard errors (about
 * 95 % for independent points; a minute's reading is not quite independent of the next, so
 * the true spread is somewhat wider, which the factor two leaves some room for).
 */

/** The fit of y = a + slope·x. */
export interface LinearTrend {
  slope: number;
  /** The share of y's variance the line explains (0 when y is flat or the points are too few). */
  r2: number;
  /** The slope's standard error (Infinity with fewer than three points). */
  slopeStdErr: number;
}

/** Least-squares slope of y over x, the fit's R² and the slope's standard error. */
export function linearTrend(points: { x: number; y: number }[]): LinearTrend {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0, slopeStdErr: Number.POSITIVE_INFINITY };
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
    syy += (p.y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const residuals = Math.max(0, syy - slope * sxy);
  return {
    slope,
    r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy),
    slopeStdErr: n < 3 || sxx === 0 ? Number.POSITIVE_INFINITY : Math.sqrt(residuals / (n - 2) / sxx),
  };
}

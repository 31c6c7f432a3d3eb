/** A wall-clock date and time in some time zone (month 1–12, no milliseconds). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows this IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The host's time zone (TZ or /etc/localtime, as the runtime resolves it). */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The wall-clock time of an instant in a zone. */
export function wallTimeAt(instantMs: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The wall time read as if it were UTC, ms: arithmetic on calendar fields without a zone. */
export function wallMs(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** The zone's offset from UTC at an instant, ms (UTC+1 → 3_600_000). */
export function offsetAt(instantMs: number, timeZone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallMs(wallTimeAt(whole, timeZone)) - whole;
}

const HALF_DAY_MS = 12 * 3_600_000;

/**
 * The instant a wall-clock time happens in a zone, resolved so that the mapping never goes
 * backwards as the wall time advances (so "the latest schedule that fired" is well defined):
 * - a time that happens twice (the hour repeated when clocks go back) is its FIRST occurrence;
 * - a time that never happens (the hour skipped when clocks go forward) is the instant the
 *   clocks jump, as Vixie cron runs such jobs right after the gap.
 * Assumes at most one offset change within 12 hours of the wall time (true of every zone).
 */
export function instantOf(w: WallTime, timeZone: string): number {
  const local = wallMs(w);
  const before = offsetAt(local - HALF_DAY_MS, timeZone);
  const after = offsetAt(local + HALF_DAY_MS, timeZone);
  const early = local - before;
  const late = local - after;
  const valid = [early, late].filter((u) => offsetAt(u, timeZone) === local - u);
  if (valid.length > 0) return Math.min(...valid);
  // In the gap: find the first instant with the new offset, between the two readings.
  let lo = Math.min(early, late);
  let hi = Math.max(early, late);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The calendar day before or after a wall date (time fields kept). */
export function addDays(w: WallTime, days: number): WallTime {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

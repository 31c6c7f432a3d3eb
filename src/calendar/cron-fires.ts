import { parse, validateDetailed } from 'node-cron';
import { addDays, instantOf, type WallTime, wallTimeAt } from './zoned-time.ts';

/**
 * When a cron expression fires, computed rather than waited for, so "which schedule fired
 * last before t" is a pure function that a unit test can ask about any instant of any year.
 *
 * node-cron parses the expression (names, ranges, steps, `L`, `W`, `#`) and is the reference
 * for matching: the day of month AND the day of week must both match (node-cron's rule, not
 * Vixie cron's OR). node-cron offers only the NEXT run from the wall clock, so the search in
 * both directions lives here.
 */

/** How far back a schedule is looked for (a yearly or leap-day schedule still counts), days. */
export const LOOKBACK_DAYS = 366 * 8;

/** A parsed cron expression. */
export interface CronExpression {
  readonly source: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly (number | string)[];
  readonly months: readonly number[];
  readonly daysOfWeek: readonly (number | string)[];
}

/** Why an expression was refused, in words for a config error. */
export function cronProblem(source: string): string | null {
  const result = validateDetailed(source);
  if (result.valid) return null;
  return result.errors.map((e) => e.message).join('; ') || 'not a cron expression';
}

/** Parses a cron expression (5 fields, or 6 with seconds first); throws on a bad one. */
export function parseCron(source: string): CronExpression {
  const f = parse(source);
  const asc = (v: number[]) => [...v].sort((a, b) => a - b);
  return {
    source,
    seconds: asc(f.second),
    minutes: asc(f.minute),
    hours: asc(f.hour),
    daysOfMonth: f.dayOfMonth,
    months: f.month,
    daysOfWeek: f.dayOfWeek,
  };
}

const lastDay = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekdayOf = (y: number, m: number, d: number): number => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

function nearestWeekday(y: number, m: number, target: number): number {
  const last = lastDay(y, m);
  if (target < 1 || target > last) return -1;
  const wd = weekdayOf(y, m, target);
  if (wd === 6) return target === 1 ? 3 : target - 1;
  if (wd === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function dayOfMonthMatches(field: readonly (number | string)[], y: number, m: number, d: number): boolean {
  return field.some((v) => {
    if (v === d) return true;
    if (typeof v !== 'string') return false;
    if (v === 'L') return d === lastDay(y, m);
    const w = /^(\d{1,2}|L)W$/.exec(v);
    if (w) return nearestWeekday(y, m, w[1] === 'L' ? lastDay(y, m) : Number(w[1])) === d;
    const off = /^L-(\d{1,2})$/.exec(v);
    return off !== null && lastDay(y, m) - Number(off[1]) === d;
  });
}

function dayOfWeekMatches(field: readonly (number | string)[], y: number, m: number, d: number): boolean {
  const wd = weekdayOf(y, m, d);
  return field.some((v) => {
    if (v === wd) return true;
    if (typeof v !== 'string') return false;
    const nth = /^([0-7])#([1-5])$/.exec(v);
    if (nth) return Number(nth[1]) % 7 === wd && Math.floor((d - 1) / 7) + 1 === Number(nth[2]);
    const last = /^([0-7])L$/i.exec(v);
    return last !== null && Number(last[1]) % 7 === wd && d + 7 > lastDay(y, m);
  });
}

/** True when the expression fires on this calendar day (at some time of it). */
export function firesOnDay(cron: CronExpression, y: number, m: number, d: number): boolean {
  return (
    cron.months.includes(m) &&
    dayOfMonthMatches(cron.daysOfMonth, y, m, d) &&
    dayOfWeekMatches(cron.daysOfWeek, y, m, d)
  );
}

/** The k-th firing time of a day in wall-clock order (seconds vary fastest). */
function timeOfDay(cron: CronExpression, k: number): Pick<WallTime, 'hour' | 'minute' | 'second'> {
  const ns = cron.seconds.length;
  const nm = cron.minutes.length;
  return {
    second: cron.seconds[k % ns] ?? 0,
    minute: cron.minutes[Math.floor(k / ns) % nm] ?? 0,
    hour: cron.hours[Math.floor(k / (ns * nm))] ?? 0,
  };
}

const firingsPerDay = (cron: CronExpression): number =>
  cron.seconds.length * cron.minutes.length * cron.hours.length;

/**
 * The instants a day's firings happen, as a sorted view: instantOf never goes backwards as the
 * wall time advances, so a binary search finds the firing nearest to t in log time.
 */
function dayInstants(cron: CronExpression, date: WallTime, timeZone: string): (k: number) => number {
  return (k) => instantOf({ ...date, ...timeOfDay(cron, k) }, timeZone);
}

/** The last instant at or before t when the expression fired in the zone, or null within the lookback. */
export function previousFire(cron: CronExpression, timeZone: string, t: number): number | null {
  const n = firingsPerDay(cron);
  // A day's firings can reach past midnight only by the zone's offset change; start a day late.
  let date = addDays(wallTimeAt(t, timeZone), 1);
  for (let i = 0; i <= LOOKBACK_DAYS; i++, date = addDays(date, -1)) {
    if (!firesOnDay(cron, date.year, date.month, date.day)) continue;
    const at = dayInstants(cron, date, timeZone);
    if (at(0) > t) continue;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (at(mid) <= t) lo = mid;
      else hi = mid - 1;
    }
    return at(lo);
  }
  return null;
}

/** The first instant after t when the expression fires in the zone, or null within the lookback. */
export function nextFire(cron: CronExpression, timeZone: string, t: number): number | null {
  const n = firingsPerDay(cron);
  let date = addDays(wallTimeAt(t, timeZone), -1);
  for (let i = 0; i <= LOOKBACK_DAYS; i++, date = addDays(date, 1)) {
    if (!firesOnDay(cron, date.year, date.month, date.day)) continue;
    const at = dayInstants(cron, date, timeZone);
    if (at(n - 1) <= t) continue;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (at(mid) > t) hi = mid;
      else lo = mid + 1;
    }
    return at(lo);
  }
  return null;
}

import { type CronExpression, nextFire, previousFire } from '../../calendar/cron-fires.ts';

/**
 * Which power mode is in force at an instant: a pure function of the schedules, the zone,
 * the manual override and the instant.
 *
 * Precedence, highest first:
 * 1. a manual override, until its expiry (schedules firing meanwhile do not end it);
 * 2. the schedule that fired most recently (in the configured zone); when several fired at
 *    the same instant, the one listed first wins;
 * 3. the configured base mode (`power.mode`), when no schedule has fired within the lookback.
 */

/** One schedule: at every firing of `cron`, switch to `mode`. */
export interface ModeSchedule {
  cron: CronExpression;
  mode: string;
}

/** The gateway's power schedules. */
export interface SchedulePolicy {
  baseMode: string;
  timeZone: string;
  schedules: readonly ModeSchedule[];
}

/** A manual override: `mode` until `untilMs` (exclusive). */
export interface ModeOverride {
  mode: string;
  untilMs: number;
}

/** The mode in force and why. */
export interface ModeDecision {
  mode: string;
  source: 'override' | 'schedule' | 'base';
  /** When the deciding schedule fired (source schedule), else null. */
  firedAt: number | null;
  /** Index in the schedule list of the deciding schedule (source schedule), else null. */
  schedule: number | null;
  /** Expiry of the override in force (source override), else null. */
  overrideUntilMs: number | null;
}

/** The mode decided by the schedules alone (no override). */
function scheduledModeAt(policy: SchedulePolicy, t: number): ModeDecision {
  let chosen: { at: number; index: number } | null = null;
  for (const [index, s] of policy.schedules.entries()) {
    const at = previousFire(s.cron, policy.timeZone, t);
    // Strictly later only: an equal instant keeps the earlier-listed schedule.
    if (at !== null && (chosen === null || at > chosen.at)) chosen = { at, index };
  }
  if (!chosen)
    return { mode: policy.baseMode, source: 'base', firedAt: null, schedule: null, overrideUntilMs: null };
  return {
    mode: policy.schedules[chosen.index]?.mode ?? policy.baseMode,
    source: 'schedule',
    firedAt: chosen.at,
    schedule: chosen.index,
    overrideUntilMs: null,
  };
}

/** The mode in force at t. */
export function modeAt(policy: SchedulePolicy, override: ModeOverride | null, t: number): ModeDecision {
  if (override && t < override.untilMs) {
    return {
      mode: override.mode,
      source: 'override',
      firedAt: null,
      schedule: null,
      overrideUntilMs: override.untilMs,
    };
  }
  return scheduledModeAt(policy, t);
}

/** The next instant after t at which the decision may change: a schedule fires or the override ends. */
export function nextEvent(policy: SchedulePolicy, override: ModeOverride | null, t: number): number | null {
  let next: number | null = override && override.untilMs > t ? override.untilMs : null;
  for (const s of policy.schedules) {
    const at = nextFire(s.cron, policy.timeZone, t);
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}

/** Most schedule firings looked at when searching for the next change of mode. */
const MAX_EVENTS_SEARCHED = 64;

/** The next change of mode after t (a firing that keeps the same mode is not a change), or null. */
export function nextChange(
  policy: SchedulePolicy,
  override: ModeOverride | null,
  t: number,
): { at: number; mode: string } | null {
  const current = modeAt(policy, override, t).mode;
  let from = t;
  for (let i = 0; i < MAX_EVENTS_SEARCHED; i++) {
    const at = nextEvent(policy, override, from);
    if (at === null) return null;
    const mode = modeAt(policy, override, at).mode;
    if (mode !== current) return { at, mode };
    from = at;
  }
  return null;
}

/**
 * The gateway's keep-alive defaults in one place: the config schema's defaults are derived from
 * them, and tests and benches use them as they ship. The cloud's learning tunables live in
 * src/cloud/learning/learning-config.ts.
 */

/** A power mode's keep-alive limits, as the gateway's PowerMode has them. */
interface ModeLimits {
  readonly name: string;
  readonly minIntervalMs: number;
  readonly changeThresholdMs: number;
}

/** How long a keep-alive may go unanswered before the line counts as dead: bounds the dark time. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

/**
 * A fresh line's keep-alives while its advice is the unsettled default: after 3 s of idle, then
 * 6 s, 12 s, 24 s, then the interval. The lines then outlive any idle timeout from 6 s to the
 * default until the site's first evidence reaches them (the probe ladder's first failing rung,
 * at most 1.4 × T, plus the probe answer wait): 12 s behind a 7 s firewall, where they would
 * have died at 7 s and been found dead at 25 s + answerTimeout. 3 s is above the cloud's
 * evidence floor (2 s), so each answered gap is evidence. Costs four keep-alives per new line
 * while nothing is known.
 */
export const SLOW_START = { firstGapMs: 3_000, factor: 2 } as const;

/** Mains-powered operation (`power.modes.normal`): follow every piece of advice. */
export const NORMAL_MODE: ModeLimits = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };

/** The seed's power-saving example: at most one keep-alive an hour, ignore lengthenings under 30 min. */
export const POWER_SAVING_MODE: ModeLimits = {
  name: 'power-saving',
  minIntervalMs: 3_600_000,
  changeThresholdMs: 1_800_000,
};

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

/** Mains-powered operation (`power.modes.normal`): follow every piece of advice. */
export const NORMAL_MODE: ModeLimits = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };

/** The seed's power-saving example: at most one keep-alive an hour, ignore lengthenings under 30 min. */
export const POWER_SAVING_MODE: ModeLimits = {
  name: 'power-saving',
  minIntervalMs: 3_600_000,
  changeThresholdMs: 1_800_000,
};

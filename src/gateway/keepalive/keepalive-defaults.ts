import type { PowerMode } from './power-policy.ts';

/**
 * The gateway's keep-alive tunables in one place; the cloud's learning tunables live in
 * src/cloud/learning/learning-config.ts.
 */

/** How long a keep-alive may go unanswered before the line counts as dead: bounds the dark time. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

/** Mains-powered operation: follow the cloud's advice (its keepalive.min is the floor), apply every change. */
export const NORMAL_MODE: PowerMode = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };

/** The seed's power-saving example: at most one keep-alive an hour, ignore lengthenings under 30 min. */
export const POWER_SAVING_MODE: PowerMode = {
  name: 'power-saving',
  minIntervalMs: 3_600_000,
  changeThresholdMs: 1_800_000,
};

import { describe, expect, it } from 'vitest';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';

describe('DEFAULT_LEARNING_CONFIG', () => {
  it('keeps the default interval under the shortest common middlebox timeout (60 s)', () => {
    expect(CONFIG.defaultIntervalMs).toBeLessThan(60_000);
    expect(CONFIG.minIntervalMs).toBeLessThanOrEqual(CONFIG.defaultIntervalMs);
    expect(CONFIG.maxIntervalMs).toBe(168 * 3_600_000);
  });

  it('makes converged advice land within 10 % of the real timeout', () => {
    expect(CONFIG.probeToleranceFraction).toBeLessThanOrEqual(0.05);
    const worst = (1 - CONFIG.probeToleranceFraction) * (1 - CONFIG.marginFraction);
    expect(worst).toBeGreaterThanOrEqual(0.9);
  });

  it('reads the recent log as the seed does: a week, or the last N records', () => {
    expect(CONFIG.windowMs).toBe(7 * 24 * 3_600_000);
    expect(CONFIG.maxRecords).toBe(10_000);
  });

  it('replaces lines no later than the age from which deaths are blamed on the cap', () => {
    expect(CONFIG.reconnectBeforeCapFraction).toBeLessThan(1 - CONFIG.lifetimeAgeToleranceFraction + 1e-9);
  });
});

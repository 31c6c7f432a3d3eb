import { describe, expect, it } from 'vitest';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';

describe('DEFAULT_LEARNING_CONFIG', () => {
  it('keeps the default interval, with the margin, under every idle timeout from 30 s up', () => {
    expect(CONFIG.defaultIntervalMs).toBeLessThan(30_000 * (1 - CONFIG.marginFraction));
    expect(CONFIG.minIntervalMs).toBeLessThanOrEqual(CONFIG.defaultIntervalMs);
    expect(CONFIG.maxIntervalMs).toBe(168 * 3_600_000);
  });

  it('makes converged advice land within 10 % of the real timeout', () => {
    expect(CONFIG.probeToleranceFraction).toBeLessThanOrEqual(0.05);
    const worst = (1 - CONFIG.probeToleranceFraction) * (1 - CONFIG.marginFraction);
    expect(worst).toBeGreaterThanOrEqual(0.9);
  });

  it('counts evidence of the recent week, as the seed reads its log', () => {
    expect(CONFIG.windowMs).toBe(7 * 24 * 3_600_000);
  });

  it('learns below the advice floor: the evidence floor is under keepalive.min', () => {
    expect(CONFIG.evidenceFloorMs).toBeLessThan(CONFIG.minIntervalMs);
  });

  it('replaces lines no later than the age from which deaths are blamed on the cap', () => {
    expect(CONFIG.reconnectBeforeCapFraction).toBeLessThan(1 - CONFIG.lifetimeAgeToleranceFraction + 1e-9);
  });
});

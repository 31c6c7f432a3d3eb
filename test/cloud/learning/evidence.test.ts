import { describe, expect, it } from 'vitest';
import { Prng } from '../../../bench/sim/prng.ts';
import { deriveBounds } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { DAY, HOUR, LogBuilder, MINUTE, SECOND } from './record-factory.ts';

describe('deriveBounds', () => {
  it('knows nothing from an empty log', () => {
    expect(deriveBounds([], 0, CONFIG)).toEqual({
      lowerMs: null,
      upperMs: null,
      lifetimeCapMs: null,
      lowerFrom: null,
    });
  });

  it('takes L from the longest success and U from the shortest failure', () => {
    const log = new LogBuilder()
      .ok(10 * MINUTE)
      .ok(20 * MINUTE, { role: 'probe' })
      .ng(40 * MINUTE)
      .ng(30 * MINUTE)
      .ok(5 * MINUTE);
    expect(deriveBounds(log.records, log.now, CONFIG)).toEqual({
      lowerMs: 20 * MINUTE,
      upperMs: 30 * MINUTE,
      lifetimeCapMs: null,
      lowerFrom: 'probe',
    });
  });

  it('forgets evidence older than the window', () => {
    const log = new LogBuilder()
      .ok(HOUR)
      .ng(2 * HOUR)
      .wait(7 * DAY)
      .ok(10 * MINUTE);
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 10 * MINUTE, upperMs: null });
  });

  it('ignores failures of a line the power policy kept alive too rarely', () => {
    const log = new LogBuilder().ok(10 * MINUTE).ng(HOUR, { policyLimited: true });
    expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBeNull();
  });

  it('ignores failures after gaps under the evidence floor (resets under traffic)', () => {
    const log = new LogBuilder().ok(10 * MINUTE).ng(1.5 * SECOND, { failure: 'reset' });
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 10 * MINUTE, upperMs: null });
  });

  it('lets a newer failure retire older successes: the middlebox got stricter', () => {
    const log = new LogBuilder()
      .ok(50 * MINUTE)
      .ok(30 * MINUTE)
      .ng(40 * MINUTE)
      .ok(5 * MINUTE);
    // 50 min is contradicted; 30 min is older than the contradiction and no safer, so it goes too.
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({
      lowerMs: 5 * MINUTE,
      upperMs: 40 * MINUTE,
    });
  });

  it('lets repeated newer successes retire older failures: the middlebox got more lenient', () => {
    const log = new LogBuilder()
      .ng(2 * HOUR)
      .ng(20 * MINUTE)
      .ok(30 * MINUTE)
      .ok(31 * MINUTE)
      .ok(32 * MINUTE);
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 32 * MINUTE, upperMs: null });
  });

  it('keeps a failure against a single lucky success past it (a coarse middlebox timer)', () => {
    // A timer that fires on whole periods cuts a gap one time and lets a longer one pass the next.
    const log = new LogBuilder().ok(18_000).ng(22_000).ok(19_000).ok(24_000).ok(19_500);
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 19_500, upperMs: 22_000 });
  });

  it('forgets a lucky success streak as soon as a failure breaks it', () => {
    const log = new LogBuilder().ng(22_000).ok(24_000).ok(25_000).ng(23_000).ok(24_500);
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ upperMs: 22_000 });
  });

  it('always has L below U, whatever the log', () => {
    const prng = new Prng(42);
    for (let round = 0; round < 200; round++) {
      const log = new LogBuilder();
      for (let i = 0; i < 30; i++) {
        const gap = Math.round(prng.next() * 2 * HOUR);
        if (prng.next() < 0.5) log.ok(gap);
        else log.ng(gap);
      }
      const { lowerMs, upperMs } = deriveBounds(log.records, log.now, CONFIG);
      if (lowerMs !== null && upperMs !== null) expect(lowerMs).toBeLessThan(upperMs);
    }
  });

  describe('with a lifetime cap', () => {
    /** Lines die at age ~10 min whatever their idle gap, generation after generation. */
    function cappedLog(): LogBuilder {
      const log = new LogBuilder().ok(20 * MINUTE, { role: 'probe', connectionAgeMs: 20 * MINUTE });
      for (const [idle, age] of [
        [50 * SECOND, 10 * MINUTE],
        [40 * SECOND, 10 * MINUTE + 20 * SECOND],
        [50 * SECOND, 10 * MINUTE + 10 * SECOND],
      ] as const) {
        log.wait(10 * MINUTE).ok(50 * SECOND, { connectionAgeMs: age - idle - SECOND });
        log.ng(idle, { connectionAgeMs: age, failure: 'keepalive-timeout' });
      }
      return log;
    }

    it('detects the cap and does not take its deaths as idle failures', () => {
      const log = cappedLog();
      const bounds = deriveBounds(log.records, log.now, CONFIG);
      expect(bounds.upperMs).toBeNull();
      expect(bounds.lowerMs).toBe(20 * MINUTE);
      expect(bounds.lifetimeCapMs).toBeGreaterThanOrEqual(9 * MINUTE);
      expect(bounds.lifetimeCapMs).toBeLessThanOrEqual(10 * MINUTE);
    });

    it('needs lifetimeMinDeaths deaths', () => {
      const log = cappedLog();
      const bounds = deriveBounds(log.records, log.now, { ...CONFIG, lifetimeMinDeaths: 4 });
      expect(bounds.lifetimeCapMs).toBeNull();
      expect(bounds.upperMs).not.toBeNull();
    });

    it('does not blame a cap for one mass death (a middlebox restart), which is idle evidence', () => {
      const log = new LogBuilder().ok(HOUR, { connectionAgeMs: 3 * DAY });
      for (let i = 0; i < 4; i++)
        log.ng(30 * MINUTE, { connectionAgeMs: 3 * DAY + i * MINUTE, time: log.now + SECOND });
      const bounds = deriveBounds(log.records, log.now, CONFIG);
      expect(bounds.lifetimeCapMs).toBeNull();
      expect(bounds.upperMs).toBe(30 * MINUTE);
    });

    it('drops the cap when a line later lives past it', () => {
      const log = cappedLog().ok(MINUTE, { connectionAgeMs: 30 * MINUTE });
      expect(deriveBounds(log.records, log.now, CONFIG).lifetimeCapMs).toBeNull();
    });

    it('does not blame a cap for deaths after gaps longer than any success', () => {
      const log = new LogBuilder().ok(MINUTE, { connectionAgeMs: 5 * MINUTE });
      for (let i = 0; i < 4; i++) log.wait(HOUR).ng(2 * MINUTE, { connectionAgeMs: 10 * MINUTE });
      expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({
        lifetimeCapMs: null,
        upperMs: 2 * MINUTE,
      });
    });

    it('does not blame a cap for lines idle since they opened (age = idle)', () => {
      const log = new LogBuilder().ok(20 * MINUTE);
      for (let i = 0; i < 4; i++) log.wait(HOUR).ng(10 * MINUTE, { connectionAgeMs: 10 * MINUTE });
      expect(deriveBounds(log.records, log.now, CONFIG).lifetimeCapMs).toBeNull();
    });

    it('accepts a cap the site already knows for its own first deaths', () => {
      const log = new LogBuilder()
        .ok(20 * MINUTE, { connectionAgeMs: 20 * MINUTE })
        .ng(50 * SECOND, { connectionAgeMs: 10 * MINUTE });
      expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBe(50 * SECOND);
      const known = deriveBounds(log.records, log.now, CONFIG, 9 * MINUTE);
      // The site's cap explains the death; the cap itself stays the site's (decideBounds adds it).
      expect(known).toMatchObject({ upperMs: null, lowerMs: 20 * MINUTE, lifetimeCapMs: null });
    });
  });
});

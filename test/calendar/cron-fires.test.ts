import fc from 'fast-check';
import { createTask } from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextFire, parseCron, previousFire } from '../../src/calendar/cron-fires.ts';
import { offsetAt } from '../../src/calendar/zoned-time.ts';

const BERLIN = 'Europe/Berlin';
const utc = (iso: string): number => Date.parse(iso);

describe('previous and next firing of a cron expression in a zone', () => {
  const weekdayNights = parseCron('0 22 * * 1-5');

  it('finds the last weekday 22:00 (local) before an instant, across a weekend', () => {
    // Monday 2026-01-05, 23:00 CET.
    expect(previousFire(weekdayNights, BERLIN, utc('2026-01-05T22:00:00Z'))).toBe(
      utc('2026-01-05T21:00:00Z'),
    );
    // Saturday 10:00: Friday's firing.
    expect(previousFire(weekdayNights, BERLIN, utc('2026-01-10T09:00:00Z'))).toBe(
      utc('2026-01-09T21:00:00Z'),
    );
    expect(nextFire(weekdayNights, BERLIN, utc('2026-01-10T09:00:00Z'))).toBe(utc('2026-01-12T21:00:00Z'));
  });

  it('counts a firing at exactly t as previous, not next', () => {
    const at = utc('2026-01-05T21:00:00Z');
    expect(previousFire(weekdayNights, BERLIN, at)).toBe(at);
    expect(nextFire(weekdayNights, BERLIN, at)).toBe(utc('2026-01-06T21:00:00Z'));
  });

  it('follows the zone’s offset after clocks go forward (2026-03-29 in Berlin)', () => {
    const nightly = parseCron('0 22 * * *');
    expect(previousFire(nightly, BERLIN, utc('2026-03-28T23:00:00Z'))).toBe(utc('2026-03-28T21:00:00Z'));
    expect(previousFire(nightly, BERLIN, utc('2026-03-29T23:00:00Z'))).toBe(utc('2026-03-29T20:00:00Z'));
  });

  it('fires a wall time skipped by the spring gap at the instant the clocks jump', () => {
    const halfPastTwo = parseCron('30 2 * * *');
    // 02:00 CET → 03:00 CEST at 01:00Z: 02:30 never happens that night.
    expect(nextFire(halfPastTwo, BERLIN, utc('2026-03-28T12:00:00Z'))).toBe(utc('2026-03-29T01:00:00Z'));
    expect(previousFire(halfPastTwo, BERLIN, utc('2026-03-29T00:59:59Z'))).toBe(utc('2026-03-28T01:30:00Z'));
  });

  it('fires a wall time repeated when clocks go back only once, at its first occurrence (2026-10-25)', () => {
    const halfPastTwo = parseCron('30 2 * * *');
    // 03:00 CEST → 02:00 CET at 01:00Z: 02:30 happens at 00:30Z and again at 01:30Z.
    expect(nextFire(halfPastTwo, BERLIN, utc('2026-10-24T12:00:00Z'))).toBe(utc('2026-10-25T00:30:00Z'));
    expect(nextFire(halfPastTwo, BERLIN, utc('2026-10-25T00:30:00Z'))).toBe(utc('2026-10-26T01:30:00Z'));
    expect(previousFire(halfPastTwo, BERLIN, utc('2026-10-25T01:45:00Z'))).toBe(utc('2026-10-25T00:30:00Z'));
  });

  it('handles last-day, nth-weekday and leap-day expressions', () => {
    expect(previousFire(parseCron('0 0 L * *'), 'UTC', utc('2026-03-15T00:00:00Z'))).toBe(
      utc('2026-02-28T00:00:00Z'),
    );
    expect(nextFire(parseCron('0 9 * * 1#2'), 'UTC', utc('2026-01-01T00:00:00Z'))).toBe(
      utc('2026-01-12T09:00:00Z'),
    );
    expect(previousFire(parseCron('0 0 29 2 *'), 'UTC', utc('2027-06-01T00:00:00Z'))).toBe(
      utc('2024-02-29T00:00:00Z'),
    );
  });

  const EXPRESSIONS = [
    '0 22 * * 1-5',
    '*/15 6-8 * * *',
    '30 2 * * *',
    '0 0 L * *',
    '0 9 * * 5L',
    '0 9 * * 1#2',
    '15 */3 1,15 * *',
    '*/20 * * * * *',
    '0 12 * jan,jul sun',
  ];
  const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
  const instants = fc.integer({ min: utc('2024-01-01T00:00:00Z'), max: utc('2030-12-31T00:00:00Z') });

  it('previous ≤ t < next, with no firing in between, in every zone (DST days included)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXPRESSIONS), fc.constantFrom(...ZONES), instants, (expr, zone, t) => {
        const cron = parseCron(expr);
        const prev = previousFire(cron, zone, t);
        const next = nextFire(cron, zone, t);
        expect(prev).not.toBeNull();
        expect(next).not.toBeNull();
        expect(prev as number).toBeLessThanOrEqual(t);
        expect(next as number).toBeGreaterThan(t);
        expect(nextFire(cron, zone, prev as number)).toBe(next);
      }),
      { numRuns: 300 },
    );
  });

  describe('agrees with node-cron’s own next run away from offset changes', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('for random instants, expressions and zones', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      fc.assert(
        fc.property(fc.constantFrom(...EXPRESSIONS), fc.constantFrom(...ZONES), instants, (expr, zone, t) => {
          vi.setSystemTime(t);
          const task = createTask(expr, () => {}, { timezone: zone });
          const theirs = task.getNextRuns(1)[0]?.getTime() as number;
          task.destroy();
          const steadyOffset = offsetAt(t - 86_400_000, zone) === offsetAt(theirs + 86_400_000, zone);
          fc.pre(steadyOffset);
          expect(nextFire(parseCron(expr), zone, t)).toBe(theirs);
        }),
        { numRuns: 200 },
      );
    });
  });
});

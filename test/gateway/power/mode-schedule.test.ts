import { describe, expect, it } from 'vitest';
import { parseCron } from '../../../src/calendar/cron-fires.ts';
import { modeAt, nextChange, type SchedulePolicy } from '../../../src/gateway/power/mode-schedule.ts';

const utc = (iso: string): number => Date.parse(iso);
const policy = (timeZone: string, ...schedules: [string, string][]): SchedulePolicy => ({
  baseMode: 'normal',
  timeZone,
  schedules: schedules.map(([cron, mode]) => ({ cron: parseCron(cron), mode })),
});

describe('the power mode in force at an instant', () => {
  const nights = policy('Europe/Berlin', ['0 22 * * 1-5', 'night'], ['0 6 * * *', 'normal']);

  it('keeps a night that started before midnight after midnight, until the morning schedule', () => {
    // Monday 2026-01-05, CET = UTC+1.
    expect(modeAt(nights, null, utc('2026-01-05T20:59:59Z')).mode).toBe('normal');
    expect(modeAt(nights, null, utc('2026-01-05T22:30:00Z'))).toMatchObject({
      mode: 'night',
      source: 'schedule',
      schedule: 0,
      firedAt: utc('2026-01-05T21:00:00Z'),
    });
    expect(modeAt(nights, null, utc('2026-01-06T01:00:00Z')).mode).toBe('night');
    expect(modeAt(nights, null, utc('2026-01-06T05:00:00Z')).mode).toBe('normal');
  });

  it('uses the configured zone’s wall clock on both sides of a DST change', () => {
    // 06:00 local is 05:00Z in winter and 04:00Z in summer.
    expect(modeAt(nights, null, utc('2026-03-27T04:30:00Z')).mode).toBe('night');
    expect(modeAt(nights, null, utc('2026-03-30T04:30:00Z')).mode).toBe('normal');
    expect(modeAt(nights, null, utc('2026-10-27T04:30:00Z')).mode).toBe('night');
    expect(modeAt(nights, null, utc('2026-10-27T05:00:00Z')).mode).toBe('normal');
  });

  it('switches once in the hour repeated when clocks go back', () => {
    const p = policy('Europe/Berlin', ['30 2 * * *', 'power-saving'], ['45 2 * * *', 'normal']);
    expect(modeAt(p, null, utc('2026-10-25T00:35:00Z')).mode).toBe('power-saving');
    expect(modeAt(p, null, utc('2026-10-25T00:50:00Z')).mode).toBe('normal');
    // 02:35 again (CET): had 02:30 fired twice, this would be power-saving.
    expect(modeAt(p, null, utc('2026-10-25T01:35:00Z')).mode).toBe('normal');
  });

  it('switches at the jump when the scheduled time falls in the spring gap', () => {
    const p = policy('Europe/Berlin', ['30 2 * * *', 'power-saving'], ['0 12 * * *', 'normal']);
    expect(modeAt(p, null, utc('2026-03-29T00:59:59Z')).mode).toBe('normal');
    expect(modeAt(p, null, utc('2026-03-29T01:00:00Z')).mode).toBe('power-saving');
  });

  it('lets the most recently fired schedule win an overlap, and the first listed win a tie', () => {
    const p = policy('UTC', ['0 * * * *', 'normal'], ['0 22 * * *', 'night'], ['0 22 * * *', 'power-saving']);
    expect(modeAt(p, null, utc('2026-01-05T22:30:00Z'))).toMatchObject({ mode: 'normal', schedule: 0 });
    const q = policy('UTC', ['0 22 * * *', 'night'], ['0 * * * *', 'normal'], ['0 22 * * *', 'power-saving']);
    expect(modeAt(q, null, utc('2026-01-05T22:30:00Z'))).toMatchObject({ mode: 'night', schedule: 0 });
    // An hour later the hourly schedule fired more recently.
    expect(modeAt(q, null, utc('2026-01-05T23:30:00Z')).mode).toBe('normal');
  });

  it('falls back to the base mode when no schedule fired', () => {
    expect(modeAt(policy('UTC'), null, utc('2026-01-05T00:00:00Z'))).toMatchObject({
      mode: 'normal',
      source: 'base',
    });
  });

  it('holds a manual override until its expiry, then returns to the schedule', () => {
    const until = utc('2026-01-05T23:00:00Z');
    const override = { mode: 'power-saving', untilMs: until };
    expect(modeAt(nights, override, until - 1)).toMatchObject({
      mode: 'power-saving',
      source: 'override',
      overrideUntilMs: until,
    });
    expect(modeAt(nights, override, until)).toMatchObject({ mode: 'night', source: 'schedule' });
  });

  it('reports the next change of mode, skipping firings that keep the mode', () => {
    // Friday 2026-01-09 12:00 UTC: the next change is Friday night at 22:00 CET.
    expect(nextChange(nights, null, utc('2026-01-09T12:00:00Z'))).toEqual({
      at: utc('2026-01-09T21:00:00Z'),
      mode: 'night',
    });
    // During an override the next change is its expiry when the schedule differs.
    const override = { mode: 'power-saving', untilMs: utc('2026-01-09T13:00:00Z') };
    expect(nextChange(nights, override, utc('2026-01-09T12:00:00Z'))).toEqual({
      at: utc('2026-01-09T13:00:00Z'),
      mode: 'normal',
    });
    const hourlySame = policy('UTC', ['0 * * * *', 'normal']);
    expect(nextChange(hourlySame, null, utc('2026-01-09T12:00:00Z'))).toBeNull();
  });
});

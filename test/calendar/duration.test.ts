import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from '../../src/calendar/duration.ts';

describe('durations', () => {
  it('parses units and compounds', () => {
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('2h4m')).toBe(7_440_000);
    expect(parseDuration('1h 30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('refuses a bare number and nonsense with a clear error', () => {
    expect(() => parseDuration('45')).toThrow(DurationError);
    expect(() => parseDuration('45')).toThrow(/number with a unit/);
    expect(() => parseDuration('soon')).toThrow(DurationError);
    expect(() => parseDuration('')).toThrow(/empty/);
    expect(() => parseDuration('5 parsecs')).toThrow(DurationError);
  });

  it('formats for people', () => {
    expect(formatDuration(7_440_000)).toBe('2h4m');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(20)).toBe('20ms');
  });
});

import { describe, expect, it } from 'vitest';
import { NORMAL_MODE, POWER_SAVING_MODE } from '../../../src/config/keepalive-defaults.ts';
import { applyAdvice } from '../../../src/gateway/keepalive/power-policy.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('applyAdvice', () => {
  it('follows advice in normal mode', () => {
    expect(applyAdvice(50_000, 14 * MINUTE, NORMAL_MODE)).toEqual({
      intervalMs: 14 * MINUTE,
      limitedByPolicy: false,
      ignored: false,
    });
  });

  it('never keeps alive more often than the mode allows, and says so', () => {
    expect(applyAdvice(HOUR, 15 * MINUTE, POWER_SAVING_MODE)).toEqual({
      intervalMs: HOUR,
      limitedByPolicy: true,
      ignored: false,
    });
  });

  it('ignores a lengthening smaller than the change threshold', () => {
    expect(applyAdvice(HOUR, HOUR + 20 * MINUTE, POWER_SAVING_MODE)).toEqual({
      intervalMs: HOUR,
      limitedByPolicy: false,
      ignored: true,
    });
  });

  it('applies a lengthening at or beyond the threshold', () => {
    expect(applyAdvice(HOUR, 2 * HOUR, POWER_SAVING_MODE)).toEqual({
      intervalMs: 2 * HOUR,
      limitedByPolicy: false,
      ignored: false,
    });
  });

  it('always applies a shortening, however small (deviation from the seed: ignoring it loses pushes)', () => {
    expect(applyAdvice(2 * HOUR, 2 * HOUR - 5 * MINUTE, POWER_SAVING_MODE)).toEqual({
      intervalMs: 2 * HOUR - 5 * MINUTE,
      limitedByPolicy: false,
      ignored: false,
    });
  });

  it('shortens only down to the mode minimum', () => {
    expect(applyAdvice(2 * HOUR, 10 * MINUTE, POWER_SAVING_MODE)).toMatchObject({
      intervalMs: HOUR,
      limitedByPolicy: true,
    });
  });

  it('lifts an interval below the mode minimum at once, threshold or not', () => {
    expect(applyAdvice(50_000, 55 * MINUTE, POWER_SAVING_MODE)).toEqual({
      intervalMs: HOUR,
      limitedByPolicy: true,
      ignored: false,
    });
  });
});

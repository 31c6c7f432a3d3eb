import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_STEP_MS, SystemClock } from '../../src/clock/system-clock.ts';

const DAY = 24 * 3600_000;

// Vitest's fake timers clamp a delay over 2^31-1 ms to 1 ms, as Node does: the bug of issue 13.14.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SystemClock long waits (issue 13.14)', () => {
  it('does not fire a 30-day timer at once: it re-arms in steps and fires once, when due', () => {
    const clock = new SystemClock();
    const fired = vi.fn();
    clock.setTimeout(fired, 30 * DAY);
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY - MAX_TIMER_STEP_MS - 1001);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60 * DAY);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires a wait of exactly one step, and a short one, as plain timers', () => {
    const clock = new SystemClock();
    const long = vi.fn();
    const short = vi.fn();
    clock.setTimeout(long, MAX_TIMER_STEP_MS);
    clock.setTimeout(short, 5);
    vi.advanceTimersByTime(5);
    expect(short).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS - 5);
    expect(long).toHaveBeenCalledTimes(1);
  });

  it('cancels a long wait in any of its steps', () => {
    const clock = new SystemClock();
    const fired = vi.fn();
    const handle = clock.setTimeout(fired, 100 * DAY);
    vi.advanceTimersByTime(2 * MAX_TIMER_STEP_MS + 7);
    clock.clearTimeout(handle);
    vi.advanceTimersByTime(200 * DAY);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never fires an infinite wait, fires a NaN one at once', () => {
    const clock = new SystemClock();
    const never = vi.fn();
    const nan = vi.fn();
    const handle = clock.setTimeout(never, Number.POSITIVE_INFINITY);
    clock.setTimeout(nan, Number.NaN);
    vi.advanceTimersByTime(1000 * DAY);
    expect(never).not.toHaveBeenCalled();
    expect(nan).toHaveBeenCalledTimes(1);
    clock.clearTimeout(handle);
  });
});

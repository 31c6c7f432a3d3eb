import { uptime } from 'node:os';
import type { Clock, TimerHandle } from './clock.ts';

/**
 * The longest delay a Node timer keeps: a longer one (24.8 days and more) fires after 1 ms
 * with a warning. Longer waits are armed in steps of at most this.
 */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

/** The real clock, backed by Date.now, performance.now (monotonic), os.uptime (since boot) and Node timers. */
export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  /** Linux: CLOCK_BOOTTIME, to the hundredth of a second. */
  sinceBoot(): number {
    return uptime() * 1000;
  }

  /** Any delay: one longer than a Node timer holds is re-armed in steps until it is due. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const arm = (remaining: number) => {
      const step = Math.min(remaining, MAX_TIMER_STEP_MS);
      const timer = setTimeout(() => {
        if (remaining > step) {
          arm(remaining - step);
          return;
        }
        this.timers.delete(id);
        fn();
      }, step);
      this.timers.set(id, timer);
    };
    // NaN waits nothing (as Node does); Infinity never falls due.
    arm(Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs));
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const timer = this.timers.get(handle.id);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(handle.id);
    }
  }
}

/** One shared real clock for production wiring. */
export const systemClock: Clock = new SystemClock();

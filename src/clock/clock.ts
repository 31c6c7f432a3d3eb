/** A timer handle returned by a Clock; opaque to callers. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * Everything that decides behaviour from time takes a Clock, so a week of keep-alives
 * runs in a unit test and the same code runs in real time on the box.
 */
export interface Clock {
  /**
   * Milliseconds since the epoch: for dates. It jumps when the time is set (a board without
   * a battery-backed clock sets it at every boot) and moves on while the box is suspended.
   */
  now(): number;
  /**
   * Milliseconds from an arbitrary origin on a clock that never jumps: for idle times, ages
   * and intervals. Like Linux's CLOCK_MONOTONIC, which Node's timers run on, it stands still
   * while the box is suspended; a jump detector compares the two (gateway/clock-watch).
   */
  monotonic(): number;
  /**
   * Milliseconds since boot, suspended time included (Linux CLOCK_BOOTTIME): tells a suspend
   * from the wall clock being set. Optional: a clock without it leaves the two alike.
   */
  sinceBoot?(): number;
  /** Calls fn once after delayMs of monotonic time. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

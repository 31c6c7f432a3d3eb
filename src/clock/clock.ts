/** A timer handle returned by a Clock; opaque to callers. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * Everything that decides behaviour from time takes a Clock, so a week of keep-alives
 * runs in a unit test and the same code runs in real time on the box.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once after delayMs. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

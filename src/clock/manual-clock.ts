import type { Clock, TimerHandle } from './clock.ts';

interface PendingTimer {
  id: number;
  /** Due time, monotonic. */
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Where the manual clock's monotonic time starts: far from any date, so code that mixes
 * up now() and monotonic() fails its tests instead of passing by coincidence.
 */
const MONOTONIC_START = 1_000_000;

/**
 * A clock that only moves when told to: tests and benchmarks advance it by days in
 * milliseconds of real time. Timers run on its monotonic time and fire in due order;
 * equal due times fire in the order they were set. Besides plain advancing it can set the
 * wall clock (stepWall), sleep like a suspended box (suspend) and stall like a frozen
 * process (stall), the three ways the two clocks part.
 */
export class ManualClock implements Clock {
  private mono = MONOTONIC_START;
  /** now() − monotonic(). */
  private wallOffset: number;
  /** Time spent suspended, which the time since boot counts and monotonic time does not. */
  private suspended = 0;
  private nextId = 1;
  private seq = 0;
  private readonly pending = new Map<number, PendingTimer>();

  constructor(startMs = Date.UTC(2026, 0, 5, 0, 0, 0)) {
    this.wallOffset = startMs - MONOTONIC_START;
  }

  now(): number {
    return this.mono + this.wallOffset;
  }

  monotonic(): number {
    return this.mono;
  }

  /** Milliseconds since the clock was made, suspended time included (Linux CLOCK_BOOTTIME, os.uptime). */
  sinceBoot(): number {
    return this.mono - MONOTONIC_START + this.suspended;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, at: this.mono + Math.max(0, delayMs), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.pending.delete(handle.id);
  }

  /** Number of timers not yet fired. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Due time of the next timer on the wall clock, or undefined when none is pending. */
  nextDue(): number | undefined {
    const next = this.earliest();
    return next && next.at + this.wallOffset;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.now() + ms);
  }

  /** Moves time forward to an absolute wall-clock instant, firing due timers in order. */
  advanceTo(target: number): void {
    const until = target - this.wallOffset;
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > until) break;
      this.pending.delete(next.id);
      this.mono = Math.max(this.mono, next.at);
      next.fn();
    }
    this.mono = Math.max(this.mono, until);
  }

  /** The wall clock is set by ms (either way), as NTP does at boot; monotonic time and timers do not move. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  /**
   * The box sleeps for ms: the wall clock moves on, monotonic time (and every timer) stands
   * still, as CLOCK_MONOTONIC does during a Linux suspend.
   */
  suspend(ms: number): void {
    this.wallOffset += ms;
    this.suspended += ms;
  }

  /**
   * The process is frozen for ms (SIGSTOP, a paused VM): both clocks move on but nothing
   * runs; timers that fell due meanwhile fire late, in order, at the next advance.
   */
  stall(ms: number): void {
    this.mono += ms;
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.pending.values()) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

import type { Clock, TimerHandle } from './clock.ts';

interface PendingTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to: tests and benchmarks advance it by days in
 * milliseconds of real time. Timers fire in due order; equal due times fire in the
 * order they were set.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private readonly pending = new Map<number, PendingTimer>();

  constructor(startMs = Date.UTC(2026, 0, 5, 0, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, at: this.current + Math.max(0, delayMs), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.pending.delete(handle.id);
  }

  /** Number of timers not yet fired. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Due time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves time forward to an absolute instant, firing due timers in order. */
  advanceTo(target: number): void {
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.pending.delete(next.id);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, target);
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.pending.values()) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

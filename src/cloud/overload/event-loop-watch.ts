import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';

/** A stretch of time during which the cloud's event loop could not run. */
export interface Stall {
  from: number;
  to: number;
}

export interface EventLoopWatchOptions {
  clock: Clock;
  logger: Logger;
  /** How often the loop is sampled, ms. */
  tickMs?: number;
  /** A tick later than this counts as a stall: the cloud was late, ms. */
  lateMs?: number;
  /** Stalls remembered, so a loss reported later can still be matched to one, ms. */
  memoryMs?: number;
}

/** Sampling period: short enough to bound any stall's edges to a tenth of a second. */
const DEFAULT_TICK_MS = 100;
/** Half a second of lag is far above a healthy loop's (under 10 ms) and below any answer timeout. */
const DEFAULT_LATE_MS = 500;
/** A gateway reports a loss on its next hello, seconds to minutes later. */
const DEFAULT_MEMORY_MS = 15 * 60_000;
/** Most stalls kept (older ones are forgotten first). */
const MAX_STALLS = 256;

/**
 * Watches the cloud's own event loop: a timer that fires late means the loop was blocked (CPU
 * overload, a long synchronous task, a GC pause) and nothing the cloud timed meanwhile — an
 * answer it owed, a deadline it kept — can be blamed on the network. Losses that overlap a
 * stall are recorded as the cloud's and never lower anyone's advice (issue 14: "honest
 * evidence under load").
 */
export class EventLoopWatch {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly tickMs: number;
  private readonly lateMs: number;
  private readonly memoryMs: number;
  private readonly stalls: Stall[] = [];
  private timer: TimerHandle | undefined;
  private lastTick = 0;
  private stallCount = 0;
  private maxLagMs = 0;
  private stalledMsTotal = 0;
  private lateLosses = 0;

  constructor(options: EventLoopWatchOptions) {
    this.clock = options.clock;
    this.log = options.logger.child({ part: 'event-loop' });
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.lateMs = options.lateMs ?? DEFAULT_LATE_MS;
    this.memoryMs = options.memoryMs ?? DEFAULT_MEMORY_MS;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastTick = this.clock.now();
    this.arm();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** How late the loop is running right now (0 when on time), ms. */
  lagNowMs(): number {
    if (this.timer === undefined) return 0;
    return Math.max(0, this.clock.now() - this.lastTick - this.tickMs);
  }

  /** True when the loop stalled at any moment of [from, to] (the current stall included). */
  wasLate(from: number, to: number): boolean {
    if (this.lagNowMs() > this.lateMs && to >= this.lastTick) return true;
    return this.stalls.some((s) => s.from <= to && s.to >= from);
  }

  /** Records a stall seen otherwise (a queue that waited too long). */
  noteStall(stall: Stall): void {
    const lag = stall.to - stall.from;
    this.stallCount++;
    this.stalledMsTotal += lag;
    this.maxLagMs = Math.max(this.maxLagMs, lag);
    this.stalls.push(stall);
    const forgetBefore = this.clock.now() - this.memoryMs;
    while (this.stalls.length > MAX_STALLS || (this.stalls[0] && (this.stalls[0] as Stall).to < forgetBefore))
      this.stalls.shift();
    this.log.warn(
      { lagMs: lag, from: new Date(stall.from).toISOString() },
      'cloud overloaded: event loop stalled; losses meanwhile are recorded as the cloud’s, not the network’s',
    );
  }

  /** Counts a loss recorded as the cloud's own because it overlapped a stall. */
  noteLateLoss(): void {
    this.lateLosses++;
  }

  /** Counters for the metrics endpoint. */
  stats(): { stalls: number; stalledMs: number; maxLagMs: number; lagNowMs: number; lateLosses: number } {
    return {
      stalls: this.stallCount,
      stalledMs: this.stalledMsTotal,
      maxLagMs: this.maxLagMs,
      lagNowMs: this.lagNowMs(),
      lateLosses: this.lateLosses,
    };
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      const lag = now - this.lastTick - this.tickMs;
      if (lag > this.lateMs) this.noteStall({ from: this.lastTick, to: now });
      this.lastTick = now;
      this.arm();
    }, this.tickMs);
  }
}

import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { applyAdvice, type PolicyDecision, type PowerMode } from './power-policy.ts';

/** What the manager knows about a line it gave up on. */
export interface DeadLineInfo {
  /** Idle time of the line when the unanswered keep-alive was sent, ms. */
  idleBeforeMs: number;
  reason: 'keepalive-timeout';
  /** Age of the line when the unanswered keep-alive was sent, ms. */
  connectionAgeMs: number;
  /** When the unanswered keep-alive was sent, on the monotonic clock (Clock.monotonic), ms. */
  sentAt: number;
  /** The interval was longer than advised because of the power policy: not network evidence. */
  limitedByPolicy: boolean;
}

/**
 * Slow start of a fresh line while its advice rests on no evidence: the first keep-alive comes
 * after firstGapMs of idle, each next one after factor times the previous gap, up to the interval.
 */
export interface SlowStart {
  firstGapMs: number;
  factor: number;
}

/**
 * True when advice ends a slow start: it was learned from evidence (any source but the default),
 * or the cloud says the default is final (converged).
 */
export function isSettledAdvice(advice: { source: string; converged: boolean }): boolean {
  return advice.source !== 'default' || advice.converged;
}

/** Wiring of one manager: the clock, the policy, and what to call; the socket work stays outside. */
export interface KeepaliveManagerOptions {
  clock: Clock;
  initialIntervalMs: number;
  /** How long to wait for an answer (or any incoming traffic) after a keep-alive, ms. */
  answerTimeoutMs: number;
  mode: PowerMode;
  sendKeepalive: () => void;
  /** Called once when a keep-alive went unanswered; the manager has stopped. */
  onDead: (info: DeadLineInfo) => void;
  /** Called once when the line reaches the age set by setReplaceBeforeAge (make-before-break). */
  onReplaceDue?: () => void;
  /** Ramp up to the interval until settled advice arrives (absent: keep alive at the interval from the start). */
  slowStart?: SlowStart;
}

/**
 * Keep-alive decisions for ONE push line, with no I/O: after intervalMs of idle it asks for a
 * keep-alive; if nothing comes back within answerTimeoutMs it declares the line dead, so a
 * dead line is believed alive for at most interval + answer timeout.
 *
 * With a slow start, a fresh line whose advice is not settled keeps alive at short gaps growing
 * to the interval: behind a middlebox stricter than the default it stays alive (and hears the
 * site's first evidence) instead of dying silently at the timeout and being found dead only
 * after the default interval and the answer timeout. No gap exceeds the interval, so a line
 * safe at the default is never put at risk.
 *
 * One timer, re-armed lazily: traffic only records a time; when the timer fires it compares
 * with the last traffic and sleeps again, so a busy line costs no timer churn.
 *
 * Every time here is monotonic (Clock.monotonic): the wall clock jumps when it is set (a Pi
 * has no battery-backed clock and sets it at boot), and a jump must never read as idle time.
 */
export class KeepaliveManager {
  private readonly clock: Clock;
  private readonly answerTimeoutMs: number;
  private readonly sendKeepalive: () => void;
  private readonly onDead: (info: DeadLineInfo) => void;
  private readonly onReplaceDue: (() => void) | undefined;
  private readonly slowStart: SlowStart | undefined;
  /** The gap of the next keep-alive while the line ramps up; null once the ramp is over. */
  private rampGapMs: number | null;
  private mode: PowerMode;
  private interval: number;
  private limited: boolean;
  private advisedMs: number;
  private startedAt = 0;
  private lastTraffic = 0;
  /** When the unanswered keep-alive was sent, and the idle gap before it. */
  private pending: { sentAt: number; idleBeforeMs: number } | null = null;
  private replaceAtAgeMs: number | null = null;
  private replaceSignalled = false;
  private running = false;
  private timer: TimerHandle | undefined;
  private timerDueAt: number | null = null;

  constructor(options: KeepaliveManagerOptions) {
    this.clock = options.clock;
    this.answerTimeoutMs = options.answerTimeoutMs;
    this.sendKeepalive = options.sendKeepalive;
    this.onDead = options.onDead;
    this.onReplaceDue = options.onReplaceDue;
    this.slowStart = options.slowStart;
    this.rampGapMs = options.slowStart?.firstGapMs ?? null;
    this.mode = options.mode;
    this.advisedMs = options.initialIntervalMs;
    this.interval = Math.max(options.initialIntervalMs, options.mode.minIntervalMs);
    this.limited = this.interval > options.initialIntervalMs;
  }

  /** The interval in force, ms. */
  get intervalMs(): number {
    return this.interval;
  }

  /** True when the power policy keeps alive less often than the cloud advised. */
  get limitedByPolicy(): boolean {
    return this.limited;
  }

  /** When traffic last crossed the line (or the line started), on the monotonic clock, ms. */
  get lastTrafficAt(): number {
    return this.lastTraffic;
  }

  /** The keep-alive waiting for its answer: when it left and the idle gap before it; null when none. */
  get unanswered(): { sentAt: number; idleBeforeMs: number } | null {
    return this.pending === null ? null : { ...this.pending };
  }

  /** Starts watching a freshly connected line: the connection itself is traffic. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.clock.monotonic();
    this.lastTraffic = this.startedAt;
    this.pending = null;
    this.replaceSignalled = false;
    this.arm();
  }

  /** Stops all timers; the line is closed or handed over. */
  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = null;
  }

  /**
   * Real traffic crossed the line: it resets the idle time. Incoming traffic also proves the
   * line alive, so it answers a pending keep-alive; outgoing traffic does not (a dead line
   * swallows writes silently).
   */
  noteTraffic(direction: 'in' | 'out' = 'in'): void {
    this.lastTraffic = this.clock.monotonic();
    if (direction === 'in') this.pending = null;
  }

  /** The keep-alive was answered. */
  noteAnswer(): void {
    this.noteTraffic('in');
  }

  /**
   * Applies the cloud's advice through the power policy; returns what the policy decided.
   * Settled advice (learned from evidence, or known to be final) ends the slow start for good.
   */
  applyAdvice(advisedMs: number, settled = true): PolicyDecision {
    this.advisedMs = advisedMs;
    if (settled) this.rampGapMs = null;
    const decision = applyAdvice(this.interval, advisedMs, this.mode);
    this.interval = decision.intervalMs;
    this.limited = decision.limitedByPolicy;
    if (this.running) this.arm();
    return decision;
  }

  /** Switches operation condition; the last advice is re-read under the new mode's minimum at once. */
  setMode(mode: PowerMode): void {
    this.mode = mode;
    // A mode switch is the user's explicit choice, so no change threshold applies to it.
    this.interval = Math.max(this.advisedMs, mode.minIntervalMs);
    this.limited = this.interval > this.advisedMs;
    if (this.running) this.arm();
  }

  /** Asks for onReplaceDue when the line reaches this age (null: never), ms. */
  setReplaceBeforeAge(ageMs: number | null): void {
    this.replaceAtAgeMs = ageMs;
    if (this.running) this.arm();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDueAt = null;
    if (!this.running) return;
    const now = this.clock.monotonic();
    if (this.pending !== null && now >= this.pending.sentAt + this.answerTimeoutMs) {
      const { sentAt, idleBeforeMs } = this.pending;
      this.stop();
      this.onDead({
        idleBeforeMs,
        reason: 'keepalive-timeout',
        connectionAgeMs: sentAt - this.startedAt,
        sentAt,
        limitedByPolicy: this.limited,
      });
      return;
    }
    if (
      this.replaceAtAgeMs !== null &&
      !this.replaceSignalled &&
      now - this.startedAt >= this.replaceAtAgeMs
    ) {
      this.replaceSignalled = true;
      this.onReplaceDue?.();
      if (!this.running) return;
    }
    if (this.pending === null && now - this.lastTraffic >= this.gapMs()) {
      this.pending = { sentAt: now, idleBeforeMs: now - this.lastTraffic };
      this.growRamp();
      this.sendKeepalive();
      if (!this.running) return;
    }
    this.arm();
  }

  /** Makes sure the one timer fires no later than the next due moment. */
  private arm(): void {
    const due = this.nextDue();
    // An earlier timer is kept: when it fires it finds nothing due and re-arms (lazy).
    if (this.timerDueAt !== null && this.timerDueAt <= due) return;
    this.clock.clearTimeout(this.timer);
    this.timerDueAt = due;
    this.timer = this.clock.setTimeout(() => this.fire(), due - this.clock.monotonic());
  }

  /** The idle gap after which the next keep-alive is due. */
  private gapMs(): number {
    if (this.rampGapMs === null) return this.interval;
    return Math.max(this.mode.minIntervalMs, Math.min(this.interval, this.rampGapMs));
  }

  /** The next ramp gap, or the end of the ramp once it reaches the interval. */
  private growRamp(): void {
    if (this.rampGapMs === null || this.slowStart === undefined) return;
    const next = this.rampGapMs * this.slowStart.factor;
    this.rampGapMs = next >= this.interval ? null : next;
  }

  private nextDue(): number {
    let due =
      this.pending !== null ? this.pending.sentAt + this.answerTimeoutMs : this.lastTraffic + this.gapMs();
    if (this.replaceAtAgeMs !== null && !this.replaceSignalled) {
      due = Math.min(due, this.startedAt + this.replaceAtAgeMs);
    }
    return due;
  }
}

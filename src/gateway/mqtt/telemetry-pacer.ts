import type { Clock, TimerHandle } from '../../clock/clock.ts';

export interface TelemetryPacerOptions {
  clock: Clock;
  /** Publish at least this often, ms. */
  everyMs: number;
  /** Never publish more often than this, even on changes, ms. */
  minGapMs: number;
  /** Publishes; false when it could not (broker down): that does not count as a publication. */
  publish: () => boolean;
}

/**
 * Decides WHEN telemetry goes out: on every change of what it reports, and on a schedule, but
 * never twice within minGapMs (changes in between are coalesced into one publication at the
 * end of the gap). No I/O: `publish` does the work.
 */
export class TelemetryPacer {
  private readonly options: TelemetryPacerOptions;
  private lastAt: number | null = null;
  private signature: string | null = null;
  private timer: TimerHandle | undefined;
  private dueAt: number | null = null;
  private running = false;
  /** A change (or a request) is waiting for its publication. */
  private changePending = false;

  constructor(options: TelemetryPacerOptions) {
    this.options = options;
  }

  /** Publishes now and keeps the schedule. */
  start(): void {
    this.running = true;
    this.fire();
  }

  stop(): void {
    this.running = false;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = null;
  }

  /** What is reported may have changed: `signature` captures it; equal ones are no change. */
  noteState(signature: string): void {
    if (signature === this.signature) return;
    this.signature = signature;
    if (!this.running) return;
    this.changePending = true;
    const earliest = this.lastAt === null ? this.options.clock.now() : this.lastAt + this.options.minGapMs;
    this.arm(Math.max(earliest, this.options.clock.now()));
  }

  /** Changes the schedule and the gap (config reload); the next publication follows the new period. */
  setPace(everyMs: number, minGapMs: number): void {
    this.options.everyMs = everyMs;
    this.options.minGapMs = minGapMs;
    if (!this.running || this.lastAt === null) return;
    const { clock } = this.options;
    clock.clearTimeout(this.timer);
    this.dueAt = null;
    const next = this.lastAt + (this.changePending ? Math.min(minGapMs, everyMs) : everyMs);
    this.arm(Math.max(clock.now(), next));
  }

  /** Publishes at once (e.g. on reconnect), still within the minimum gap. */
  requestNow(): void {
    if (!this.running) return;
    this.changePending = true;
    const earliest = this.lastAt === null ? 0 : this.lastAt + this.options.minGapMs;
    this.arm(Math.max(earliest, this.options.clock.now()));
  }

  private arm(at: number): void {
    if (this.dueAt !== null && this.dueAt <= at) return;
    const { clock } = this.options;
    clock.clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = clock.setTimeout(() => this.fire(), at - clock.now());
  }

  private fire(): void {
    this.timer = undefined;
    this.dueAt = null;
    if (!this.running) return;
    const now = this.options.clock.now();
    if (this.options.publish()) {
      this.changePending = false;
      this.lastAt = now;
    }
    this.arm(now + this.options.everyMs);
  }
}

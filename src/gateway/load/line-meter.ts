import type { Clock } from '../../clock/clock.ts';

/** One sample: job tunnel bytes that arrived while the gateway waited for them, and how long it waited. */
interface Sample {
  at: number;
  bytes: number;
  waitedMs: number;
}

export interface LineMeterOptions {
  clock: Clock;
  /** The speed is the rate over the samples of this window (default 5 s). */
  windowMs?: number;
  /** With no sample for this long the speed is unknown again (default 30 s). */
  staleAfterMs?: number;
  /** A sample counts only when the gateway waited at least this share of it (default 0.5). */
  minWaitShare?: number;
}

/**
 * The speed of the gateway's line (seed 001's "speed of the communication line 4"), measured
 * on the data it carries rather than with test traffic: the rate at which job tunnel data
 * arrives while some job tunnel waits for it — open, and not held back because its device is
 * behind. Time when no tunnel waits says nothing about the line (an idle line, or slow
 * printers set the pace) and is left out; so an idle gateway has no speed, not a speed of 0.
 */
export class LineMeter {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly staleAfterMs: number;
  private readonly minWaitShare: number;
  private readonly waitingKeys = new Set<object>();
  private waitingSince: number | undefined;
  private sampleStart: number;
  private bytes = 0;
  private waitedMs = 0;
  private readonly samples: Sample[] = [];
  /** The speed as last measured, and when its newest sample was taken. */
  private last: { at: number; rate: number } | undefined;

  constructor(options: LineMeterOptions) {
    this.clock = options.clock;
    this.windowMs = options.windowMs ?? 5_000;
    this.staleAfterMs = options.staleAfterMs ?? 30_000;
    this.minWaitShare = options.minWaitShare ?? 0.5;
    this.sampleStart = this.clock.now();
  }

  /** A job tunnel starts (true) or stops (false) waiting for data from the line. */
  waiting(key: object, on: boolean): void {
    const before = this.waitingKeys.size;
    if (on) this.waitingKeys.add(key);
    else this.waitingKeys.delete(key);
    const now = this.clock.now();
    if (before === 0 && this.waitingKeys.size > 0) this.waitingSince = now;
    if (before > 0 && this.waitingKeys.size === 0) this.stopWaiting(now);
  }

  /** Job tunnel bytes arrived; they count while some tunnel waits for them. */
  received(bytes: number): void {
    if (this.waitingKeys.size > 0) this.bytes += bytes;
  }

  /** Closes the current sample (the load meter calls this every second). */
  sample(): void {
    const now = this.clock.now();
    if (this.waitingSince !== undefined) {
      this.stopWaiting(now);
      this.waitingSince = now;
    }
    const length = now - this.sampleStart;
    if (length > 0 && this.waitedMs >= length * this.minWaitShare && this.bytes > 0) {
      this.samples.push({ at: now, bytes: this.bytes, waitedMs: this.waitedMs });
    }
    this.sampleStart = now;
    this.bytes = 0;
    this.waitedMs = 0;
    while (this.samples.length > 0 && (this.samples[0] as Sample).at <= now - this.windowMs) {
      this.samples.shift();
    }
    // With no sample in the window the last speed stands until it is stale.
    const newest = this.samples.at(-1);
    if (newest) this.last = { at: newest.at, rate: this.rate() };
    else if (this.last && now - this.last.at >= this.staleAfterMs) this.last = undefined;
  }

  /** Bytes per second, or null while unknown (never measured, or stale). */
  bytesPerSec(): number | null {
    return this.last ? this.last.rate : null;
  }

  private rate(): number {
    let bytes = 0;
    let waited = 0;
    for (const s of this.samples) {
      bytes += s.bytes;
      waited += s.waitedMs;
    }
    return Math.round((bytes * 1000) / waited);
  }

  private stopWaiting(now: number): void {
    if (this.waitingSince !== undefined) this.waitedMs += now - this.waitingSince;
    this.waitingSince = undefined;
  }
}

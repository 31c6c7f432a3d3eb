import type { Clock, TimerHandle } from '../../clock/clock.ts';

/**
 * How the gateway's clocks parted:
 * - `suspend`: the box slept; the time since boot (and the wall clock) moved on, the monotonic
 *   clock did not. The gateway was away: its lines may have died meanwhile.
 * - `stall`: the process did not run (SIGSTOP, a paused VM, an event loop blocked for
 *   seconds); every clock moved on, but a check due long ago runs only now. Away too.
 * - `clock-step`: the wall clock was set (NTP at boot on a board without RTC, an admin), the
 *   others did not move: nothing was missed, only dates shifted.
 */
export type ClockJumpKind = 'suspend' | 'stall' | 'clock-step';

export interface ClockJump {
  kind: ClockJumpKind;
  /** How long the gateway was away, or by how much the wall clock was set (negative: back), ms. */
  ms: number;
  /** When it was noticed, on the monotonic clock, ms. */
  noticedAt: number;
}

export interface ClockWatchOptions {
  clock: Clock;
  /**
   * Time since boot including suspended time (Linux CLOCK_BOOTTIME, os.uptime()), ms: tells a
   * suspend from a wall-clock step forward. Without it, the wall clock running ahead of the
   * monotonic one is taken as a suspend (a needless reconnect at worst, never lost evidence).
   */
  sinceBoot?: () => number;
  /** How often the clocks are compared, ms. */
  checkEveryMs?: number;
  /** Differences up to this are ordinary jitter and scheduling delay, ms. */
  toleranceMs?: number;
  onJump: (jump: ClockJump) => void;
}

/** Default period of the comparison. */
export const CHECK_EVERY_MS = 1000;
/**
 * Default tolerance: above an event loop's ordinary delays on a busy small board, below the
 * seconds in which a middlebox can forget a line.
 */
export const TOLERANCE_MS = 5000;
/** Away spells remembered for awaySince (the lines' losses are asked about within seconds). */
const REMEMBERED = 16;

interface Sample {
  mono: number;
  wall: number;
  boot: number | undefined;
}

/**
 * The jump detector: compares the wall clock, the time since boot and the monotonic clock
 * every second, and says when they part (a suspend, a frozen process, a set clock). The link
 * reconnects its lines at once after the gateway was away, and marks the lines lost across
 * that time as no evidence: an idle gap measured around a sleep is not the path's.
 *
 * Written here because it needs the gateway's injected Clock and its notion of "away"; there
 * is no library for it.
 */
export class ClockWatch {
  private readonly clock: Clock;
  private readonly sinceBoot: (() => number) | undefined;
  private readonly checkEveryMs: number;
  private readonly toleranceMs: number;
  private readonly onJump: (jump: ClockJump) => void;
  private last: Sample | undefined;
  private timer: TimerHandle | undefined;
  /** Recent away spells, as the monotonic span in which each happened. */
  private readonly away: { from: number; to: number }[] = [];

  constructor(options: ClockWatchOptions) {
    this.clock = options.clock;
    this.sinceBoot = options.sinceBoot;
    this.checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
    this.toleranceMs = options.toleranceMs ?? TOLERANCE_MS;
    this.onJump = options.onJump;
  }

  start(): void {
    if (this.last) return;
    this.last = this.sample();
    this.arm();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  /**
   * Whether the gateway was away at some moment since this monotonic time. Checks the clocks
   * first: after a freeze, a socket's close can be handled before the periodic check runs.
   */
  awaySince(monotonicMs: number): boolean {
    this.check();
    return this.away.some((spell) => spell.to > monotonicMs);
  }

  /** Compares the clocks now; reports a jump (once) if they parted since the last comparison. */
  check(): ClockJump | undefined {
    const before = this.last;
    if (!before) return undefined;
    const now = this.sample();
    const mono = now.mono - before.mono;
    const wall = now.wall - before.wall;
    const boot = now.boot !== undefined && before.boot !== undefined ? now.boot - before.boot : undefined;
    // A frozen process: the comparison due after checkEveryMs comes much later.
    const stalled = mono - this.checkEveryMs;
    // A sleep: time passed that the monotonic clock did not count.
    const slept = (boot ?? wall) - mono;
    const stepped = wall - (boot ?? mono);
    let jump: ClockJump | undefined;
    if (slept > this.toleranceMs) jump = { kind: 'suspend', ms: slept, noticedAt: now.mono };
    else if (stalled > this.toleranceMs) jump = { kind: 'stall', ms: stalled, noticedAt: now.mono };
    else if (Math.abs(stepped) > this.toleranceMs)
      jump = { kind: 'clock-step', ms: stepped, noticedAt: now.mono };
    this.last = now;
    if (!jump) return undefined;
    if (jump.kind !== 'clock-step') {
      this.away.push({ from: before.mono, to: now.mono });
      if (this.away.length > REMEMBERED) this.away.shift();
    }
    this.onJump(jump);
    return jump;
  }

  private sample(): Sample {
    return { mono: this.clock.monotonic(), wall: this.clock.now(), boot: this.sinceBoot?.() };
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.last) return;
      this.check();
      if (this.last) this.arm();
    }, this.checkEveryMs);
  }
}

import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { MallocTrim } from '../../runtime/malloc-trim.ts';

/**
 * How often the gateway hands glibc's free heap pages back: about as often as the buffer
 * reclaimer's full collections while data moves (runtime/buffer-reclaimer.ts), which is when
 * most of them are freed. A trim with nothing to give back takes ~0.06 ms, one that gives
 * back 16 MB ~2.6 ms (x64), so once a minute costs nothing idle and keeps the free pages from
 * piling up over a week.
 */
export const TRIM_EVERY_MS = 60_000;

export interface HeapTrimmerOptions {
  clock: Clock;
  trim: MallocTrim;
  everyMs?: number;
}

/** Calls malloc_trim every `everyMs` on the monotonic clock from start to stop. */
export class HeapTrimmer {
  private readonly clock: Clock;
  private readonly trim: MallocTrim;
  private readonly everyMs: number;
  private timer: TimerHandle | undefined;

  constructor(options: HeapTrimmerOptions) {
    if (!(options.everyMs === undefined || options.everyMs > 0)) {
      throw new RangeError(`everyMs must be above 0, not ${options.everyMs}`);
    }
    this.clock = options.clock;
    this.trim = options.trim;
    this.everyMs = options.everyMs ?? TRIM_EVERY_MS;
  }

  start(): void {
    if (this.timer) return;
    this.arm();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      this.trim();
      this.arm();
    }, this.everyMs);
  }
}

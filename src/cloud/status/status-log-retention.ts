import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { LearningStore } from './learning-store.ts';

export interface RetentionOptions {
  store: LearningStore;
  clock: Clock;
  logger: Logger;
  /** Rows older than this are deleted, ms. */
  keepMs: number;
  /** At most this many newest rows are kept per gateway. */
  maxPerGateway: number;
  /** How often a sweep runs, ms. */
  everyMs: number;
  /** Most rows one store call deletes before the job yields to the event loop. */
  batch?: number;
}

/** Rows one prune call deletes: a few milliseconds of SQLite work, so keep-alives are never held up long. */
const DEFAULT_BATCH = 2_000;

/**
 * Keeps the communication status log bounded (~420 KB per gateway per day unpruned): every
 * everyMs a sweep deletes rows older than keepMs and each gateway's rows beyond its cap, in
 * small batches with the event loop free between them. The evidence never needs the log (it is
 * folded per exchange), so pruning loses no learning; the log is for people and audits.
 */
export class StatusLogRetention {
  private readonly options: RetentionOptions;
  private readonly log: Logger;
  private timer: TimerHandle | undefined;
  private running: Promise<number> | null = null;
  private stopped = true;

  constructor(options: RetentionOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'status-log-retention' });
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    await this.running;
  }

  /** Runs one sweep to its end (one at a time); returns how many rows it deleted. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.sweep().then(
        () => this.arm(),
        (err: Error) => {
          this.log.error({ err: err.message }, 'status log sweep failed; retrying at the next period');
          this.arm();
        },
      );
    }, this.options.everyMs);
  }

  private async sweepOnce(): Promise<number> {
    const { store, clock, keepMs, maxPerGateway } = this.options;
    const policy = {
      before: clock.now() - keepMs,
      maxPerGateway,
      batch: this.options.batch ?? DEFAULT_BATCH,
    };
    let total = 0;
    for (;;) {
      const step = await store.prune(policy);
      total += step.deleted;
      if (step.done || this.stopped) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (total > 0) this.log.info({ deleted: total }, 'status log pruned');
    return total;
  }
}

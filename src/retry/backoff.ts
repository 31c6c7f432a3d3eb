/** Tunables of the reconnect backoff. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Capped exponential backoff with full jitter (AWS architecture blog): the delay is
 * uniform in [0, min(max, initial × 2^attempt)], so a site's gateways that lost the
 * cloud together do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;
  private readonly options: BackoffOptions;
  private readonly random: () => number;

  constructor(options: BackoffOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
  }

  /** Delay before the next attempt, ms; grows with every call until reset. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(this.random() * ceiling);
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Starts again from the initial delay, e.g. after a line stayed up long enough. */
  reset(): void {
    this.attempt = 0;
  }
}

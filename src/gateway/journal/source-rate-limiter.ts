import type { Clock } from '../../clock/clock.ts';

export interface SourceRateLimit {
  /** Messages per second a source may send over time. */
  perSecond: number;
  /** Messages a source may send at once after a quiet spell. */
  burst: number;
  /** Sources tracked at once; past it the longest-quiet one is forgotten (it starts with a full bucket). */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per sender address, so one chatty or broken device cannot fill the journal
 * or the CPU. Memory is bounded by maxSources whatever addresses arrive.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: Clock;
  private readonly limit: SourceRateLimit;

  constructor(clock: Clock, limit: SourceRateLimit) {
    this.clock = clock;
    this.limit = limit;
  }

  /**
   * Takes one message's token for a source: 0 when it may pass now, else the ms until it could
   * (the caller drops the message, or waits that long).
   */
  take(source: string): number {
    const now = this.clock.now();
    const { perSecond, burst } = this.limit;
    const bucket = this.buckets.get(source) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perSecond) / 1000);
    bucket.at = now;
    // Re-inserting keeps the map in least-recently-seen order, so eviction takes the first key.
    this.buckets.delete(source);
    this.buckets.set(source, bucket);
    if (this.buckets.size > this.limit.maxSources) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.buckets.size;
  }
}

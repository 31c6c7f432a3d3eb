import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { SourceRateLimiter } from '../../../src/gateway/journal/source-rate-limiter.ts';

describe('SourceRateLimiter', () => {
  it('lets a burst through, then one message per 1/rate, per source', () => {
    const clock = new ManualClock();
    const limiter = new SourceRateLimiter(clock, { perSecond: 10, burst: 3, maxSources: 10 });
    expect([1, 2, 3].map(() => limiter.take('10.0.0.1'))).toEqual([0, 0, 0]);
    expect(limiter.take('10.0.0.1')).toBe(100);
    expect(limiter.take('10.0.0.2')).toBe(0);
    clock.advance(100);
    expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBe(100);
    clock.advance(10_000);
    expect([1, 2, 3, 4].map(() => limiter.take('10.0.0.1'))).toEqual([0, 0, 0, 100]);
  });

  it('remembers at most maxSources senders, forgetting the longest quiet', () => {
    const clock = new ManualClock();
    const limiter = new SourceRateLimiter(clock, { perSecond: 1, burst: 1, maxSources: 2 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(limiter.take('b')).toBe(0);
  });
});

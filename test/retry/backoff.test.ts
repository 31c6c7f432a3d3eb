import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/retry/backoff.ts';

describe('reconnect backoff', () => {
  it('doubles its ceiling up to the cap and jitters below it', () => {
    const top = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.999999 });
    const ceilings = Array.from({ length: 9 }, () => top.next());
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    const low = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.25 });
    expect([low.next(), low.next(), low.next()]).toEqual([250, 500, 1000]);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });
});

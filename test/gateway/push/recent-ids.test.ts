import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../../src/gateway/push/recent-ids.ts';

/** The behaviour RecentIds keeps in fixed memory: an insertion-ordered set that forgets its oldest. */
class ReferenceIds {
  private readonly ids = new Set<string>();
  private readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

/** A deterministic pseudo-random stream (mulberry32), so a failure can be replayed. */
function randomFrom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('RecentIds', () => {
  it('hands on an id once and remembers it', () => {
    const ids = new RecentIds(4);
    expect(ids.add('push-1')).toBe(true);
    expect(ids.add('push-1')).toBe(false);
    expect(ids.has('push-1')).toBe(true);
    expect(ids.has('push-2')).toBe(false);
  });

  it('forgets the oldest id once full, and only that one', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    expect(ids.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => ids.has(id))).toBe(true);
    // A repeat does not make an id newer: 'b' is still the next to go.
    expect(ids.add('b')).toBe(false);
    ids.add('e');
    expect(ids.has('b')).toBe(false);
    expect(ids.has('c')).toBe(true);
    // A forgotten id is new again.
    expect(ids.add('a')).toBe(true);
  });

  it('agrees with an insertion-ordered set over a long run of repeats and evictions', () => {
    for (const capacity of [1, 2, 7, 64, 1000]) {
      const random = randomFrom(capacity);
      const ids = new RecentIds(capacity);
      const reference = new ReferenceIds(capacity);
      // Ids drawn from a pool a few times the capacity: many repeats, many evictions.
      const pool = capacity * 3 + 5;
      for (let step = 0; step < 20_000; step++) {
        const id = `gw-1/push-${Math.floor(random() * pool)}`;
        if (random() < 0.3) expect(ids.has(id)).toBe(reference.has(id));
        else expect(ids.add(id)).toBe(reference.add(id));
      }
      for (let n = 0; n < pool; n++) expect(ids.has(`gw-1/push-${n}`)).toBe(reference.has(`gw-1/push-${n}`));
    }
  });

  it('takes ids of any length the protocol allows, told apart by content', () => {
    const ids = new RecentIds(8);
    const long = 'x'.repeat(128);
    expect(ids.add(long)).toBe(true);
    expect(ids.add(`${'x'.repeat(127)}y`)).toBe(true);
    expect(ids.add(long)).toBe(false);
    expect(ids.add('é')).toBe(true);
    expect(ids.has('e')).toBe(false);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentIds(0)).toThrow(/capacity must be a positive integer, got 0/);
    expect(() => new RecentIds(2.5)).toThrow(RangeError);
  });
});

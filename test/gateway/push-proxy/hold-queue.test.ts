import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { type HeldPush, HoldQueue, type HoldStore } from '../../../src/gateway/push-proxy/hold-queue.ts';
import { SqliteHoldStore } from '../../../src/gateway/push-proxy/hold-store.ts';

const HOUR = 3_600_000;

function memoryStore(): HoldStore & { rows: Map<string, HeldPush> } {
  const rows = new Map<string, HeldPush>();
  return {
    rows,
    load: () => [...rows.values()],
    insert: (p) => rows.set(p.pushId, p),
    delete: (ids) => {
      for (const id of ids) rows.delete(id);
    },
  };
}

const push = (pushId: string, payload: unknown = { n: pushId }) => ({
  pushId,
  dataType: 'job-ready',
  payload,
});

describe('hold queue', () => {
  it('keeps pushes per device in arrival order and hands them out once', () => {
    const clock = new ManualClock();
    const queue = new HoldQueue({
      clock,
      store: memoryStore(),
      limits: { maxPerDevice: 10, maxBytes: 1e6, ttlMs: HOUR },
    });
    queue.admit('a', push('1'));
    queue.admit('b', push('2'));
    queue.admit('a', push('3'));
    expect(queue.pending('a').map((p) => p.pushId)).toEqual(['1', '3']);
    expect(queue.pending('b').map((p) => p.pushId)).toEqual(['2']);
    expect(queue.remove('1')).toBe(true);
    expect(queue.remove('1')).toBe(false);
    expect(queue.pending('a').map((p) => p.pushId)).toEqual(['3']);
  });

  it('holds a retried push once, and never for another device', () => {
    const queue = new HoldQueue({
      clock: new ManualClock(),
      store: memoryStore(),
      limits: { maxPerDevice: 10, maxBytes: 1e6, ttlMs: HOUR },
    });
    expect(queue.admit('a', push('1'))).toMatchObject({ held: true, duplicate: false, count: 1 });
    expect(queue.admit('a', push('1'))).toMatchObject({ held: true, duplicate: true, count: 1 });
    expect(queue.admit('b', push('1'))).toMatchObject({ held: false });
    expect(queue.count('a')).toBe(1);
    expect(queue.count('b')).toBe(0);
  });

  it('refuses the newcomer when a device has hold.max pushes, or the bytes would pass maxBytes', () => {
    const queue = new HoldQueue({
      clock: new ManualClock(),
      store: memoryStore(),
      limits: { maxPerDevice: 2, maxBytes: 100, ttlMs: HOUR },
    });
    queue.admit('a', push('1'));
    queue.admit('a', push('2'));
    const refused = queue.admit('a', push('3'));
    expect(refused).toMatchObject({ held: false });
    expect(refused.held ? '' : refused.reason).toMatch(/already holds 2 pushes/);
    expect(queue.pending('a').map((p) => p.pushId)).toEqual(['1', '2']);
    expect(queue.admit('b', push('4', 'x'.repeat(90)))).toMatchObject({ held: false });
    expect(queue.admit('b', push('5', 'x'.repeat(10)))).toMatchObject({ held: true });
    queue.remove('1');
    expect(queue.admit('a', push('6'))).toMatchObject({ held: true });
  });

  it('expires pushes after the ttl, oldest first, and says when the next one is due', () => {
    const clock = new ManualClock();
    const store = memoryStore();
    const queue = new HoldQueue({ clock, store, limits: { maxPerDevice: 10, maxBytes: 1e6, ttlMs: HOUR } });
    queue.admit('a', push('1'));
    clock.advance(10 * 60_000);
    queue.admit('a', push('2'));
    expect(queue.nextExpiry()).toBe(clock.now() - 10 * 60_000 + HOUR);
    clock.advance(HOUR - 10 * 60_000 - 1);
    expect(queue.expire()).toEqual([]);
    clock.advance(1);
    expect(queue.pending('a').map((p) => p.pushId)).toEqual(['2']);
    expect(queue.expire().map((p) => p.pushId)).toEqual(['1']);
    expect([...store.rows.keys()]).toEqual(['2']);
    clock.advance(HOUR);
    expect(queue.expire().map((p) => p.pushId)).toEqual(['2']);
    expect(queue.nextExpiry()).toBeUndefined();
    expect(queue.totals()).toEqual({ pushes: 0, bytes: 0 });
  });

  describe('in SQLite', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('survives a restart with order, expiry and arrival numbers intact', () => {
      dir = mkdtempSync(join(tmpdir(), 'mfpgw-hold-'));
      const file = join(dir, 'push-proxy.db');
      const clock = new ManualClock();
      const limits = { maxPerDevice: 10, maxBytes: 1e6, ttlMs: HOUR };
      const first = new SqliteHoldStore(file);
      const before = new HoldQueue({ clock, store: first, limits });
      before.admit('a', push('1', { deep: [1, 2, 3] }));
      before.admit('a', push('2'));
      before.remove('1');
      before.admit('a', push('3'));
      first.close();

      clock.advance(60_000);
      const second = new SqliteHoldStore(file);
      const after = new HoldQueue({ clock, store: second, limits });
      expect(after.pending('a').map((p) => [p.pushId, p.payload])).toEqual([
        ['2', { n: '2' }],
        ['3', { n: '3' }],
      ]);
      after.admit('a', push('4'));
      expect(after.pending('a').map((p) => p.pushId)).toEqual(['2', '3', '4']);
      expect(after.nextExpiry()).toBe(clock.now() - 60_000 + HOUR);
      second.close();
    });
  });
});

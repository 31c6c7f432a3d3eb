import { describe, expect, it, vi } from 'vitest';
import { bufferReclaimer } from '../../src/runtime/buffer-reclaimer.ts';

const MIB = 1024 * 1024;

/** Allocates and drops Buffers the way socket reads do: 64 KiB each, dead once handled. */
function churn(bytes: number): void {
  for (let made = 0; made < bytes; made += 64 * 1024) Buffer.allocUnsafe(64 * 1024).fill(1);
}

describe('bufferReclaimer', () => {
  it('collects once per everyBytes relayed, however the bytes are split', () => {
    let collections = 0;
    const reclaimer = bufferReclaimer({ everyBytes: 100, collect: () => collections++ });
    reclaimer.relayed(60);
    expect(collections).toBe(0);
    reclaimer.relayed(40);
    expect(collections).toBe(1);
    for (let i = 0; i < 10; i++) reclaimer.relayed(30);
    expect(collections).toBe(3);
    reclaimer.relayed(1000);
    expect(collections).toBe(4);
  });

  it('makes one collection a full one when none ran for majorEveryMs, counted from the first', () => {
    let t = 0;
    const done: string[] = [];
    const reclaimer = bufferReclaimer({
      everyBytes: 100,
      majorEveryMs: 60_000,
      now: () => t,
      collect: () => done.push('minor'),
      collectMajor: () => done.push('major'),
    });
    reclaimer.relayed(100);
    t = 59_999;
    reclaimer.relayed(100);
    t = 60_000;
    reclaimer.relayed(100);
    reclaimer.relayed(100);
    // Idle for an hour: nothing runs; the next bytes bring one full collection.
    t += 3_600_000;
    reclaimer.relayed(100);
    reclaimer.relayed(100);
    expect(done).toEqual(['minor', 'minor', 'major', 'minor', 'major', 'minor']);
  });

  it('frees dead Buffers with V8’s own minor GC, without exposing gc() globally', async () => {
    const before = process.memoryUsage().arrayBuffers;
    churn(8 * MIB);
    // Nothing else collects them: they wait outside the heap for a GC.
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(8 * MIB);
    bufferReclaimer({ everyBytes: 1 }).relayed(1);
    // V8 releases their memory on a background thread right after the scavenge; a busy
    // machine may take a moment (V8's own memory reducer would wait 8 s before a GC).
    await vi.waitFor(() => expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MIB), {
      timeout: 3000,
      interval: 10,
    });
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

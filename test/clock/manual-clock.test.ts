import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/manual-clock.ts';

describe('the manual clock', () => {
  it('moves both clocks together when advanced, firing timers in due order', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5));
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now() - Date.UTC(2026, 0, 5)}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now() - Date.UTC(2026, 0, 5)}`), 100);
    const mono = clock.monotonic();
    clock.advance(250);
    expect(fired).toEqual(['a@100', 'b@200']);
    expect(clock.monotonic() - mono).toBe(250);
    expect(clock.now()).toBe(Date.UTC(2026, 0, 5) + 250);
  });

  it('keeps its monotonic time apart from any date, so mixing the two shows in tests', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5));
    expect(Math.abs(clock.now() - clock.monotonic())).toBeGreaterThan(365 * 24 * 3600_000);
  });

  it('steps the wall clock either way without moving monotonic time or firing timers', () => {
    const clock = new ManualClock();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 1000);
    const [wall, mono] = [clock.now(), clock.monotonic()];
    clock.stepWall(3600_000);
    clock.stepWall(-7200_000);
    expect(clock.now()).toBe(wall - 3600_000);
    expect(clock.monotonic()).toBe(mono);
    expect(fired).toBe(false);
    clock.advance(1000);
    expect(fired).toBe(true);
  });

  it('suspends like Linux: the wall clock moves on, monotonic time and timers stand still', () => {
    const clock = new ManualClock();
    let firedAt: number | null = null;
    clock.setTimeout(() => {
      firedAt = clock.monotonic();
    }, 1000);
    const [mono, boot] = [clock.monotonic(), clock.sinceBoot()];
    clock.suspend(2 * 3600_000);
    expect(clock.monotonic()).toBe(mono);
    expect(clock.sinceBoot() - boot).toBe(2 * 3600_000);
    clock.advance(999);
    expect(firedAt).toBeNull();
    clock.advance(1);
    expect(firedAt).toBe(mono + 1000);
  });

  it('stalls like a frozen process: both clocks move on and due timers fire late at the next advance', () => {
    const clock = new ManualClock();
    let firedAt: number | null = null;
    clock.setTimeout(() => {
      firedAt = clock.monotonic();
    }, 1000);
    const [wall, mono] = [clock.now(), clock.monotonic()];
    clock.stall(5000);
    expect(firedAt).toBeNull();
    expect(clock.now() - wall).toBe(5000);
    clock.advance(0);
    expect(firedAt).toBe(mono + 5000);
  });

  it('keeps waits longer than a Node timer holds (24.8 days): they fire once, when due, as the system clock’s', () => {
    const clock = new ManualClock();
    const day = 24 * 3600_000;
    const fired: number[] = [];
    const start = clock.monotonic();
    clock.setTimeout(() => fired.push(clock.monotonic() - start), 30 * day);
    clock.advance(1);
    expect(fired).toEqual([]);
    clock.advance(30 * day);
    expect(fired).toEqual([30 * day]);
    expect(clock.pendingCount()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { INITIAL_WINDOW } from '../../src/protocol/tunnel/frame-types.ts';
import { nextStreamWindow, ReceiveWindow, SendCredit } from '../../src/tunnel/credit-window.ts';
import { MemoryBudget } from '../../src/tunnel/memory-budget.ts';

describe('SendCredit', () => {
  it('starts with the initial window and spends it', () => {
    const credit = new SendCredit();
    expect(credit.available).toBe(INITIAL_WINDOW);
    credit.spend(INITIAL_WINDOW - 10);
    expect(credit.available).toBe(10);
    credit.spend(10);
    expect(credit.available).toBe(0);
  });

  it('moves the limit to consumed + window and never back', () => {
    const credit = new SendCredit(100);
    credit.spend(100);
    expect(credit.update(60, 100)).toBeUndefined();
    expect(credit.limit).toBe(160);
    expect(credit.acknowledged).toBe(60);
    expect(credit.update(60, 10)).toBeUndefined();
    expect(credit.limit).toBe(160);
    expect(credit.available).toBe(60);
  });

  it('rejects acknowledging unsent bytes or going backwards', () => {
    const credit = new SendCredit(100);
    credit.spend(50);
    expect(credit.update(51, 100)).toContain('only 50 were sent');
    expect(credit.update(40, 100)).toBeUndefined();
    expect(credit.update(30, 100)).toContain('after 40');
  });
});

describe('ReceiveWindow', () => {
  it('accepts DATA up to the advertised limit and not a byte more', () => {
    const window = new ReceiveWindow(100);
    expect(window.receive(100)).toBe(true);
    expect(window.receive(1)).toBe(false);
    expect(window.received).toBe(100);
  });

  it('asks for an update once half the window is consumed', () => {
    const window = new ReceiveWindow(100);
    window.receive(100);
    window.consume(49);
    expect(window.updateDue()).toBe(false);
    window.consume(50);
    expect(window.updateDue()).toBe(true);
    expect(window.takeUpdate()).toEqual({ consumed: 50, window: 100 });
    expect(window.limit).toBe(150);
    expect(window.updateDue()).toBe(false);
    expect(window.buffered).toBe(50);
  });

  it('asks for an update at once when the window grew', () => {
    const window = new ReceiveWindow(100);
    window.grow(100);
    expect(window.updateDue()).toBe(true);
    expect(window.takeUpdate()).toEqual({ consumed: 0, window: 200 });
  });

  it('never counts more consumed than received, nor less than before', () => {
    const window = new ReceiveWindow(100);
    window.receive(30);
    window.consume(80);
    expect(window.consumed).toBe(30);
    window.consume(10);
    expect(window.consumed).toBe(30);
  });

  it('knows when everything received has been consumed and advertised', () => {
    const window = new ReceiveWindow(100);
    window.receive(10);
    window.consume(10);
    expect(window.fullyAdvertised()).toBe(false);
    window.takeUpdate();
    expect(window.fullyAdvertised()).toBe(true);
  });

  it('samples bytes consumed between two points', () => {
    const window = new ReceiveWindow(100);
    window.receive(40);
    window.consume(10);
    window.startSample();
    window.consume(35);
    expect(window.takeSample()).toBe(25);
    expect(window.takeSample()).toBe(0);
  });
});

describe('nextStreamWindow', () => {
  it('doubles when the readers took two thirds of their windows in one round trip', () => {
    expect(nextStreamWindow(100, { bytes: 67, activeWindows: 100 }, 1000)).toBe(200);
    expect(nextStreamWindow(100, { bytes: 66, activeWindows: 100 }, 1000)).toBe(100);
  });

  it('judges many streams together: a busy line with many windows does not grow', () => {
    expect(nextStreamWindow(100, { bytes: 500, activeWindows: 100 * 100 }, 1000)).toBe(100);
  });

  it('stops at the maximum and does nothing without active streams', () => {
    expect(nextStreamWindow(800, { bytes: 800, activeWindows: 800 }, 1000)).toBe(1000);
    expect(nextStreamWindow(100, { bytes: 0, activeWindows: 0 }, 1000)).toBe(100);
  });
});

describe('MemoryBudget', () => {
  it('reserves only what fits and gives it back', () => {
    const budget = new MemoryBudget(100);
    expect(budget.tryReserve(60)).toBe(true);
    expect(budget.tryReserve(41)).toBe(false);
    expect(budget.available).toBe(40);
    budget.release(60);
    expect(budget.reserved).toBe(0);
    expect(() => new MemoryBudget(0)).toThrow(RangeError);
  });
});

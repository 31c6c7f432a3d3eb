import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { TelemetryPacer } from '../../../src/gateway/mqtt/telemetry-pacer.ts';

function pacer() {
  const clock = new ManualClock(0);
  const at: number[] = [];
  const p = new TelemetryPacer({
    clock,
    everyMs: 60_000,
    minGapMs: 10_000,
    publish: () => {
      at.push(clock.now());
      return true;
    },
  });
  return { clock, at, p };
}

describe('TelemetryPacer', () => {
  it('publishes at start and then on its schedule', () => {
    const { clock, at, p } = pacer();
    p.start();
    clock.advanceTo(130_000);
    expect(at).toEqual([0, 60_000, 120_000]);
  });

  it('publishes on a change, but never twice within the minimum gap, coalescing changes', () => {
    const { clock, at, p } = pacer();
    p.start();
    clock.advanceTo(3000);
    p.noteState('a');
    p.noteState('b');
    clock.advanceTo(5000);
    p.noteState('c');
    clock.advanceTo(20_000);
    expect(at).toEqual([0, 10_000]);
    p.noteState('c');
    clock.advanceTo(69_999);
    expect(at).toEqual([0, 10_000]);
    clock.advanceTo(70_000);
    expect(at).toEqual([0, 10_000, 70_000]);
  });

  it('does not count a publication the broker could not take, so the reconnect one goes at once', () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    let connected = false;
    const p = new TelemetryPacer({
      clock,
      everyMs: 60_000,
      minGapMs: 10_000,
      publish: () => {
        if (connected) at.push(clock.now());
        return connected;
      },
    });
    p.start();
    clock.advanceTo(2000);
    connected = true;
    p.requestNow();
    clock.advance(0);
    expect(at).toEqual([2000]);
  });

  it('follows a new pace from the last publication (config reload)', () => {
    const { clock, at, p } = pacer();
    p.start();
    clock.advanceTo(20_000);
    p.setPace(30_000, 5000);
    clock.advanceTo(61_000);
    expect(at).toEqual([0, 30_000, 60_000]);
    p.noteState('x');
    clock.advanceTo(64_999);
    p.setPace(30_000, 2000);
    clock.advanceTo(70_000);
    // The pending change goes out at the new, shorter gap after the last publication.
    expect(at).toEqual([0, 30_000, 60_000, 64_999]);
  });

  it('does nothing after stop', () => {
    const { clock, at, p } = pacer();
    p.start();
    p.stop();
    p.noteState('x');
    clock.advanceTo(1_000_000);
    expect(at).toEqual([0]);
    expect(clock.pendingCount()).toBe(0);
  });
});

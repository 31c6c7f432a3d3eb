import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { type ClockJump, ClockWatch } from '../../../src/gateway/clock-watch/clock-watch.ts';

const SECOND = 1000;
const HOUR = 3600 * SECOND;

function setup(options: { boot?: boolean } = {}) {
  const clock = new ManualClock();
  const jumps: ClockJump[] = [];
  const watch = new ClockWatch({
    clock,
    ...(options.boot === false ? {} : { sinceBoot: () => clock.sinceBoot() }),
    onJump: (jump) => jumps.push(jump),
  });
  watch.start();
  return { clock, jumps, watch };
}

describe('ClockWatch', () => {
  it('says nothing while the clocks run together, whatever the time', () => {
    const { clock, jumps, watch } = setup();
    clock.advance(24 * HOUR);
    expect(jumps).toEqual([]);
    expect(watch.awaySince(0)).toBe(false);
  });

  it('notices a suspend within a check, as away for the time slept', () => {
    const { clock, jumps, watch } = setup();
    clock.advance(10 * SECOND);
    const before = clock.monotonic();
    clock.suspend(2 * HOUR);
    clock.advance(SECOND);
    expect(jumps).toEqual([{ kind: 'suspend', ms: 2 * HOUR, noticedAt: before + SECOND }]);
    expect(watch.awaySince(before - SECOND)).toBe(true);
    // A line idle only since the gateway came back was not affected.
    clock.advance(10 * SECOND);
    expect(watch.awaySince(clock.monotonic() - SECOND)).toBe(false);
  });

  it('notices a frozen process (SIGSTOP) when its late check runs', () => {
    const { clock, jumps, watch } = setup();
    clock.advance(5 * SECOND);
    clock.stall(30 * SECOND);
    clock.advance(0);
    // Late by the freeze, less the second the check still had to wait anyway.
    expect(jumps).toMatchObject([{ kind: 'stall', ms: 29 * SECOND }]);
    expect(watch.awaySince(clock.monotonic() - 31 * SECOND)).toBe(true);
  });

  it('asked about a loss before its periodic check ran, looks at the clocks first', () => {
    const { clock, jumps, watch } = setup();
    clock.advance(5 * SECOND);
    const idleSince = clock.monotonic();
    // Frozen, and nothing has run since: a socket's close is the first thing handled.
    clock.stall(20 * SECOND);
    expect(watch.awaySince(idleSince)).toBe(true);
    expect(jumps).toMatchObject([{ kind: 'stall' }]);
    // The late periodic check finds nothing more to say.
    clock.advance(0);
    expect(jumps).toHaveLength(1);
  });

  it('takes a set wall clock, either way, for a clock step and not for time away', () => {
    const { clock, jumps, watch } = setup();
    clock.advance(5 * SECOND);
    clock.stepWall(12 * HOUR);
    clock.advance(SECOND);
    clock.stepWall(-HOUR);
    clock.advance(SECOND);
    expect(jumps.map((j) => [j.kind, j.ms])).toEqual([
      ['clock-step', 12 * HOUR],
      ['clock-step', -HOUR],
    ]);
    expect(watch.awaySince(0)).toBe(false);
  });

  it('without a since-boot clock, takes the wall clock running ahead for a suspend', () => {
    const { clock, jumps } = setup({ boot: false });
    clock.advance(5 * SECOND);
    clock.stepWall(HOUR);
    clock.advance(SECOND);
    expect(jumps).toMatchObject([{ kind: 'suspend', ms: HOUR }]);
  });

  it('lets ordinary delays pass', () => {
    const { clock, jumps } = setup();
    for (let i = 0; i < 100; i++) {
      clock.stall(3 * SECOND);
      clock.advance(SECOND);
    }
    expect(jumps).toEqual([]);
  });

  it('stops its timer when stopped', () => {
    const { clock, watch } = setup();
    expect(clock.pendingCount()).toBe(1);
    watch.stop();
    expect(clock.pendingCount()).toBe(0);
    expect(watch.check()).toBeUndefined();
  });
});

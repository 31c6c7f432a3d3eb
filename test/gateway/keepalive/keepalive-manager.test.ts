import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { NORMAL_MODE, POWER_SAVING_MODE } from '../../../src/config/keepalive-defaults.ts';
import {
  type DeadLineInfo,
  isSettledAdvice,
  KeepaliveManager,
  type SlowStart,
} from '../../../src/gateway/keepalive/keepalive-manager.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** A manual clock that counts the timers set on it. */
class CountingClock extends ManualClock {
  timersSet = 0;

  override setTimeout(fn: () => void, delayMs: number) {
    this.timersSet++;
    return super.setTimeout(fn, delayMs);
  }
}

/** A manager on a manual clock that records what it asked for; answers when `answering`. */
function setup(initialIntervalMs = MINUTE, mode = NORMAL_MODE, slowStart?: SlowStart) {
  const clock = new CountingClock();
  const start = clock.now();
  const monoStart = clock.monotonic();
  const sent: number[] = [];
  const dead: Array<DeadLineInfo & { at: number }> = [];
  const replaced: number[] = [];
  const state = { answering: true };
  const manager: KeepaliveManager = new KeepaliveManager({
    clock,
    initialIntervalMs,
    answerTimeoutMs: 10 * SECOND,
    mode,
    sendKeepalive: () => {
      sent.push(clock.now() - start);
      if (state.answering) manager.noteAnswer();
    },
    onDead: (info) => dead.push({ ...info, at: clock.now() - start }),
    onReplaceDue: () => replaced.push(clock.now() - start),
    ...(slowStart ? { slowStart } : {}),
  });
  return { clock, start, monoStart, sent, dead, replaced, state, manager };
}

describe('KeepaliveManager', () => {
  it('sends a keep-alive after each interval of idle', () => {
    const { clock, sent, manager } = setup();
    manager.start();
    clock.advance(3 * MINUTE + SECOND);
    expect(sent).toEqual([MINUTE, 2 * MINUTE, 3 * MINUTE]);
  });

  it('counts real traffic as keep-alive, without churning timers', () => {
    const { clock, sent, manager } = setup();
    manager.start();
    for (let i = 0; i < 100; i++) {
      clock.advance(500);
      manager.noteTraffic();
    }
    // 50 s of traffic, then idle: the next keep-alive is one interval after the last byte.
    expect(clock.pendingCount()).toBe(1);
    expect(clock.timersSet).toBe(1);
    clock.advance(MINUTE);
    expect(sent).toEqual([50 * SECOND + MINUTE]);
    // One timer per wake-up: the first woke at 60 s and slept until 110 s.
    expect(clock.timersSet).toBe(3);
  });

  it('declares the line dead once, when a keep-alive is not answered in time, and stops', () => {
    const { clock, monoStart, sent, dead, state, manager } = setup();
    manager.start();
    clock.advance(30 * SECOND);
    manager.noteTraffic();
    state.answering = false;
    clock.advance(HOUR);
    expect(sent).toEqual([90 * SECOND]);
    expect(dead).toEqual([
      {
        at: 100 * SECOND,
        idleBeforeMs: MINUTE,
        connectionAgeMs: 90 * SECOND,
        // Monotonic: a date would move with every setting of the wall clock.
        sentAt: monoStart + 90 * SECOND,
        reason: 'keepalive-timeout',
        limitedByPolicy: false,
      },
    ]);
    expect(clock.pendingCount()).toBe(0);
  });

  it('takes any incoming traffic as the answer, but not outgoing traffic', () => {
    const { clock, dead, state, manager } = setup();
    state.answering = false;
    manager.start();
    clock.advance(MINUTE + 5 * SECOND);
    manager.noteTraffic('out');
    clock.advance(6 * SECOND);
    expect(dead).toHaveLength(1);

    const other = setup();
    other.state.answering = false;
    other.manager.start();
    other.clock.advance(MINUTE + 5 * SECOND);
    other.manager.noteTraffic('in');
    other.clock.advance(6 * SECOND);
    expect(other.dead).toHaveLength(0);
    expect(other.manager.unanswered).toBeNull();
  });

  it('applies a shorter interval at once, even mid-wait', () => {
    const { clock, sent, manager } = setup(HOUR);
    manager.start();
    clock.advance(10 * MINUTE);
    expect(manager.applyAdvice(5 * MINUTE)).toEqual({
      intervalMs: 5 * MINUTE,
      limitedByPolicy: false,
      ignored: false,
    });
    clock.advance(SECOND);
    expect(sent).toEqual([10 * MINUTE]);
  });

  it('applies the power policy: never below the mode minimum, small lengthenings ignored', () => {
    const { clock, sent, manager } = setup(50 * SECOND, POWER_SAVING_MODE);
    expect(manager.intervalMs).toBe(HOUR);
    expect(manager.limitedByPolicy).toBe(true);
    manager.start();
    expect(manager.applyAdvice(15 * MINUTE)).toMatchObject({ intervalMs: HOUR, limitedByPolicy: true });
    expect(manager.applyAdvice(HOUR + 10 * MINUTE)).toMatchObject({ intervalMs: HOUR, ignored: true });
    expect(manager.limitedByPolicy).toBe(false);
    clock.advance(2 * HOUR);
    expect(sent).toEqual([HOUR, 2 * HOUR]);
  });

  it('re-reads the last advice when the mode changes', () => {
    const { manager } = setup(50 * SECOND);
    manager.applyAdvice(10 * MINUTE);
    manager.setMode(POWER_SAVING_MODE);
    expect(manager.intervalMs).toBe(HOUR);
    expect(manager.limitedByPolicy).toBe(true);
    manager.setMode(NORMAL_MODE);
    expect(manager.intervalMs).toBe(10 * MINUTE);
    expect(manager.limitedByPolicy).toBe(false);
  });

  it('asks once for a replacement when the line reaches the replace-before age', () => {
    const { clock, replaced, sent, manager } = setup(MINUTE);
    manager.start();
    manager.setReplaceBeforeAge(150 * SECOND);
    clock.advance(10 * MINUTE);
    expect(replaced).toEqual([150 * SECOND]);
    expect(sent).toHaveLength(10);
  });

  it('does nothing once stopped', () => {
    const { clock, sent, manager } = setup();
    manager.start();
    manager.stop();
    clock.advance(HOUR);
    expect(sent).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });

  it('reports the last traffic time, on the monotonic clock', () => {
    const { clock, monoStart, manager } = setup();
    manager.start();
    clock.advance(42 * SECOND);
    manager.noteTraffic();
    expect(manager.lastTrafficAt).toBe(monoStart + 42 * SECOND);
  });

  describe('slow start, while the advice is not settled', () => {
    const RAMP: SlowStart = { firstGapMs: 3 * SECOND, factor: 2 };

    it('keeps alive at gaps growing from the first gap to the interval, never beyond it', () => {
      const { clock, sent, manager } = setup(25 * SECOND, NORMAL_MODE, RAMP);
      manager.start();
      manager.applyAdvice(25 * SECOND, false);
      clock.advance(120 * SECOND);
      // Gaps 3, 6, 12, 24 s, then the interval.
      expect(sent).toEqual([3, 9, 21, 45, 70, 95, 120].map((s) => s * SECOND));
    });

    it('ends for good when settled advice arrives, and does not start again', () => {
      const { clock, sent, manager } = setup(25 * SECOND, NORMAL_MODE, RAMP);
      manager.start();
      clock.advance(4 * SECOND);
      manager.applyAdvice(20 * SECOND, true);
      manager.applyAdvice(25 * SECOND, false);
      clock.advance(60 * SECOND);
      expect(sent).toEqual([3 * SECOND, 28 * SECOND, 53 * SECOND]);
    });

    it('reports a ramp keep-alive that goes unanswered at the gap it tested', () => {
      const { clock, sent, dead, state, manager } = setup(25 * SECOND, NORMAL_MODE, RAMP);
      manager.start();
      clock.advance(3 * SECOND);
      state.answering = false;
      clock.advance(MINUTE);
      expect(sent).toEqual([3 * SECOND, 9 * SECOND]);
      expect(dead).toMatchObject([{ at: 19 * SECOND, idleBeforeMs: 6 * SECOND }]);
    });

    it('never keeps alive more often than the power mode allows', () => {
      const { clock, sent, manager } = setup(25 * SECOND, POWER_SAVING_MODE, RAMP);
      manager.start();
      manager.applyAdvice(25 * SECOND, false);
      clock.advance(2 * HOUR);
      expect(sent).toEqual([HOUR, 2 * HOUR]);
    });

    it('is settled by learned advice or by a default the cloud calls final', () => {
      expect(isSettledAdvice({ source: 'default', converged: false })).toBe(false);
      expect(isSettledAdvice({ source: 'default', converged: true })).toBe(true);
      for (const source of ['history', 'domain', 'probe'])
        expect(isSettledAdvice({ source, converged: false })).toBe(true);
    });
  });

  describe('on the monotonic clock', () => {
    it('takes no wall-clock step for idle time, forward or back', () => {
      const { clock, sent, dead, manager } = setup();
      manager.start();
      clock.advance(30 * SECOND);
      // NTP sets the clock of a board without RTC a day ahead, then an hour back.
      clock.stepWall(24 * HOUR);
      clock.advance(10 * SECOND);
      clock.stepWall(-HOUR);
      expect(sent).toEqual([]);
      clock.advance(20 * SECOND);
      expect(sent).toEqual([MINUTE + 23 * HOUR]);
      expect(dead).toEqual([]);
      expect(manager.unanswered).toBeNull();
    });

    it('keeps its interval across a suspend: the sleep is no idle time of its own', () => {
      const { clock, dead, manager, state } = setup();
      manager.start();
      clock.advance(30 * SECOND);
      state.answering = false;
      clock.suspend(8 * HOUR);
      // Monotonic time stood still: half an interval of idle, nothing due yet.
      expect(manager.unanswered).toBeNull();
      clock.advance(30 * SECOND);
      expect(manager.unanswered).toMatchObject({ idleBeforeMs: MINUTE });
      clock.advance(10 * SECOND);
      expect(dead).toMatchObject([{ idleBeforeMs: MINUTE }]);
    });

    it('after a frozen process, asks for a keep-alive at once and dates the idle gap it saw', () => {
      const { clock, monoStart, sent, manager, state } = setup();
      state.answering = false;
      manager.start();
      clock.stall(10 * MINUTE);
      clock.advance(0);
      expect(sent).toHaveLength(1);
      expect(manager.unanswered).toEqual({ sentAt: monoStart + 10 * MINUTE, idleBeforeMs: 10 * MINUTE });
    });
  });
});

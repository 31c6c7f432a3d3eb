import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCron } from '../../../src/calendar/cron-fires.ts';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { PowerMode } from '../../../src/gateway/keepalive/power-policy.ts';
import { PowerScheduler, type PowerState } from '../../../src/gateway/power/power-scheduler.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir } from '../../support/chain.ts';

const MODES: Record<string, PowerMode> = {
  normal: { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 },
  night: { name: 'night', minIntervalMs: 3_600_000, changeThresholdMs: 1_800_000 },
};
const utc = (iso: string): number => Date.parse(iso);

function scheduler(clock: ManualClock, overrideFile?: string) {
  const changes: PowerState[] = [];
  const s = new PowerScheduler({
    clock,
    logger: silentLogger(),
    policy: {
      baseMode: 'normal',
      timeZone: 'Europe/Berlin',
      schedules: [
        { cron: parseCron('0 22 * * *'), mode: 'night' },
        { cron: parseCron('0 6 * * *'), mode: 'normal' },
      ],
    },
    modes: MODES,
    overrideFile,
    onChange: (state) => changes.push(state),
  });
  return { s, changes };
}

describe('PowerScheduler on the injected clock', () => {
  it('switches modes as the schedules fire, across midnight', () => {
    const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
    const { s, changes } = scheduler(clock);
    s.start();
    expect(s.mode().name).toBe('normal');
    expect(s.state().next).toEqual({ at: utc('2026-01-05T21:00:00Z'), mode: 'night' });
    clock.advanceTo(utc('2026-01-05T21:00:00Z'));
    expect(s.mode()).toEqual(MODES.night);
    expect(changes.map((c) => c.mode.name)).toEqual(['night']);
    clock.advanceTo(utc('2026-01-06T05:00:00Z'));
    expect(changes.map((c) => c.mode.name)).toEqual(['night', 'normal']);
    s.stop();
    expect(clock.pendingCount()).toBe(0);
  });

  it('applies an override at once and returns to the schedule when it expires', () => {
    const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
    const { s, changes } = scheduler(clock);
    s.start();
    const result = s.setOverride('night', utc('2026-01-05T14:00:00Z'));
    expect(result).toMatchObject({ ok: true });
    expect(s.state().decision).toMatchObject({ source: 'override', mode: 'night' });
    clock.advanceTo(utc('2026-01-05T14:00:00Z'));
    expect(s.state().decision).toMatchObject({ source: 'schedule', mode: 'normal' });
    expect(changes.map((c) => c.decision.source)).toEqual(['override', 'schedule']);
  });

  it('refuses an unknown mode or an override already over', () => {
    const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
    const { s } = scheduler(clock);
    expect(s.setOverride('turbo', clock.now() + 1000)).toMatchObject({
      ok: false,
      code: 'MFP_ERR_UNKNOWN_MODE',
    });
    expect(s.setOverride('night', clock.now())).toMatchObject({
      ok: false,
      code: 'MFP_ERR_OVERRIDE_EXPIRED',
    });
  });

  it('takes new schedules, modes and zone at once (config reload)', () => {
    const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
    const { s, changes } = scheduler(clock);
    s.start();
    const eco: PowerMode = { name: 'eco', minIntervalMs: 1_800_000, changeThresholdMs: 0 };
    const state = s.reconfigure(
      {
        baseMode: 'normal',
        timeZone: 'Asia/Tokyo',
        schedules: [
          { cron: parseCron('0 20 * * *'), mode: 'eco' },
          { cron: parseCron('0 7 * * *'), mode: 'normal' },
        ],
      },
      { normal: MODES.normal as PowerMode, eco },
    );
    // 12:00 UTC is 21:00 in Tokyo: the 20:00 (Tokyo) schedule has fired, so eco holds at once.
    expect(state).toMatchObject({ mode: eco, timeZone: 'Asia/Tokyo' });
    expect(state.next).toEqual({ at: utc('2026-01-05T22:00:00Z'), mode: 'normal' });
    expect(changes.map((c) => c.mode.name)).toEqual(['eco']);
    clock.advanceTo(utc('2026-01-05T22:00:00Z'));
    expect(s.mode().name).toBe('normal');
    s.stop();
  });

  it('reports a changed definition of the mode in force, and ends an override of a mode that is gone', () => {
    const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
    const { s, changes } = scheduler(clock);
    s.start();
    s.setOverride('night', utc('2026-01-05T18:00:00Z'));
    const policy = { baseMode: 'normal', timeZone: 'Europe/Berlin', schedules: [] };
    const stricterNight = { ...MODES.night, minIntervalMs: 7_200_000 } as PowerMode;
    s.reconfigure(policy, { ...MODES, night: stricterNight });
    expect(changes.map((c) => [c.mode.name, c.mode.minIntervalMs])).toEqual([
      ['night', 3_600_000],
      ['night', 7_200_000],
    ]);
    s.reconfigure(policy, { normal: MODES.normal as PowerMode });
    expect(s.state().decision).toMatchObject({ mode: 'normal', source: 'base', overrideUntilMs: null });
    expect(changes.map((c) => c.mode.name)).toEqual(['night', 'night', 'normal']);
    s.stop();
  });

  it('keeps an override across a restart, until its expiry', () => {
    const { dir, cleanup } = scratchDir('power');
    try {
      const file = join(dir, 'power-override.json');
      const clock = new ManualClock(utc('2026-01-05T12:00:00Z'));
      const first = scheduler(clock, file).s;
      first.start();
      first.setOverride('night', utc('2026-01-05T15:00:00Z'));
      first.stop();
      const second = scheduler(clock, file).s;
      second.start();
      expect(second.mode().name).toBe('night');
      clock.advanceTo(utc('2026-01-05T15:00:00Z'));
      expect(second.mode().name).toBe('normal');
      second.stop();
      expect(scheduler(clock, file).s.mode().name).toBe('normal');
    } finally {
      cleanup();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { CommandHandler, DUPLICATE_WINDOW_MS } from '../../../src/gateway/mqtt/command-handler.ts';
import type { PowerState } from '../../../src/gateway/power/power-scheduler.ts';
import type { ReloadOutcome } from '../../../src/gateway/reload/config-reload.ts';
import { commandReplySchema } from '../../../src/protocol/mqtt/commands.ts';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const state = (mode: string): PowerState => ({
  mode: { name: mode, minIntervalMs: 0, changeThresholdMs: 0 },
  decision: { mode, source: 'override', firedAt: null, schedule: null, overrideUntilMs: 7_200_000 },
  next: null,
  timeZone: 'UTC',
});

function handler() {
  const clock = new ManualClock(0);
  const overrides: [string, number][] = [];
  const h = new CommandHandler(clock, {
    statusSnapshot: () => ({ up: true }),
    setPowerOverride: (mode, untilMs) => {
      overrides.push([mode, untilMs]);
      return { ok: true, state: state(mode) };
    },
    clearPowerOverride: () => state('normal'),
  });
  return { clock, h, overrides };
}

describe('CommandHandler', () => {
  it('runs a command once per id within the window, and again after it', async () => {
    const { clock, h, overrides } = handler();
    const cmd = body({ id: 'c1', mode: 'night', forMs: 3_600_000 });
    expect(await h.handle('set-power-override', cmd)).toMatchObject({
      id: 'c1',
      ok: true,
      result: { mode: 'night' },
    });
    expect(await h.handle('set-power-override', cmd)).toBeNull();
    expect(overrides).toEqual([['night', 3_600_000]]);
    clock.advance(DUPLICATE_WINDOW_MS);
    expect(await h.handle('set-power-override', cmd)).toMatchObject({ ok: true });
    expect(overrides).toHaveLength(2);
  });

  it('answers unknown, malformed and unsupported commands with coded errors', async () => {
    const { h } = handler();
    expect(await h.handle('reboot', body({ id: 'x1' }))).toMatchObject({
      id: 'x1',
      ok: false,
      code: 'MFP_ERR_UNKNOWN_COMMAND',
    });
    expect(await h.handle('set-power-override', body({ id: 'x2', mode: 'night' }))).toMatchObject({
      id: 'x2',
      code: 'MFP_ERR_INVALID_COMMAND',
    });
    expect(await h.handle('status-snapshot', Buffer.from('{'))).toMatchObject({
      id: null,
      code: 'MFP_ERR_INVALID_JSON',
    });
    expect(await h.handle('restore-line', body({ id: 'x3' }))).toMatchObject({
      code: 'MFP_ERR_NOT_SUPPORTED',
    });
    expect(await h.handle('open-tunnel', body({ id: 'x4', tunnelId: 't', deviceId: 'd' }))).toMatchObject({
      code: 'MFP_ERR_NOT_SUPPORTED',
    });
    expect(await h.handle('status-snapshot', body({ id: 'x5' }))).toEqual({
      id: 'x5',
      ok: true,
      result: { up: true },
    });
    expect(await h.handle('reload-config', body({ id: 'x6' }))).toMatchObject({
      code: 'MFP_ERR_NOT_SUPPORTED',
    });
  });

  it('replies to reload-config with what was applied, or with every problem of the file', async () => {
    const outcomes: ReloadOutcome[] = [
      { ok: true, file: '/etc/gw.yaml', applied: ['power.mode'], needsRestart: ['cloud.connections'] },
      {
        ok: false,
        code: 'MFP_ERR_CONFIG',
        message: 'invalid config /etc/gw.yaml:\n  - power.mode: got "siesta"; expected one of power.modes',
        issues: [{ key: 'power.mode', value: '"siesta"', expected: 'one of power.modes' }],
      },
    ];
    const h = new CommandHandler(new ManualClock(0), {
      statusSnapshot: () => ({}),
      setPowerOverride: () => ({ ok: true, state: state('normal') }),
      clearPowerOverride: () => state('normal'),
      reloadConfig: () => outcomes.shift() as ReloadOutcome,
    });
    expect(await h.handle('reload-config', body({ id: 'r1' }))).toEqual({
      id: 'r1',
      ok: true,
      result: { file: '/etc/gw.yaml', applied: ['power.mode'], needsRestart: ['cloud.connections'] },
    });
    const refused = await h.handle('reload-config', body({ id: 'r2' }));
    expect(commandReplySchema.parse(refused)).toEqual({
      id: 'r2',
      ok: false,
      code: 'MFP_ERR_CONFIG',
      message: expect.stringContaining('power.mode: got "siesta"'),
      issues: [{ key: 'power.mode', value: '"siesta"', expected: 'one of power.modes' }],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import { type DeviceStateMessage, DeviceStatePacer } from '../../../src/gateway/mqtt/device-states.ts';

const snapshot = (
  id: string,
  state: 'idle' | 'printing' | 'stopped' | null,
  lastSeen = 0,
): DeviceSnapshot => ({
  id,
  driver: 'ipp',
  directCapable: true,
  status:
    state === null ? undefined : { state, reasons: state === 'stopped' ? ['media-empty'] : [], since: 0 },
  meters: undefined,
  lastSeen,
});

function pacer(minGapMs = 10_000) {
  const clock = new ManualClock(0);
  const world = { devices: [snapshot('a', null), snapshot('b', 'idle')], connected: true };
  const sent: [number, string, string][] = [];
  const p = new DeviceStatePacer({
    clock,
    minGapMs,
    snapshots: () => world.devices,
    publish: (m: DeviceStateMessage) => {
      if (world.connected) sent.push([clock.now(), m.deviceId, m.state]);
      return world.connected;
    },
  });
  p.start();
  return { clock, world, sent, p };
}

describe('DeviceStatePacer', () => {
  it('publishes every device after a (re)connect, then only the ones that changed', () => {
    const { clock, world, sent, p } = pacer();
    p.reconnected();
    clock.advance(0);
    expect(sent).toEqual([
      [0, 'a', 'unknown'],
      [0, 'b', 'idle'],
    ]);
    world.devices = [snapshot('a', 'idle'), snapshot('b', 'idle', 5000)];
    p.noteChange();
    clock.advanceTo(10_000);
    // b only had a newer lastSeen: not a state change, not published again.
    expect(sent.slice(2)).toEqual([[10_000, 'a', 'idle']]);
  });

  it('never publishes twice within the gap, and sends the latest of changes in between', () => {
    const { clock, world, sent, p } = pacer();
    p.reconnected();
    clock.advance(0);
    sent.length = 0;
    clock.advanceTo(2000);
    world.devices = [snapshot('a', 'printing'), snapshot('b', 'idle')];
    p.noteChange();
    clock.advanceTo(6000);
    world.devices = [snapshot('a', 'stopped'), snapshot('b', 'printing')];
    p.noteChange();
    clock.advanceTo(9999);
    expect(sent).toEqual([]);
    clock.advanceTo(10_000);
    expect(sent).toEqual([
      [10_000, 'a', 'stopped'],
      [10_000, 'b', 'printing'],
    ]);
  });

  it('keeps what the broker did not get for the next session', () => {
    const { clock, world, sent, p } = pacer();
    world.connected = false;
    p.noteChange();
    clock.advance(0);
    expect(sent).toEqual([]);
    world.connected = true;
    p.reconnected();
    clock.advanceTo(10_000);
    expect(sent.map(([, id, state]) => [id, state])).toEqual([
      ['a', 'unknown'],
      ['b', 'idle'],
    ]);
  });

  it('does nothing after stop', () => {
    const { clock, sent, p } = pacer();
    p.stop();
    p.reconnected();
    clock.advance(60_000);
    expect(sent).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });
});

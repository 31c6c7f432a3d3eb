import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { CpuMeter, type CpuTimes } from '../../../src/gateway/load/cpu-meter.ts';
import { LineMeter } from '../../../src/gateway/load/line-meter.ts';
import { LoadMeter } from '../../../src/gateway/load/load-meter.ts';

/** CPU times that advance by `busy` of every `step` ms each call. */
function ticking(busyShares: number[], step = 1000): () => CpuTimes {
  let idle = 0;
  let total = 0;
  let i = 0;
  return () => {
    const busy = busyShares[Math.min(i++, busyShares.length - 1)] as number;
    total += step;
    idle += step * (1 - busy);
    return { idle, total };
  };
}

describe('CPU meter', () => {
  it('reports the busy share of the last samples, not of all time', () => {
    const meter = new CpuMeter(ticking([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]), 5);
    meter.sample();
    expect(meter.usage()).toBeNull();
    for (let i = 0; i < 5; i++) meter.sample();
    expect(meter.usage()).toBe(0.25);
    for (let i = 0; i < 4; i++) meter.sample();
    // The idle start has left the window: the meter is fresh, unlike a load average.
    expect(meter.usage()).toBe(1);
  });
});

describe('line meter', () => {
  it('measures the arrival rate while a tunnel waits for the line', () => {
    const clock = new ManualClock();
    const meter = new LineMeter({ clock });
    const tunnel = {};
    meter.waiting(tunnel, true);
    for (let s = 0; s < 3; s++) {
      meter.received(300_000);
      clock.advance(1000);
      meter.sample();
    }
    expect(meter.bytesPerSec()).toBe(300_000);
  });

  it('leaves out time when no tunnel waits (idle line, or the device set the pace)', () => {
    const clock = new ManualClock();
    const meter = new LineMeter({ clock });
    expect(meter.bytesPerSec()).toBeNull();
    const tunnel = {};
    // Half a second waiting at 2 MB/s, then held back by a slow device for the rest.
    meter.waiting(tunnel, true);
    meter.received(1_000_000);
    clock.advance(500);
    meter.waiting(tunnel, false);
    meter.received(50_000); // arrives while the device is behind: not the line's pace
    clock.advance(500);
    meter.sample();
    expect(meter.bytesPerSec()).toBe(2_000_000);
    // A second where the tunnel waited only 10%: no sample; the speed stands.
    meter.waiting(tunnel, true);
    meter.received(10_000);
    clock.advance(100);
    meter.waiting(tunnel, false);
    clock.advance(900);
    meter.sample();
    expect(meter.bytesPerSec()).toBe(2_000_000);
  });

  it('forgets its speed once no sample came for staleAfterMs', () => {
    const clock = new ManualClock();
    const meter = new LineMeter({ clock, staleAfterMs: 10_000 });
    const tunnel = {};
    meter.waiting(tunnel, true);
    meter.received(100_000);
    clock.advance(1000);
    meter.sample();
    meter.waiting(tunnel, false);
    expect(meter.bytesPerSec()).toBe(100_000);
    for (let s = 0; s < 9; s++) {
      clock.advance(1000);
      meter.sample();
    }
    expect(meter.bytesPerSec()).toBe(100_000);
    clock.advance(1000);
    meter.sample();
    expect(meter.bytesPerSec()).toBeNull();
  });

  it('counts time once however many tunnels wait at the same time', () => {
    const clock = new ManualClock();
    const meter = new LineMeter({ clock });
    const a = {};
    const b = {};
    meter.waiting(a, true);
    meter.waiting(b, true);
    meter.received(200_000);
    meter.received(200_000);
    clock.advance(1000);
    meter.sample();
    expect(meter.bytesPerSec()).toBe(400_000);
  });
});

describe('load meter', () => {
  it('samples every second and reports CPU usage and line speed together', () => {
    const clock = new ManualClock();
    const reports: unknown[] = [];
    const meter = new LoadMeter({ clock, cpuTimes: ticking([0.5]), onSample: (r) => reports.push(r) });
    meter.start();
    expect(meter.report()).toEqual({ cpuUsage: null, lineBytesPerSec: null });
    const tunnel = {};
    meter.line.waiting(tunnel, true);
    meter.line.received(64_000);
    clock.advance(1000);
    expect(reports).toEqual([{ cpuUsage: 0.5, lineBytesPerSec: 64_000 }]);
    clock.advance(2000);
    expect(reports).toHaveLength(3);
    meter.stop();
    clock.advance(5000);
    expect(reports).toHaveLength(3);
  });
});

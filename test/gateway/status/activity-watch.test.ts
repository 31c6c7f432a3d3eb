import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import { type ActivitySources, watchActivity } from '../../../src/gateway/status/activity-watch.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';

class FakeTunnels extends EventEmitter<{ open: [{ jobId: string; target: string }]; close: [TunnelRecord] }> {
  activeCount = 0;
}

function setUp() {
  const clock = new ManualClock();
  const deviceMonitor = new EventEmitter<{ change: [DeviceSnapshot] }>();
  const tunnels = new FakeTunnels();
  const jobs = { activeJobs: 0 };
  let notes = 0;
  const stop = watchActivity(
    { clock, deviceMonitor, tunnels, jobs } as unknown as ActivitySources,
    () => {
      notes++;
    },
    1000,
  );
  return { clock, deviceMonitor, tunnels, jobs, stop, notes: () => notes };
}

const RECORD: TunnelRecord = {
  jobId: 'j1',
  target: 'device:mfp1',
  openedAt: 0,
  closedAt: 1,
  bytesToDevice: 1,
  bytesFromDevice: 0,
  outcome: 'done',
};

describe('watchActivity', () => {
  it('notes device changes and tunnels opening and closing at once', () => {
    const { deviceMonitor, tunnels, notes } = setUp();
    deviceMonitor.emit('change', {} as DeviceSnapshot);
    expect(notes()).toBe(1);
    tunnels.emit('close', RECORD);
    expect(notes()).toBe(2);
  });

  it('ticks once a second while tunnels or jobs are active, and stops when the last one ends', () => {
    const { clock, tunnels, jobs, notes } = setUp();
    tunnels.activeCount = 1;
    jobs.activeJobs = 1;
    tunnels.emit('open', { jobId: 'j1', target: 'device:mfp1' });
    tunnels.emit('open', { jobId: 'j2', target: 'device:mfp1' });
    expect(notes()).toBe(2);
    clock.advance(3000);
    expect(notes()).toBe(5);
    // The tunnel broke; the job waits for a resume: still ticking.
    tunnels.activeCount = 0;
    clock.advance(1000);
    expect(notes()).toBe(6);
    jobs.activeJobs = 0;
    clock.advance(1000);
    expect(notes()).toBe(7);
    clock.advance(10_000);
    expect(notes()).toBe(7);
    expect(clock.pendingCount()).toBe(0);
  });

  it('stops listening and ticking when stopped', () => {
    const { clock, deviceMonitor, tunnels, notes, stop } = setUp();
    tunnels.activeCount = 1;
    tunnels.emit('open', { jobId: 'j1', target: 'device:mfp1' });
    stop();
    clock.advance(5000);
    deviceMonitor.emit('change', {} as DeviceSnapshot);
    tunnels.emit('close', RECORD);
    expect(notes()).toBe(1);
    expect(clock.pendingCount()).toBe(0);
    expect(deviceMonitor.listenerCount('change')).toBe(0);
    expect(tunnels.listenerCount('open') + tunnels.listenerCount('close')).toBe(0);
  });
});

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import { type ActivitySources, watchActivity } from '../../../src/gateway/status/activity-watch.ts';
import type { ShownProxyStatus } from '../../../src/gateway/status/gateway-providers.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { proxied, proxyStatus } from './proxy-harness.ts';

class FakeTunnels extends EventEmitter<{ open: [{ jobId: string; target: string }]; close: [TunnelRecord] }> {
  activeCount = 0;
}

function setUp(proxy: { current: ShownProxyStatus } | null = null) {
  const clock = new ManualClock();
  const deviceMonitor = new EventEmitter<{ change: [DeviceSnapshot] }>();
  const tunnels = new FakeTunnels();
  const jobs = { activeJobs: 0 };
  const pushProxy = proxy && { status: () => proxy.current };
  let notes = 0;
  const stop = watchActivity(
    { clock, deviceMonitor, tunnels, jobs, pushProxy } as unknown as ActivitySources,
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

  it('checks the push proxy once a tick and notes only a change of a device’s state, held or pushes', () => {
    const proxy = { current: proxyStatus([proxied('mfp1'), proxied('mfp2')]) };
    const { clock, notes, stop } = setUp(proxy);
    clock.advance(5000);
    expect(notes()).toBe(0);
    proxy.current = proxyStatus([proxied('mfp1', { state: 'awake' }), proxied('mfp2')]);
    clock.advance(999);
    expect(notes()).toBe(0);
    clock.advance(1);
    expect(notes()).toBe(1);
    // Bytes alone wait for the next message; a held push does not.
    proxy.current = proxyStatus([
      proxied('mfp1', {
        state: 'awake',
        bytes: { fromDevice: 9, toDevice: 9, upstreamIn: 0, upstreamOut: 0 },
      }),
      proxied('mfp2'),
    ]);
    clock.advance(3000);
    expect(notes()).toBe(1);
    proxy.current = proxyStatus([
      proxied('mfp1', { state: 'awake' }),
      proxied('mfp2', { held: 1, pushes: { delivered: 0, held: 1, expired: 0, refused: 0 } }),
    ]);
    clock.advance(1000);
    expect(notes()).toBe(2);
    stop();
    expect(clock.pendingCount()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import type { GatewayEvents } from '../../../src/gateway/gateway-context.ts';
import { watchActivity } from '../../../src/gateway/status/activity-watch.ts';
import type { ShownProxyStatus } from '../../../src/gateway/status/gateway-providers.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { EventBus } from '../../../src/lifecycle/event-bus.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { proxied, proxyStatus } from './proxy-harness.ts';

function setUp(proxy: { current: ShownProxyStatus } | null = null) {
  const clock = new ManualClock();
  const events = new EventBus<GatewayEvents>(silentLogger());
  const tunnels = { activeCount: 0 };
  const jobs = { activeJobs: 0 };
  const pushProxy = proxy && { status: () => proxy.current };
  let notes = 0;
  const stop = watchActivity(
    { clock, events, owner: 'status-page', tunnels, jobs, pushProxy },
    () => {
      notes++;
    },
    1000,
  );
  return { clock, events, tunnels, jobs, stop, notes: () => notes };
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
    const { events, notes } = setUp();
    events.emit('device-change', {} as DeviceSnapshot);
    expect(notes()).toBe(1);
    events.emit('tunnel-closed', RECORD);
    expect(notes()).toBe(2);
  });

  it('ticks once a second while tunnels or jobs are active, and stops when the last one ends', () => {
    const { clock, events, tunnels, jobs, notes } = setUp();
    tunnels.activeCount = 1;
    jobs.activeJobs = 1;
    events.emit('tunnel-opened', { jobId: 'j1', target: 'device:mfp1' });
    events.emit('tunnel-opened', { jobId: 'j2', target: 'device:mfp1' });
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
    const { clock, events, tunnels, notes, stop } = setUp();
    tunnels.activeCount = 1;
    events.emit('tunnel-opened', { jobId: 'j1', target: 'device:mfp1' });
    stop();
    clock.advance(5000);
    events.emit('device-change', {} as DeviceSnapshot);
    events.emit('tunnel-closed', RECORD);
    expect(notes()).toBe(1);
    expect(clock.pendingCount()).toBe(0);
    expect(
      events.listenerCount('device-change') +
        events.listenerCount('tunnel-opened') +
        events.listenerCount('tunnel-closed'),
    ).toBe(0);
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

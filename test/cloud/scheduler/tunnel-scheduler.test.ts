import { describe, expect, it } from 'vitest';
import {
  decide,
  type GatewayLoad,
  gatewayBusy,
  pickVictim,
  type RunningJob,
  tunnelsFull,
  tunnelsInUse,
} from '../../../src/cloud/scheduler/tunnel-scheduler.ts';

const load = (over: Partial<GatewayLoad> = {}): GatewayLoad => ({
  maxTunnels: 2,
  cpuUsage: null,
  cpuThreshold: null,
  lineBytesPerSec: null,
  lineThresholdBytesPerSec: null,
  ...over,
});

const job = (
  jobId: string,
  priority: number,
  directCapable: boolean,
  over: Partial<RunningJob> = {},
): RunningJob => ({
  jobId,
  priority,
  directCapable,
  route: 'tunnel',
  startedAt: 1000,
  ...over,
});

describe('tunnel scheduler (seed 001)', () => {
  it('opens a tunnel while the gateway has room', () => {
    expect(decide({ jobId: 'n', priority: 5, directCapable: false }, [job('a', 1, true)], load())).toEqual({
      kind: 'tunnel',
    });
  });

  it('at the limit, switches the lowest-priority direct-capable job for a job that needs a tunnel', () => {
    const running = [job('high', 9, true), job('low', 1, true), job('nas', 0, false)];
    const decision = decide(
      { jobId: 'new', priority: 5, directCapable: false },
      running,
      load({ maxTunnels: 3 }),
    );
    expect(decision).toMatchObject({ kind: 'switch', victimJobId: 'low' });
  });

  it('never picks a device that cannot connect directly, even with the lowest priority', () => {
    expect(pickVictim([job('nas', 0, false), job('mfp', 3, true)])?.jobId).toBe('mfp');
    expect(pickVictim([job('nas', 0, false)])).toBeNull();
  });

  it('breaks priority ties by switching the newest job', () => {
    expect(
      pickVictim([job('old', 1, true, { startedAt: 1 }), job('young', 1, true, { startedAt: 2 })])?.jobId,
    ).toBe('young');
  });

  it('waits when no running job can switch', () => {
    const decision = decide(
      { jobId: 'new', priority: 5, directCapable: false },
      [job('a', 1, false), job('b', 2, false)],
      load(),
    );
    expect(decision).toMatchObject({ kind: 'wait', reason: expect.stringContaining('no running job') });
  });

  it('counts a switching job’s tunnel until it closes, and switches one job at a time', () => {
    const running = [job('a', 1, true, { route: 'switching' }), job('b', 2, true)];
    expect(tunnelsInUse(running)).toBe(2);
    expect(decide({ jobId: 'n', priority: 5, directCapable: false }, running, load())).toMatchObject({
      kind: 'wait',
    });
    expect(tunnelsInUse([job('a', 1, true, { route: 'direct' }), job('b', 2, true)])).toBe(1);
  });

  it('starts a direct-capable newcomer on its own connection at once when the gateway is saturated (#68–#74)', () => {
    const running = [job('a', 5, true), job('b', 6, true)];
    for (const priority of [1, 9]) {
      expect(decide({ jobId: 'n', priority, directCapable: true }, running, load())).toEqual({
        kind: 'direct',
        reason: '2 of 2 tunnels in use',
      });
    }
    // Even while another job switches: a direct start needs no tunnel freed.
    const switching = [job('a', 5, true, { route: 'switching' }), job('b', 6, true)];
    expect(decide({ jobId: 'n', priority: 1, directCapable: true }, switching, load())).toMatchObject({
      kind: 'direct',
    });
    expect(decide({ jobId: 'n', priority: 1, directCapable: true }, [job('a', 5, true)], load())).toEqual({
      kind: 'tunnel',
    });
  });

  it('counts the CPU usage at or above its threshold as busy, and unknown as not', () => {
    expect(gatewayBusy(load({ cpuUsage: 0.95, cpuThreshold: 0.9 }))).toBe(
      'gateway CPU usage 0.95 at or above 0.9',
    );
    expect(gatewayBusy(load({ cpuUsage: 0.9, cpuThreshold: 0.9 }))).toMatch(/CPU/);
    expect(gatewayBusy(load({ cpuUsage: 0.5, cpuThreshold: 0.9 }))).toBeNull();
    // Unknown (never reported, or stale) is not busy.
    expect(gatewayBusy(load({ cpuUsage: null, cpuThreshold: 0.9 }))).toBeNull();
    expect(gatewayBusy(load({ cpuUsage: 1, cpuThreshold: null }))).toBeNull();
  });

  it('counts a slow line — speed at or below its threshold — as busy, a fast one not', () => {
    expect(gatewayBusy(load({ lineBytesPerSec: 300_000, lineThresholdBytesPerSec: 1_000_000 }))).toBe(
      'gateway line at 300000 B/s, at or below 1000000 B/s',
    );
    expect(gatewayBusy(load({ lineBytesPerSec: 1e6, lineThresholdBytesPerSec: 1e6 }))).toMatch(/line/);
    expect(gatewayBusy(load({ lineBytesPerSec: 2e6, lineThresholdBytesPerSec: 1e6 }))).toBeNull();
    expect(gatewayBusy(load({ lineBytesPerSec: null, lineThresholdBytesPerSec: 1e6 }))).toBeNull();
  });

  it('on a busy gateway, switches a running job and gives the job that needs a tunnel one at once', () => {
    const running = [job('a', 1, true), job('nas', 0, false)];
    const busy = load({ maxTunnels: 10, lineBytesPerSec: 300_000, lineThresholdBytesPerSec: 1_000_000 });
    expect(decide({ jobId: 'n', priority: 5, directCapable: false }, running, busy)).toEqual({
      kind: 'tunnel',
      andSwitch: { victimJobId: 'a', reason: 'gateway line at 300000 B/s, at or below 1000000 B/s' },
    });
    // Nothing to switch, or a switch already under way: the tunnel all the same (the count allows it).
    expect(decide({ jobId: 'n', priority: 5, directCapable: false }, [job('nas', 0, false)], busy)).toEqual({
      kind: 'tunnel',
    });
    expect(
      decide(
        { jobId: 'n', priority: 5, directCapable: false },
        [job('a', 1, true, { route: 'switching' })],
        busy,
      ),
    ).toEqual({ kind: 'tunnel' });
    // A job whose device can connect by itself goes direct.
    expect(decide({ jobId: 'n', priority: 5, directCapable: true }, running, busy)).toMatchObject({
      kind: 'direct',
      reason: expect.stringMatching(/line/),
    });
    expect(tunnelsFull(running, busy)).toBeNull();
  });
});

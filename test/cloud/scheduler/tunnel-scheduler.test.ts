import { describe, expect, it } from 'vitest';
import {
  decide,
  type GatewayLoad,
  pickVictim,
  type RunningJob,
  saturation,
  tunnelsInUse,
} from '../../../src/cloud/scheduler/tunnel-scheduler.ts';

const load = (over: Partial<GatewayLoad> = {}): GatewayLoad => ({
  maxTunnels: 2,
  cpuLoad: null,
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

  it('lets a direct-capable newcomer wait rather than switch a more important job', () => {
    const running = [job('a', 5, true), job('b', 6, true)];
    expect(decide({ jobId: 'n', priority: 1, directCapable: true }, running, load())).toMatchObject({
      kind: 'wait',
    });
    expect(decide({ jobId: 'n', priority: 9, directCapable: true }, running, load())).toMatchObject({
      kind: 'switch',
      victimJobId: 'a',
    });
  });

  it('treats a CPU or line-speed threshold like a full tunnel table', () => {
    const one = [job('a', 1, true)];
    expect(saturation(one, load({ maxTunnels: 10, cpuLoad: 0.95, cpuThreshold: 0.9 }))).toMatch(/CPU/);
    expect(
      saturation(one, load({ maxTunnels: 10, lineBytesPerSec: 2e6, lineThresholdBytesPerSec: 1e6 })),
    ).toMatch(/line/);
    expect(saturation(one, load({ maxTunnels: 10, cpuLoad: 0.5, cpuThreshold: 0.9 }))).toBeNull();
    expect(
      decide(
        { jobId: 'n', priority: 5, directCapable: false },
        one,
        load({ maxTunnels: 10, cpuLoad: 1, cpuThreshold: 0.9 }),
      ),
    ).toMatchObject({
      kind: 'switch',
      victimJobId: 'a',
    });
  });
});

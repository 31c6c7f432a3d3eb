import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import type { DeviceRegistry } from '../../../src/cloud/devices/device-registry.ts';
import type { DocumentSpool } from '../../../src/cloud/jobs/document-spool.ts';
import { JobRunner } from '../../../src/cloud/jobs/job-runner.ts';
import { SqliteJobStore } from '../../../src/cloud/jobs/sqlite-job-store.ts';
import { GatewayDirectory } from '../../../src/cloud/push/gateway-directory.ts';
import type { GatewayRegistry } from '../../../src/cloud/registry/gateway-registry.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { newJob } from './new-job.ts';

const stores: SqliteJobStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** Node B's runner, on a store shared with node A, with the calls it makes to other nodes recorded. */
function nodeB() {
  const store = new SqliteJobStore(':memory:');
  stores.push(store);
  const directory = new GatewayDirectory(systemClock);
  const calls: string[] = [];
  const runner = new JobRunner({
    store,
    // What the cases here never reach: they stop before a transfer starts.
    spool: {} as DocumentSpool,
    devices: {} as DeviceRegistry,
    gateways: {} as GatewayRegistry,
    directory,
    node: 'node-b',
    clock: systemClock,
    logger: silentLogger(),
    maxBytes: 1_000,
    directMode: 'push',
    publicUrl: () => 'http://cloud',
    connectTimeoutMs: 1_000,
    directTimeoutMs: 1_000,
    resumeWithinMs: 1_000,
    fleet: {
      schedule: (node, gatewayId) => calls.push(`schedule ${gatewayId} at ${node}`),
      directConnected: (node, jobId) => calls.push(`direct ${jobId} at ${node}`),
    },
  });
  const lineOnA = () =>
    directory.addRemote(
      { gatewayId: 'gw1', siteKey: 's', uptimeAtHelloMs: 0, helloAt: 0, cpuLoad: 0 },
      { gatewayId: 'gw1', connectionId: 'line-0', role: 'push', node: 'node-a' },
    );
  return { store, runner, calls, lineOnA };
}

describe('a job runner in a fleet', () => {
  it('hands the scheduling of a gateway’s jobs to the node holding its line, once', async () => {
    const { store, runner, calls, lineOnA } = nodeB();
    lineOnA();
    await store.insert(newJob('j1'));
    runner.schedule('gw1');
    await vi.waitFor(() => expect(calls).toEqual(['schedule gw1 at node-a']));
    // A call that came from another node is not handed on again (their views may differ a moment).
    runner.schedule('gw1', 'fleet');
    // A fixed wait is the proof here: nothing must happen (the pass is a few SQLite reads).
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toEqual(['schedule gw1 at node-a']);
    expect((await store.get('j1'))?.state).toBe('queued');
  });

  it('tells the node carrying a job that its device connected through this one', async () => {
    const { store, runner, calls } = nodeB();
    await store.insert(newJob('j1'));
    const claimed = await store.claim('j1', 'node-a', 2_000);
    runner.directConnected(claimed as NonNullable<typeof claimed>);
    expect(calls).toEqual(['direct j1 at node-a']);
  });
});

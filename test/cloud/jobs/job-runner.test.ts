import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceRegistry } from '../../../src/cloud/devices/device-registry.ts';
import type { DocumentSpool } from '../../../src/cloud/jobs/document-spool.ts';
import { JobRequestError, JobRunner } from '../../../src/cloud/jobs/job-runner.ts';
import { SqliteJobStore } from '../../../src/cloud/jobs/sqlite-job-store.ts';
import { GatewayDirectory } from '../../../src/cloud/push/gateway-directory.ts';
import type { GatewayRegistry } from '../../../src/cloud/registry/gateway-registry.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { newJob } from './new-job.ts';

// JobRunner's decisions that need no line, on the manual clock: who may take a job's rest over
// a direct connection (seed 001's device token).
const hash = (token: string) => createHash('sha256').update(token).digest('hex');

const stores: SqliteJobStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function runner() {
  const clock = new ManualClock();
  const store = new SqliteJobStore(':memory:');
  stores.push(store);
  const jobs = new JobRunner({
    store,
    spool: {} as DocumentSpool,
    devices: {} as DeviceRegistry,
    gateways: {} as GatewayRegistry,
    directory: new GatewayDirectory(clock),
    node: 'node-a',
    clock,
    logger: silentLogger(),
    maxBytes: 1_000,
    directMode: 'push',
    publicUrl: () => 'http://cloud',
    connectTimeoutMs: 10_000,
    directTimeoutMs: 60_000,
    resumeWithinMs: 60_000,
  });
  return { clock, store, jobs };
}

async function refusal(promise: Promise<unknown>): Promise<number> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobRequestError);
  return (err as JobRequestError).status;
}

describe('JobRunner: a device’s direct connection', () => {
  it('is let in only with the token of a job being switched', async () => {
    const { clock, store, jobs } = runner();
    await store.insert(newJob('j1'));
    // No switch yet: no token is right.
    expect(await refusal(jobs.authorizeDirect('j1', 'anything'))).toBe(404);
    await store.update('j1', { state: 'switching', directTokenHash: hash('t0ken') }, clock.now());
    expect((await jobs.authorizeDirect('j1', 't0ken')).id).toBe('j1');
    expect(await refusal(jobs.authorizeDirect('j1', 't0ke'))).toBe(404);
    expect(await refusal(jobs.authorizeDirect('j1', undefined))).toBe(404);
    expect(await refusal(jobs.authorizeDirect('nope', 't0ken'))).toBe(404);
  });

  it('is refused once the job has ended, even with its old token', async () => {
    const { clock, store, jobs } = runner();
    await store.insert(newJob('j2'));
    await store.update('j2', { state: 'done', directTokenHash: hash('old') }, clock.now());
    expect(await refusal(jobs.authorizeDirect('j2', 'old'))).toBe(409);
  });
});

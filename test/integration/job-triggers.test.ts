import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CloudHandle } from '../support/chain.ts';
import { eventually } from '../support/cli-process.ts';
import {
  fileSha256,
  type JobView,
  jobReaches,
  postJob,
  sha256,
  startDeviceSite,
  startSimMfp,
  tunnelRecords,
  withJobLogs,
} from '../support/jobs.ts';
import { processTeardown } from '../support/teardown.ts';

const { defer, track, scratch } = processTeardown('SIGKILL');

const MB = 1024 * 1024;

interface GatewayLoad {
  cpuUsage: number | null;
  lineBytesPerSec: number | null;
  reportedAt: string;
}

/** The gateway's load as the cloud knows it (from its keep-alives and load messages). */
async function loadOf(cloud: CloudHandle): Promise<GatewayLoad | null> {
  return (await cloud.api<{ load: GatewayLoad | null }>('/api/v1/gateways/gw1')).body.load;
}

/** The one file a sim MFP stored. */
function storedFile(spool: string): string {
  const files = readdirSync(spool);
  expect(files).toHaveLength(1);
  return join(spool, files[0] as string);
}

/** A direct-capable sim MFP on its own spool. */
async function directMfp(dir: string, name: string) {
  const spool = join(dir, `spool-${name}`);
  const mfp = await startSimMfp(spool, ['--direct-capable']);
  track(mfp.proc);
  return { spool, ...mfp };
}

describe('seed 001’s CPU and line-speed triggers, with real processes', () => {
  it('on a slow line, switches a running job make-before-break and starts a new direct-capable job direct', {
    timeout: 120_000,
  }, async () => {
    const dir = scratch('trigger-line');
    const a = await directMfp(dir, 'a');
    const c = await directMfp(dir, 'c');
    const nasDir = join(dir, 'nas');
    mkdirSync(nasDir);
    const { cloud, gw } = await startDeviceSite(dir, track, {
      // Room for many tunnels: only the slow line can trigger.
      cloud: { gw1: { maxTunnels: 8, lineThreshold: '2m' } },
      devices: [
        { id: 'mfp-a', driver: 'pjl', host: '127.0.0.1', port: a.port, directCapable: true },
        { id: 'mfp-c', driver: 'pjl', host: '127.0.0.1', port: c.port, directCapable: true },
        { id: 'nas', driver: 'storage', directory: nasDir },
      ],
      gateway: { storage: { key: randomBytes(32).toString('base64') } },
      lineRate: '1m',
    });
    // Long enough at the 1 MB/s line that A is still on its tunnel when the other jobs come, however
    // slowly the gateway gets to measure its line on a loaded machine (6 MB was not, under CI load).
    const docA = randomBytes(16 * MB);
    const docC = randomBytes(2 * MB);
    const docNas = randomBytes(MB);

    const jobA = await postJob(cloud, { gateway: 'gw1', device: 'mfp-a', priority: 1 }, docA);
    await jobReaches(cloud, jobA.body.id, ['via-tunnel'], 20_000);
    // The gateway measures its line on job A's data and tells the cloud while the job runs.
    const measured = await eventually(
      () => loadOf(cloud),
      (l) => l?.lineBytesPerSec !== null && l?.lineBytesPerSec !== undefined && l.lineBytesPerSec <= 2 * MB,
      20_000,
      'the gateway to report its line at or below 2 MiB/s',
    );
    expect(measured?.lineBytesPerSec).toBeGreaterThan(0);

    const nas = await postJob(cloud, { gateway: 'gw1', device: 'nas', type: 'storage', priority: 3 }, docNas);
    const jobC = await postJob(cloud, { gateway: 'gw1', device: 'mfp-c', priority: 2 }, docC);
    const [doneA, doneC, doneNas] = (await withJobLogs(
      { cloud: cloud.proc, gateway: gw, a: a.proc, c: c.proc },
      () =>
        Promise.all([jobA, jobC, nas].map((j) => jobReaches(cloud, j.body.id, ['done', 'failed'], 60_000))),
    )) as [JobView, JobView, JobView];

    // A: switched because the line is slow, while the NAS job got its tunnel at once.
    const switched = cloud.proc.lines.find(
      (l) =>
        l.msg === 'gateway saturated: switching a job to a direct connection' && l.jobId === jobA.body.id,
    );
    expect(switched?.reason).toMatch(/^gateway line at \d+ B\/s, at or below 2097152 B\/s$/);
    expect(doneA).toMatchObject({ state: 'done', error: null });
    expect(doneA.route.map((r) => r.route)).toEqual(['tunnel', 'direct']);
    expect(doneA.bytes.tunnel).toBeGreaterThan(0);
    expect(doneA.bytes.direct).toBeGreaterThan(0);
    expect(fileSha256(storedFile(a.spool))).toBe(sha256(docA));
    const legs = tunnelRecords(join(dir, 'gateway-state', 'journal.db')).filter(
      (r) => r.jobId === jobA.body.id,
    );
    expect(legs.at(-1)).toMatchObject({ outcome: 'switched' });
    expect(legs.at(-1)?.directUpAt).toBeLessThan(legs.at(-1)?.closedAt as number);
    expect(legs.reduce((n, r) => n + r.bytesToDevice, 0) + doneA.bytes.direct).toBe(docA.length);

    // C: its device connects by itself, so it started direct at once; its tunnel carried no document byte.
    const direct = cloud.proc.lines.find(
      (l) =>
        l.msg === 'gateway saturated: the job starts on its device’s own connection' &&
        l.jobId === jobC.body.id,
    );
    expect(direct?.reason).toMatch(/^gateway line at/);
    expect(doneC).toMatchObject({ state: 'done', bytes: { tunnel: 0, direct: docC.length } });
    expect(fileSha256(storedFile(c.spool))).toBe(sha256(docC));
    expect(
      tunnelRecords(join(dir, 'gateway-state', 'journal.db')).filter((r) => r.jobId === jobC.body.id),
    ).toEqual([expect.objectContaining({ outcome: 'switched', bytesToDevice: 0 })]);

    expect(doneNas).toMatchObject({ state: 'done', bytes: { tunnel: docNas.length, direct: 0 } });
  });

  it('on a busy CPU, starts a direct-capable job on its device’s own connection', {
    timeout: 90_000,
  }, async () => {
    const dir = scratch('trigger-cpu');
    const a = await directMfp(dir, 'a');
    // A slow printer that cannot connect by itself keeps a job on a tunnel, so the gateway reports its load every second.
    const slowSpool = join(dir, 'spool-slow');
    const slow = await startSimMfp(slowSpool, ['--read-rate', '256k']);
    track(slow.proc);
    const { cloud, gw } = await startDeviceSite(dir, track, {
      cloud: { gw1: { maxTunnels: 8, cpuThreshold: '90%' } },
      devices: [
        { id: 'mfp-a', driver: 'pjl', host: '127.0.0.1', port: a.port, directCapable: true },
        { id: 'slow', driver: 'pjl', host: '127.0.0.1', port: slow.port },
      ],
    });
    const background = await postJob(
      cloud,
      { gateway: 'gw1', device: 'slow', priority: 1 },
      randomBytes(6 * MB),
    );
    await jobReaches(cloud, background.body.id, ['via-tunnel'], 20_000);
    // Every core busy: the gateway's CPU usage (all cores, the last seconds) goes to ~100 %. At
    // the lowest priority (nice counts as busy), so that tests running beside this one hardly notice.
    const burners: ChildProcess[] = [];
    for (let i = 0; i < availableParallelism(); i++) {
      const burner = spawn('nice', ['-n', '19', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
      burners.push(burner);
      defer(() => burner.kill('SIGKILL'));
    }
    const measured = await eventually(
      () => loadOf(cloud),
      (l) => (l?.cpuUsage ?? 0) >= 0.9 && Date.now() - Date.parse(l?.reportedAt ?? '') < 5_000,
      45_000,
      'the gateway to report a CPU usage at or above 90 %',
    );
    expect(measured?.cpuUsage).toBeLessThanOrEqual(1);

    const doc = randomBytes(2 * MB);
    const job = await postJob(cloud, { gateway: 'gw1', device: 'mfp-a', priority: 1 }, doc);
    // The cloud decided as it accepted the job: the burn can stop.
    for (const burner of burners) burner.kill('SIGKILL');
    const done = await withJobLogs({ cloud: cloud.proc, gateway: gw, a: a.proc }, () =>
      jobReaches(cloud, job.body.id, ['done', 'failed'], 60_000),
    );
    const started = cloud.proc.lines.find(
      (l) =>
        l.msg === 'gateway saturated: the job starts on its device’s own connection' &&
        l.jobId === job.body.id,
    );
    expect(started?.reason).toMatch(/^gateway CPU usage (0\.9\d*|1) at or above 0\.9$/);
    expect(done).toMatchObject({ state: 'done', bytes: { tunnel: 0, direct: doc.length } });
    expect(fileSha256(storedFile(a.spool))).toBe(sha256(doc));
  });
});

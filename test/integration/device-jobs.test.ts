import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startIppPrinter } from '../support/ipp-printer.ts';
import {
  fileSha256,
  jobReaches,
  postJob,
  sha256,
  startDeviceSite,
  startSimMfp,
  withJobLogs,
} from '../support/jobs.ts';
import { startLpdServer } from '../support/lpd-server.ts';
import { startSocatPty } from '../support/socat-pty.ts';
import { processTeardown } from '../support/teardown.ts';

const { defer, track, scratch } = processTeardown('SIGKILL');

/** The only file a sim MFP stored for a job. */
function simFile(spool: string, jobId: string): string {
  const files = readdirSync(spool).filter((f) => f.endsWith(`-${jobId}.prn`));
  expect(files).toHaveLength(1);
  return join(spool, files[0] as string);
}

describe('cloud jobs reach real printers through the tunnel and each driver', () => {
  it('prints byte-exact on ippeveprinter (IPP), a 9100/PJL sim, LPRng (LPD) and a sim on a serial line', async () => {
    const dir = scratch('device-jobs');
    const ipp = await startIppPrinter();
    defer(() => ipp.stop());
    const lpd = await startLpdServer();
    defer(() => lpd.stop());
    const pty = await startSocatPty();
    defer(() => pty.stop());
    const pjlSpool = join(dir, 'pjl-spool');
    const pjl = await startSimMfp(pjlSpool);
    track(pjl.proc);
    const serialSpool = join(dir, 'serial-spool');
    const serial = await startSimMfp(serialSpool, ['--serial', pty.b]);
    track(serial.proc);
    const { cloud, gw } = await startDeviceSite(dir, track, {
      devices: [
        { id: 'ipp', driver: 'ipp', uri: ipp.uri },
        { id: 'pjl', driver: 'pjl', host: '127.0.0.1', port: pjl.port },
        { id: 'lpd', driver: 'lpd', host: '127.0.0.1', port: lpd.port, queue: lpd.queue },
        { id: 'serial', driver: 'serial', path: pty.a, baudRate: 115_200 },
      ],
    });

    const docs = {
      ipp: randomBytes(1024 * 1024),
      pjl: randomBytes(2 * 1024 * 1024),
      lpd: randomBytes(512 * 1024),
      serial: randomBytes(64 * 1024),
    };
    const lpdBefore = (await lpd.printed()).length;
    const jobs = Object.fromEntries(
      await Promise.all(
        Object.entries(docs).map(async ([device, doc]) => {
          const headers = { 'content-type': device === 'ipp' ? 'text/plain' : 'application/octet-stream' };
          const posted = await postJob(cloud, { gateway: 'gw1', device }, doc, headers);
          expect(posted.status).toBe(202);
          return [device, posted.body.id] as const;
        }),
      ),
    );
    const done = await withJobLogs({ cloud: cloud.proc, gateway: gw }, () =>
      Promise.all(Object.values(jobs).map((id) => jobReaches(cloud, id, ['done', 'failed'], 45_000))),
    );
    for (const job of done) expect(job, job.id).toMatchObject({ state: 'done', error: null });

    expect(sha256(await ipp.spooledDocument(1))).toBe(sha256(docs.ipp));
    expect(fileSha256(simFile(pjlSpool, jobs.pjl as string))).toBe(sha256(docs.pjl));
    expect(sha256((await lpd.printed()).subarray(lpdBefore))).toBe(sha256(docs.lpd));
    expect(fileSha256(simFile(serialSpool, jobs.serial as string))).toBe(sha256(docs.serial));
  });

  it('holds a job while the printer is out of paper, shows why, finishes it once paper is back; fails an unreachable device clearly', async () => {
    const dir = scratch('device-faults');
    const spool = join(dir, 'spool');
    const mfp = await startSimMfp(spool);
    track(mfp.proc);
    const deadPort = await freePort();
    const { cloud, gw } = await startDeviceSite(dir, track, {
      devices: [
        { id: 'mfp', driver: 'pjl', host: '127.0.0.1', port: mfp.port, statusEvery: '1s' },
        { id: 'gone', driver: 'pjl', host: '127.0.0.1', port: deadPort },
      ],
    });

    mfp.proc.child.kill('SIGUSR1');
    await mfp.proc.waitFor((l) => l.msg === 'fault on', 5000, 'the paper to run out');
    await gw.waitFor(
      (l) =>
        l.msg === 'device state changed' && l.device === 'mfp' && String(l.reasons).includes('media-empty'),
      10_000,
      'the gateway to see the printer stopped for paper',
    );
    const doc = randomBytes(256 * 1024);
    const held = await postJob(cloud, { gateway: 'gw1', device: 'mfp' }, doc);
    // The document is at the printer, but the job is not done while the paper is out.
    await gw.waitFor(
      (l) => l.msg === 'job started' && l.jobId === held.body.id,
      10_000,
      'the job to reach the gateway',
    );
    // The whole document and its end are at the printer, and still the job is not done.
    await mfp.proc.waitFor((l) => l.msg === 'job stored' && l.job === held.body.id, 10_000, 'the document');
    expect((await jobReaches(cloud, held.body.id, ['via-tunnel', 'done', 'failed'], 5000)).state).toBe(
      'via-tunnel',
    );
    mfp.proc.child.kill('SIGUSR2');
    const finished = await jobReaches(cloud, held.body.id, ['done', 'failed'], 20_000);
    expect(finished).toMatchObject({ state: 'done' });
    expect(fileSha256(simFile(spool, held.body.id))).toBe(sha256(doc));
    // The gateway reported the job done only after the paper came back (same host clock).
    const cleared = mfp.proc.lines.find((l) => l.msg === 'faults cleared');
    const settled = gw.lines.find((l) => l.msg === 'job settled' && l.jobId === held.body.id);
    expect(settled?.event).toBe('done');
    expect(Number(settled?.time)).toBeGreaterThanOrEqual(Number(cleared?.time));

    const lost = await postJob(cloud, { gateway: 'gw1', device: 'gone' }, randomBytes(1000));
    const failed = await jobReaches(cloud, lost.body.id, ['done', 'failed'], 30_000);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/MFP_DEV_ERR_UNREACHABLE.*127\.0\.0\.1/);
  });

  it('fails a job cleanly when the serial cable is pulled mid-job, shows the device offline, and prints again once replugged', async () => {
    const dir = scratch('device-serial');
    const pty = await startSocatPty();
    defer(() => pty.stop());
    const spool = join(dir, 'spool');
    const mfp = await startSimMfp(spool, ['--serial', pty.b, '--read-rate', '100k']);
    track(mfp.proc);
    const { cloud, gw } = await startDeviceSite(dir, track, {
      devices: [{ id: 'serial', driver: 'serial', path: pty.a, baudRate: 115_200, statusEvery: '1s' }],
    });

    await gw.waitFor(
      (l) => /^device state/.test(String(l.msg)) && l.device === 'serial' && l.state === 'idle',
      15_000,
      'the serial device to answer its status',
    );
    const first = await postJob(cloud, { gateway: 'gw1', device: 'serial' }, randomBytes(1024 * 1024));
    await mfp.proc.waitFor(
      (l) => l.msg === 'job receiving',
      10_000,
      'the first document bytes at the printer',
    );
    await pty.unplug();
    const failed = await jobReaches(cloud, first.body.id, ['done', 'failed'], 30_000);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/MFP_DEV_ERR_INTERRUPTED.*not resent/);
    const offline = await gw.waitFor(
      (l) => l.msg === 'device state changed' && l.device === 'serial' && l.state === 'offline',
      15_000,
      'the device to show offline',
    );

    await pty.plug();
    await gw.waitFor(
      (l) =>
        l.msg === 'device state changed' &&
        l.device === 'serial' &&
        l.state === 'idle' &&
        Number(l.time) > Number(offline.time),
      20_000,
      'the device to come back',
    );
    const doc = randomBytes(32 * 1024);
    const second = await postJob(cloud, { gateway: 'gw1', device: 'serial' }, doc);
    const printed = await withJobLogs({ gateway: gw, mfp: mfp.proc }, async () => {
      const job = await jobReaches(cloud, second.body.id, ['done', 'failed'], 30_000);
      if (job.state !== 'done') throw new Error(`second job ${job.state}: ${job.error}`);
      return job;
    });
    expect(printed).toMatchObject({ state: 'done', error: null });
    expect(fileSha256(simFile(spool, second.body.id))).toBe(sha256(doc));
    // The interrupted job was never stored as a finished print.
    expect(
      readdirSync(spool).filter((f) => f.includes(first.body.id) && f.endsWith('.prn')).length,
    ).toBeLessThanOrEqual(1);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCloud, startFirewall, startGatewayProcess } from '../support/chain.ts';
import { eventually, listeningPort, startCli } from '../support/cli-process.ts';
import { freePort } from '../support/free-port.ts';
import {
  deviceLogs,
  fileSha256,
  gatewayUp,
  getJob,
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

const { track, scratch } = processTeardown('SIGKILL');

const MB = 1024 * 1024;

/** Spool files of a sim MFP, by job name (the cloud's job id). */
function stored(spool: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(spool)) {
    const name = f.replace(/^\d+-/, '').replace(/\.prn$/, '');
    if (files.has(name)) throw new Error(`job ${name} stored twice`);
    files.set(name, join(spool, f));
  }
  return files;
}

/**
 * Two direct-capable MFPs and a NAS behind a gateway the cloud allows two tunnels (seed 001's
 * switch), on a slow line: the jobs stay mid-transfer because the line is slow, not the printers,
 * so nothing piles up in front of the device and a command reaches it at once.
 */
async function saturatedSite(
  name: string,
  options: {
    mfpFlags?: string[];
    /** Extra settings of device mfp-a, the one that gets switched. */
    mfpA?: Record<string, unknown>;
    /** Extra gateway config. */
    gateway?: Record<string, unknown>;
  },
) {
  const dir = scratch(name);
  const key = randomBytes(32).toString('base64');
  const spoolA = join(dir, 'spool-a');
  const spoolB = join(dir, 'spool-b');
  const nasDir = join(dir, 'nas');
  mkdirSync(nasDir);
  const flags = ['--direct-capable', ...(options.mfpFlags ?? [])];
  const a = await startSimMfp(spoolA, flags);
  track(a.proc);
  const b = await startSimMfp(spoolB, flags);
  track(b.proc);
  const { cloud, gw } = await startDeviceSite(dir, track, {
    cloud: { gw1: { maxTunnels: 2 } },
    devices: [
      { id: 'mfp-a', driver: 'pjl', host: '127.0.0.1', port: a.port, directCapable: true, ...options.mfpA },
      { id: 'mfp-b', driver: 'pjl', host: '127.0.0.1', port: b.port, directCapable: true },
      { id: 'nas', driver: 'storage', directory: nasDir },
    ],
    gateway: { storage: { key }, ...options.gateway },
    lineRate: '2m',
  });
  // Larger than what the line carries in the seconds a switch takes, so the direct leg has real work.
  const docs = { docA: randomBytes(8 * MB), docB: randomBytes(6 * MB), docNas: randomBytes(2 * MB) };
  return { dir, key, spoolA, spoolB, nasDir, a: a.proc, b: b.proc, cloud, gw, ...docs };
}

/**
 * Sends mfp-a a low-priority and mfp-b a high-priority print job, then the NAS job that needs a
 * third tunnel; checks that the low one moved to mfp-a's own connection and all arrived byte-exact.
 */
async function runSwitchScenario(site: Awaited<ReturnType<typeof saturatedSite>>) {
  const { cloud, gw, a, b, docA, docB, docNas } = site;
  const low = await postJob(cloud, { gateway: 'gw1', device: 'mfp-a', priority: 1 }, docA);
  const high = await postJob(cloud, { gateway: 'gw1', device: 'mfp-b', priority: 5 }, docB);
  for (const job of [low, high]) {
    await eventually(
      () => getJob(cloud, job.body.id),
      (j) => j.state === 'via-tunnel' && j.route.length === 1,
      10_000,
      'both print jobs to be on tunnels',
      50,
    );
  }
  const nas = await postJob(
    cloud,
    { gateway: 'gw1', device: 'nas', type: 'storage', priority: 3, name: 'contract.pdf' },
    docNas,
  );
  expect(nas.status).toBe(202);

  const [lowDone, highDone, nasDone] = (await withJobLogs({ cloud: cloud.proc, gateway: gw, a, b }, () =>
    Promise.all([low, high, nas].map((j) => jobReaches(cloud, j.body.id, ['done', 'failed'], 40_000))),
  )) as [JobView, JobView, JobView];
  // The lowest-priority direct-capable job moved to the device's own connection mid-transfer.
  expect(lowDone).toMatchObject({ state: 'done', error: null });
  expect(lowDone.bytes.tunnel).toBeGreaterThan(0);
  expect(lowDone.bytes.direct).toBeGreaterThan(0);
  expect(lowDone.bytes.tunnel + lowDone.bytes.direct).toBe(docA.length);
  expect(highDone).toMatchObject({ state: 'done', bytes: { tunnel: docB.length, direct: 0 } });
  expect(nasDone).toMatchObject({ state: 'done', bytes: { tunnel: docNas.length, direct: 0 } });

  // Byte-exact, each job stored once: no byte printed twice.
  expect(fileSha256(stored(site.spoolA).get(low.body.id) as string)).toBe(sha256(docA));
  expect(fileSha256(stored(site.spoolB).get(high.body.id) as string)).toBe(sha256(docB));
  expect([...stored(site.spoolA).keys()]).toEqual([low.body.id]);

  // Make-before-break, from the gateway journal's own timestamps: the device's own connection was up
  // while the tunnel was still open, and the tunnel closed after it; tunnel + direct bytes = the size.
  const legs = tunnelRecords(join(site.dir, 'gateway-state', 'journal.db')).filter(
    (r) => r.jobId === low.body.id,
  );
  const last = legs.at(-1);
  expect(last).toMatchObject({ outcome: 'switched', directUpAt: expect.any(Number) });
  expect(last?.directUpAt).toBeGreaterThanOrEqual(last?.openedAt as number);
  expect(last?.directUpAt).toBeLessThan(last?.closedAt as number);
  const viaTunnel = legs.reduce((sum, r) => sum + r.bytesToDevice, 0);
  expect(viaTunnel).toBe(lowDone.bytes.tunnel);
  expect(viaTunnel + lowDone.bytes.direct).toBe(docA.length);
  // The tunnel went on carrying the job after the device was told to connect.
  const told = gw.lines.find((l) => l.msg === 'telling the device to connect to the cloud by itself');
  expect(told).toMatchObject({ jobId: low.body.id });
  expect(viaTunnel).toBeGreaterThan(told?.offset as number);
  return { low, high, nas, lowDone, told };
}

describe('jobs through tunnels, with real cloud, gateway and sim MFP processes', () => {
  it('delivers a print job of several MB byte-exact, logs its tunnel, and refuses a device the gateway lacks', async () => {
    const dir = scratch('jobs-basic');
    const spool = join(dir, 'spool');
    const mfp = await startSimMfp(spool);
    track(mfp.proc);
    const { cloud } = await startDeviceSite(dir, track, {
      devices: [{ id: 'mfp1', driver: 'pjl', host: '127.0.0.1', port: mfp.port }],
    });

    const document = randomBytes(6 * MB);
    const posted = await postJob(cloud, { gateway: 'gw1', device: 'mfp1', priority: 1 }, document, {
      'idempotency-key': 'order-42',
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({
      state: expect.any(String),
      size: document.length,
      sha256: sha256(document),
    });
    // A retry is the same request: the same key with another one is refused (422, issue 13.4).
    const again = await postJob(cloud, { gateway: 'gw1', device: 'mfp1', priority: 1 }, document, {
      'idempotency-key': 'order-42',
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(posted.body.id);

    const done = await jobReaches(cloud, posted.body.id, ['done', 'failed'], 30_000);
    expect(done).toMatchObject({ state: 'done', bytes: { tunnel: document.length, direct: 0 }, error: null });
    expect(done.route.map((r) => r.route)).toEqual(['tunnel']);
    const file = stored(spool).get(posted.body.id);
    expect(file).toBeDefined();
    expect(fileSha256(file as string)).toBe(sha256(document));

    const records = tunnelRecords(join(dir, 'gateway-state', 'journal.db'));
    expect(records).toEqual([
      expect.objectContaining({
        jobId: posted.body.id,
        target: 'device:mfp1',
        bytesToDevice: document.length,
        outcome: 'done',
      }),
    ]);

    const unknown = await postJob(cloud, { gateway: 'gw1', device: 'printer-9' }, Buffer.from('x'));
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toMatch(/no device "printer-9".*mfp1/);
    const list = await cloud.api<{ jobs: { id: string }[] }>('/api/v1/jobs');
    expect(list.body.jobs.map((j) => j.id)).toEqual([posted.body.id]);
  });

  it('switches the lowest-priority direct-capable job when the tunnel limit is reached, and stores the NAS file encrypted', {
    timeout: 120_000,
  }, async () => {
    const syslogPort = await freePort();
    const site = await saturatedSite('jobs-switch', {
      mfpFlags: ['--syslog', `127.0.0.1:${syslogPort}`],
      gateway: { journal: { syslog: { udp: { host: '127.0.0.1', port: syslogPort }, tcp: false } } },
    });
    const { dir, nasDir, cloud, a } = site;
    const { low, high, nas, lowDone, told } = await runSwitchScenario(site);
    expect(lowDone.route.map((r) => r.route)).toEqual(['tunnel', 'direct']);

    // A device that reaches the cloud by itself gets the rest pushed over its WebSocket (the default mode).
    expect(cloud.proc.lines.some((l) => l.jobId === low.body.id && l.mode === 'push')).toBe(true);
    expect(told).toMatchObject({ via: 'own', mode: 'push' });
    expect(a.lines.find((l) => l.msg === 'direct transfer started')).toMatchObject({
      job: low.body.id,
      mode: 'push',
    });
    expect(
      cloud.proc.lines.find((l) => l.msg === 'device streams the rest of its job' && l.jobId === low.body.id),
    ).toMatchObject({ offset: lowDone.bytes.tunnel, mode: 'push' });

    // Never more than two tunnels at once, as the cloud counted them when it opened each (the
    // limit is the cloud's). The gateway's journal dates a tunnel's close when its device has
    // taken what it held, which for the switched job can be after the cloud freed the tunnel,
    // so the journal's own overlap is not the limit's measure.
    const opened = cloud.proc.lines.filter((l) => l.msg === 'job goes through a tunnel');
    expect(opened.map((l) => l.jobId).sort()).toEqual([low.body.id, high.body.id, nas.body.id].sort());
    expect(Math.max(...opened.map((l) => Number(l.tunnels)))).toBe(2);
    // Each job's tunnel is in the gateway's journal (written as the tunnel closes, so waited for).
    const records = await eventually(
      async () => tunnelRecords(join(dir, 'gateway-state', 'journal.db')),
      (r) => r.length >= 3,
      10_000,
      'the three tunnels in the gateway journal',
    );
    expect(records.map((r) => r.jobId).sort()).toEqual([low.body.id, high.body.id, nas.body.id].sort());
    expect(records.find((r) => r.jobId === low.body.id)?.outcome).toBe('switched');

    // The NAS file is encrypted at rest and decrypts to the original.
    const files = readdirSync(nasDir);
    expect(files).toEqual(['contract.pdf.enc']);
    const encrypted = readFileSync(join(nasDir, 'contract.pdf.enc'));
    expect(encrypted.includes(site.docNas.subarray(0, 64))).toBe(false);
    const keyFile = join(dir, 'storage.key');
    writeFileSync(keyFile, site.key);
    const decrypt = startCli([
      'decrypt',
      '--key-file',
      keyFile,
      join(nasDir, 'contract.pdf.enc'),
      '-o',
      join(dir, 'out.pdf'),
    ]);
    expect(await decrypt.exited()).toBe(0);
    expect(fileSha256(join(dir, 'out.pdf'))).toBe(sha256(site.docNas));

    // The device's connection log reached the gateway's journal, linked to the job.
    await eventually(
      async () => deviceLogs(join(dir, 'gateway-state', 'journal.db')),
      (logs) => logs.filter((l) => l.jobId === low.body.id).length >= 2,
      10_000,
      'the direct transfer’s syslog lines in the journal',
    );
  });

  it('relays the switched job’s direct connection through the gateway when the site lets only the gateway out', {
    timeout: 60_000,
  }, async () => {
    const site = await saturatedSite('jobs-relay', {
      mfpA: { directVia: 'gateway' },
      // A push proxy listener with no push devices: it only relays. Port 0, read back from the
      // log: a freePort() one could be taken by another process before the gateway binds it.
      gateway: { pushProxy: { listen: { host: '127.0.0.1', port: 0 } } },
    });
    const { cloud, gw, a } = site;
    const relayPort = await listeningPort(gw, 'push proxy listening', 'port');
    const registered = await cloud.api<{ devices: { id: string; directVia: string }[] }>(
      '/api/v1/gateways/gw1/devices',
    );
    expect(registered.body.devices.map((d) => [d.id, d.directVia])).toEqual([
      ['mfp-a', 'gateway'],
      ['mfp-b', 'own'],
      ['nas', 'own'],
    ]);

    const { low, lowDone, told } = await runSwitchScenario(site);
    expect(lowDone.route.map((r) => r.route)).toEqual(['tunnel', 'direct']);

    // The cloud asked for a relayed switch; the gateway gave the device its LAN relay, not the cloud.
    const relay = `http://127.0.0.1:${relayPort}`;
    // The relay speaks only the pull variant's two requests, so the cloud asked for pull.
    expect(
      cloud.proc.lines.some((l) => l.jobId === low.body.id && l.via === 'gateway' && l.mode === 'pull'),
    ).toBe(true);
    expect(told).toMatchObject({ via: 'gateway', mode: 'pull', url: relay });
    const started = a.lines.find((l) => l.msg === 'direct transfer started');
    expect(started).toMatchObject({ job: low.body.id, url: relay, mode: 'pull' });

    // The gateway relayed the device's fetch of the rest (exactly the direct part) and its report.
    const relayed = gw.lines.filter((l) => l.msg === 'direct request relayed' && l.jobId === low.body.id);
    const fetches = relayed.filter((l) => l.request === 'document');
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(fetches.every((l) => l.status === 200)).toBe(true);
    expect(fetches.reduce((sum, l) => sum + (l.bytesToDevice as number), 0)).toBe(lowDone.bytes.direct);
    expect(fetches[0]?.offset).toBe(lowDone.bytes.tunnel);
    expect(relayed.filter((l) => l.request === 'connect')).toEqual([
      expect.objectContaining({ status: 204 }),
    ]);
    expect(relayed.filter((l) => l.request === 'complete')).toEqual([
      expect.objectContaining({ status: 200, bytesToCloud: expect.any(Number) }),
    ]);
    expect(gw.lines.filter((l) => l.msg === 'direct request relay failed')).toEqual([]);
  });

  it('resumes a job on another line when the push line carrying its tunnel is cut, and prints it once', async () => {
    const dir = scratch('jobs-cut');
    const spool = join(dir, 'spool');
    const mfp = await startSimMfp(spool, ['--read-rate', '2m']);
    track(mfp.proc);
    const cloud = await startCloud(dir);
    track(cloud.proc);
    // The middlebox resets every connection 2 s after it opened: the job's line dies under it.
    const firewall = await startFirewall(cloud.port, '1h', 'rst', '2s');
    track(firewall.proc);
    const gw = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${firewall.port}/push`, token: cloud.gatewayToken },
        { devices: [{ id: 'mfp1', driver: 'pjl', host: '127.0.0.1', port: mfp.port }] },
      ),
    );
    await gatewayUp(cloud);

    const document = randomBytes(8 * MB);
    const posted = await postJob(cloud, { gateway: 'gw1', device: 'mfp1' }, document);
    const done = await withJobLogs({ cloud: cloud.proc, gateway: gw, mfp: mfp.proc }, () =>
      jobReaches(cloud, posted.body.id, ['done', 'failed'], 40_000),
    );
    expect(done).toMatchObject({ state: 'done', error: null, bytes: { tunnel: document.length } });
    expect(done.route.length).toBeGreaterThan(1);
    expect(done.route.every((r) => r.route === 'tunnel')).toBe(true);
    const files = stored(spool);
    expect([...files.keys()]).toEqual([posted.body.id]);
    expect(fileSha256(files.get(posted.body.id) as string)).toBe(sha256(document));
    // Each tunnel took up where the last one stopped: together they moved the document exactly once.
    const legs = tunnelRecords(join(dir, 'gateway-state', 'journal.db')).filter(
      (r) => r.jobId === posted.body.id,
    );
    // A tunnel whose line died before its "ready" reached the cloud is a gateway record with no cloud leg.
    expect(legs.length).toBeGreaterThanOrEqual(done.route.length);
    expect(legs.reduce((sum, r) => sum + r.bytesToDevice, 0)).toBe(document.length);
  });
});

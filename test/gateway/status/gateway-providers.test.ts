import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { DeviceDriver } from '../../../src/devices/device-driver.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import type { DeviceRegistry, GatewayDevice } from '../../../src/gateway/devices/device-registry.ts';
import type { JobSummary } from '../../../src/gateway/jobs/job-tunnels.ts';
import { JobTunnels } from '../../../src/gateway/jobs/job-tunnels.ts';
import { type StoredTunnelRecord, TunnelJournal } from '../../../src/gateway/journal/tunnel-journal.ts';
import {
  deviceView,
  gatewayProviders,
  jobViews,
  tunnelViews,
} from '../../../src/gateway/status/gateway-providers.ts';
import { TransferRates } from '../../../src/gateway/status/transfer-rate.ts';
import { TunnelAllowList } from '../../../src/gateway/tunnels/allow-list.ts';
import { TunnelEndpoint, type TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import {
  dataHeader,
  encodeEnd,
  type JobEvent,
  JobEventDecoder,
} from '../../../src/protocol/job/job-records.ts';
import { muxPair } from '../../tunnel/mux-pair.ts';
import { capturingLogger } from './page-harness.ts';

const T0 = Date.UTC(2026, 0, 5);

function snapshot(extra: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    id: 'mfp1',
    driver: 'pjl',
    directCapable: true,
    status: undefined,
    meters: undefined,
    lastSeen: undefined,
    ...extra,
  };
}

function held(extra: Partial<JobSummary> = {}): JobSummary {
  return {
    jobId: 'job-1',
    deviceId: 'mfp1',
    size: 1000,
    received: 250,
    tunnels: 1,
    carried: true,
    final: undefined,
    startedAt: T0,
    settledAt: undefined,
    ...extra,
  };
}

let rowId = 0;
function record(
  jobId: string,
  openedAt: number,
  outcome: string,
  extra: Partial<TunnelRecord> = {},
): StoredTunnelRecord {
  return {
    id: ++rowId,
    jobId,
    target: 'device:mfp1',
    openedAt,
    closedAt: openedAt + 1000,
    bytesToDevice: 100,
    bytesFromDevice: 20,
    outcome,
    ...extra,
  };
}

describe('deviceView', () => {
  it('is unknown until the first poll answered', () => {
    expect(deviceView(snapshot())).toMatchObject({
      id: 'mfp1',
      state: 'unknown',
      reasons: [],
      lastSeenAt: null,
      pageCount: null,
      supplies: [],
    });
  });

  it('takes the state from the driver, and page meter, toner and their reasons from SNMP', () => {
    const view = deviceView(
      snapshot({
        status: {
          state: 'stopped',
          reasons: ['media-empty'],
          pageCount: 10,
          message: 'Load paper',
          since: T0,
        },
        meters: {
          state: 'stopped',
          reasons: ['media-empty', 'toner-low'],
          pageCount: 1234,
          since: T0,
          supplies: [
            { name: 'Black Toner', level: 9, maxCapacity: 100, fraction: 0.094 },
            { name: 'Drum', levelSpecial: 'some-remaining' },
          ],
        },
        lastSeen: T0 + 5,
      }),
    );
    expect(view).toEqual({
      id: 'mfp1',
      driver: 'pjl',
      directCapable: true,
      state: 'stopped',
      reasons: ['media-empty', 'toner-low'],
      message: 'Load paper',
      since: T0,
      lastSeenAt: T0 + 5,
      pageCount: 1234,
      supplies: [
        { name: 'Black Toner', percent: 9 },
        { name: 'Drum', percent: null },
      ],
    });
  });

  it('ignores the reasons of an SNMP agent that does not answer, keeping the driver’s meter', () => {
    const view = deviceView(
      snapshot({
        status: { state: 'offline', reasons: ['offline'], pageCount: 10, since: T0 },
        meters: { state: 'offline', reasons: ['offline', 'other'], since: T0 },
      }),
    );
    expect(view).toMatchObject({ state: 'offline', reasons: ['offline'], pageCount: 10 });
  });
});

describe('jobViews', () => {
  it('shows held jobs with progress of the document size, outcome and route so far', () => {
    const views = jobViews(
      [
        held({ jobId: 'running', startedAt: T0 + 4 }),
        held({ jobId: 'waiting', carried: false, size: undefined, startedAt: T0 + 3 }),
        held({
          jobId: 'done',
          received: 1000,
          tunnels: 2,
          carried: false,
          final: { event: 'done', bytes: 1000, pages: 3 },
          startedAt: T0 + 2,
          settledAt: T0 + 10,
        }),
        held({
          jobId: 'switched',
          received: 400,
          carried: false,
          final: { event: 'switched', offset: 400 },
          startedAt: T0 + 1,
        }),
        held({
          jobId: 'failed',
          carried: false,
          final: { event: 'failed', code: 'MFP_DEV_ERR_X', reason: 'paper jam' },
          startedAt: T0,
        }),
      ],
      [],
    );
    expect(views.map((v) => [v.id, v.outcome, v.route.join('>'), v.progress])).toEqual([
      ['running', 'running', 'tunnel', 0.25],
      ['waiting', 'waiting', 'tunnel', null],
      ['done', 'done', 'tunnel>tunnel', 1],
      ['switched', 'switched', 'tunnel>direct', 0.4],
      ['failed', 'failed', 'tunnel', 0.25],
    ]);
    expect(views[2]).toMatchObject({ pages: 3, settledAt: T0 + 10, bytes: 1000, size: 1000 });
    expect(views[4]?.reason).toBe('paper jam');
  });

  it('pieces older jobs together from the journal’s tunnel records, newest first, skipping raw tunnels and held jobs', () => {
    const records = [
      record('old-done', T0 + 30, 'done'),
      record('resumed', T0 + 25, 'switched'),
      record('raw', T0 + 22, 'done', { target: '10.0.0.5:9100' }),
      record('resumed', T0 + 20, 'the line closed'),
      record('cut', T0 + 10, 'the line closed'),
      record('broke', T0 + 5, 'failed: paper jam'),
      record('held', T0, 'closed'),
    ];
    const views = jobViews([held({ jobId: 'held', startedAt: T0 + 40 })], records);
    expect(views.map((v) => [v.id, v.outcome, v.route.join('>'), v.reason])).toEqual([
      ['held', 'running', 'tunnel', null],
      ['old-done', 'done', 'tunnel', null],
      ['resumed', 'switched', 'tunnel>tunnel>direct', null],
      ['cut', 'interrupted', 'tunnel', 'the line closed'],
      ['broke', 'failed', 'tunnel', 'paper jam'],
    ]);
    expect(views.find((v) => v.id === 'resumed')).toMatchObject({
      bytes: 200,
      startedAt: T0 + 20,
      settledAt: T0 + 1025,
      size: null,
    });
  });

  it('lists at most 20 jobs', () => {
    const many = Array.from({ length: 30 }, (_, i) => held({ jobId: `j${i}`, startedAt: T0 + i }));
    const views = jobViews(many, []);
    expect(views).toHaveLength(20);
    expect(views[0]?.id).toBe('j29');
  });
});

describe('tunnel rates', () => {
  it('is the average since opening at first, then bytes over the last few seconds', () => {
    const rates = new TransferRates();
    const tunnel = (bytes: number) => ({
      id: 'job/j1',
      jobId: 'j1',
      target: 'device:mfp1',
      openedAt: T0,
      bytesToDevice: bytes,
      bytesFromDevice: 0,
    });
    expect(tunnelViews([tunnel(2000)], rates, T0 + 2000)).toEqual([
      {
        id: 'job/j1',
        jobId: 'j1',
        target: 'device:mfp1',
        deviceId: 'mfp1',
        bytesToDevice: 2000,
        bytesFromDevice: 0,
        rateBps: 1000,
        openedAt: T0,
      },
    ]);
    expect(tunnelViews([tunnel(6000)], rates, T0 + 3000)[0]?.rateBps).toBe(4000);
    // Samples older than the window drop out: the rate follows a stall.
    for (let s = 4; s <= 10; s++) tunnelViews([tunnel(6000 + (s - 3) * 100)], rates, T0 + s * 1000);
    expect(tunnelViews([tunnel(6800)], rates, T0 + 11_000)[0]?.rateBps).toBe(100);
    expect(rates.sample('job/j1', T0 + 11_000, 6800, T0)).toBe(100);
    // A closed tunnel is forgotten; one that opens under the same id starts afresh.
    expect(tunnelViews([], rates, T0 + 12_000)).toEqual([]);
    expect(tunnelViews([{ ...tunnel(500), openedAt: T0 + 12_000 }], rates, T0 + 12_500)[0]?.rateBps).toBe(
      1000,
    );
  });

  it('calls a raw host:port tunnel by its target', () => {
    const [view] = tunnelViews(
      [
        {
          id: 'raw/1',
          jobId: 'j',
          target: '10.0.0.5:9100',
          openedAt: T0,
          bytesToDevice: 0,
          bytesFromDevice: 0,
        },
      ],
      new TransferRates(),
      T0,
    );
    expect(view).toMatchObject({ deviceId: null, target: '10.0.0.5:9100', rateBps: 0 });
  });
});

/** A device whose driver takes the document as it comes and completes when it ends. */
function device(): GatewayDevice {
  const config = parseGatewayConfig({
    gateway: { id: 'gw1' },
    cloud: { url: 'wss://cloud.example.com/push', token: 'x'.repeat(20) },
    devices: [{ id: 'mfp1', driver: 'pjl', host: '10.0.0.5' }],
  }).devices[0];
  if (!config) throw new Error('no device config');
  const driver: DeviceDriver = {
    id: 'mfp1',
    async print(job) {
      let bytes = 0;
      for await (const chunk of job.document) bytes += (chunk as Buffer).length;
      return { bytesSent: bytes, pages: 2, completedAt: T0 };
    },
    status: async () => ({ state: 'idle', reasons: [], since: T0 }),
    close: async () => {},
  };
  return { config, driver, status: undefined };
}

function until(what: string, check: () => boolean): Promise<void> {
  return vi.waitFor(
    () => {
      if (!check()) throw new Error(`timed out waiting for ${what}`);
    },
    { interval: 1 },
  );
}

describe('gatewayProviders on the real tunnel endpoint, job tunnels and journal', () => {
  it('lists a job tunnel with live bytes and the job’s progress, then the settled job from the journal', async () => {
    const { clock, cloud, gateway } = muxPair();
    const mfp = device();
    const registry = {
      get: (id: string) => (id === 'mfp1' ? mfp : undefined),
      list: () => [mfp],
      isDeviceAddress: () => false,
    } as unknown as DeviceRegistry;
    const logger = silentLogger();
    const jobs = new JobTunnels({
      devices: registry,
      clock,
      logger,
      resumeGraceMs: 60_000,
      maxJobs: 4,
      keepSettledMs: 1000,
    });
    const tunnels = new TunnelEndpoint({
      allowList: new TunnelAllowList([]),
      devices: registry,
      jobs,
      maxConcurrent: 4,
      connectTimeoutMs: 1000,
      clock,
      logger,
    });
    const journal = new TunnelJournal({
      file: ':memory:',
      clock,
      retention: { maxAgeMs: 86_400_000, maxTunnelRecords: 100, maxDeviceLogs: 100 },
      onFlushError: () => {},
    });
    tunnels.on('close', (r) => journal.recordTunnel(r));
    const events: string[] = [];
    tunnels.on('open', (t) => events.push(`open ${t.target}`));
    tunnels.on('close', (r) => events.push(`close ${r.outcome}`));
    gateway.onStream((request) => tunnels.handle(request));
    const providers = gatewayProviders({
      clock,
      logger,
      deviceMonitor: { snapshots: () => [] },
      tunnels,
      jobs,
      journal,
    });
    expect(providers.pushProxy()).toBeNull(); // no pushProxy configured

    const stream = await cloud.openStream({ jobId: 'job-1', deviceId: 'mfp1', size: 1000 });
    const received: JobEvent[] = [];
    const decoder = new JobEventDecoder();
    stream.on('data', (chunk: Buffer) => received.push(...decoder.push(chunk)));
    await until('ready', () => received.length > 0);
    expect(received[0]).toEqual({ event: 'ready', offset: 0 });
    const document = randomBytes(1000);
    stream.write(Buffer.concat([dataHeader(400), document.subarray(0, 400)]));
    await until('400 bytes at the gateway', () => tunnels.activeTunnels()[0]?.bytesToDevice === 400);
    clock.advance(2000);

    expect(providers.tunnels()).toEqual([
      {
        id: 'job/job-1',
        jobId: 'job-1',
        target: 'device:mfp1',
        deviceId: 'mfp1',
        bytesToDevice: 400,
        bytesFromDevice: expect.any(Number),
        rateBps: expect.any(Number),
        openedAt: T0,
      },
    ]);
    expect(providers.jobs()).toEqual([
      expect.objectContaining({
        id: 'job-1',
        outcome: 'running',
        bytes: 400,
        size: 1000,
        progress: 0.4,
        route: ['tunnel'],
      }),
    ]);
    expect(tunnels.activeCount).toBe(1);
    expect(jobs.activeJobs).toBe(1);

    stream.write(Buffer.concat([dataHeader(600), document.subarray(400)]));
    stream.write(encodeEnd({ size: 1000, sha256: '0'.repeat(64) }));
    await until('done', () => received.some((e) => e.event === 'done'));
    stream.end();
    await until('the tunnel record', () => events.length === 2);
    expect(events).toEqual(['open device:mfp1', 'close done']);
    expect(providers.tunnels()).toEqual([]);
    expect(providers.jobs()[0]).toMatchObject({ id: 'job-1', outcome: 'done', progress: 1, pages: 2 });
    expect(providers.totals()).toEqual({
      tunnels: { opened: 1, bytesToDevice: 1000, bytesFromDevice: expect.any(Number) },
      jobs: { done: 1, switched: 0, failed: 0 },
    });

    // Once the daemon forgets the settled job, the journal still tells it.
    clock.advance(1000);
    expect(jobs.list()).toEqual([]);
    expect(providers.jobs()).toEqual([
      expect.objectContaining({ id: 'job-1', outcome: 'done', bytes: 1000, route: ['tunnel'], size: null }),
    ]);
    expect(providers.journal().tunnels).toEqual([
      expect.objectContaining({
        jobId: 'job-1',
        target: 'device:mfp1',
        bytesToDevice: 1000,
        outcome: 'done',
      }),
    ]);

    // A journal that cannot be read leaves its rows out, warns once, and breaks nothing.
    journal.close();
    const { logger: watched, lines } = capturingLogger();
    const broken = gatewayProviders({
      clock,
      logger: watched,
      deviceMonitor: { snapshots: () => [] },
      tunnels,
      jobs,
      journal,
    });
    expect(broken.journal()).toEqual({ tunnels: [], deviceLogs: [] });
    expect(broken.jobs()).toEqual([]);
    expect(lines.filter((l) => l.msg === 'status page cannot read the journal')).toHaveLength(1);
  });
});

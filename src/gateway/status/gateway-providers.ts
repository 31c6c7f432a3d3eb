import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceMonitor, DeviceSnapshot } from '../devices/device-monitor.ts';
import type { JobSummary, JobTunnels } from '../jobs/job-tunnels.ts';
import type { StoredTunnelRecord, TunnelJournal } from '../journal/tunnel-journal.ts';
import type { ProxiedDeviceStatus } from '../push-proxy/proxied-device.ts';
import type { PushProxyStatus } from '../push-proxy/push-proxy.ts';
import type { ActiveTunnel, TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import type {
  DeviceView,
  JobOutcome,
  JobView,
  JournalView,
  ProxiedDeviceView,
  PushProxyView,
  StatusProviders,
  TunnelView,
} from './status-model.ts';
import { TransferRates } from './transfer-rate.ts';

/** Jobs the page lists, newest first. */
const RECENT_JOBS = 20;
/** Journal rows the page's log view gets, of each kind. */
const JOURNAL_ROWS = 100;
/** Tunnel records read to find the recent jobs the daemon no longer holds. */
const JOB_RECORDS = 200;
/** Longest device log message sent to the page. */
const MAX_MESSAGE_CHARS = 1024;

/** The daemon's parts the providers read (never write). */
export interface ProviderParts {
  clock: Clock;
  logger: Logger;
  deviceMonitor: Pick<DeviceMonitor, 'snapshots'>;
  tunnels: Pick<TunnelEndpoint, 'activeTunnels' | 'totals'>;
  jobs: Pick<JobTunnels, 'list' | 'totals'>;
  journal: Pick<TunnelJournal, 'tunnels' | 'deviceLogs'>;
  /** The LAN push proxy, when `pushProxy` is configured. */
  pushProxy?: { status(): ShownProxyStatus } | null;
}

/**
 * The devices, tunnels, jobs, journal and push proxy sections of the page, read from the
 * daemon's parts whenever the page builds its state. A journal that cannot be read (a
 * failing SD card, or closed at shutdown) leaves those rows empty instead of breaking the page.
 */
export function gatewayProviders(parts: ProviderParts): StatusProviders {
  const rates = new TransferRates();
  const log = parts.logger.child({ part: 'status' });
  let journalFailing = false;
  const readJournal = <T>(read: () => T[]): T[] => {
    try {
      const rows = read();
      journalFailing = false;
      return rows;
    } catch (err) {
      if (!journalFailing) log.warn({ err: (err as Error).message }, 'status page cannot read the journal');
      journalFailing = true;
      return [];
    }
  };
  return {
    devices: () => parts.deviceMonitor.snapshots().map(deviceView),
    tunnels: () => tunnelViews(parts.tunnels.activeTunnels(), rates, parts.clock.now()),
    jobs: () =>
      jobViews(
        parts.jobs.list(),
        readJournal(() => parts.journal.tunnels({ limit: JOB_RECORDS })),
      ),
    journal: () =>
      journalView(
        readJournal(() => parts.journal.tunnels({ limit: JOURNAL_ROWS })),
        readJournal(() => parts.journal.deviceLogs({ limit: JOURNAL_ROWS })),
      ),
    totals: () => ({ tunnels: parts.tunnels.totals(), jobs: { ...parts.jobs.totals } }),
    pushProxy: () => (parts.pushProxy ? pushProxyView(parts.pushProxy.status()) : null),
  };
}

/** What of the push proxy's status the page shows. */
export type ShownProxyStatus = Pick<
  PushProxyStatus,
  'listening' | 'keepaliveMs' | 'refused' | 'held' | 'devices'
>;

/** The push proxy as the page shows it: its totals, and each device with LAN and cloud bytes summed. */
export function pushProxyView(s: ShownProxyStatus): PushProxyView {
  const devices = s.devices.map(proxiedDeviceView);
  return {
    listening: s.listening,
    keepaliveMs: s.keepaliveMs,
    refused: s.refused,
    held: s.held,
    bytes: {
      lan: devices.reduce((n, d) => n + d.bytes.lan, 0),
      cloud: devices.reduce((n, d) => n + d.bytes.cloud, 0),
    },
    devices,
  };
}

function proxiedDeviceView(d: ProxiedDeviceStatus): ProxiedDeviceView {
  const { bytes } = d;
  // Asleep or gone, it was last seen when it left; without LAN bytes (not even a welcome) it never came since start.
  const left = bytes.fromDevice + bytes.toDevice > 0 ? d.since : null;
  return {
    id: d.id,
    state: d.state,
    since: d.since,
    remoteAddress: d.remoteAddress,
    software: d.software,
    keepaliveMs: d.keepaliveMs,
    keepalives: d.keepalives.count,
    shortestGapMs: d.keepalives.shortestGapMs,
    lastSeenAt: d.state === 'awake' ? Math.max(d.since, d.keepalives.lastAt ?? 0) : left,
    held: d.held,
    pushes: { ...d.pushes },
    bytes: { lan: bytes.fromDevice + bytes.toDevice, cloud: bytes.upstreamIn + bytes.upstreamOut },
    upstream: d.upstream.state,
  };
}

/** A device as the page shows it: the driver's state, with SNMP's meters and supplies when read. */
export function deviceView(s: DeviceSnapshot): DeviceView {
  const { status, meters } = s;
  const snmpReasons = meters && meters.state !== 'offline' ? meters.reasons : [];
  const supplies = meters?.supplies?.length ? meters.supplies : (status?.supplies ?? []);
  return {
    id: s.id,
    driver: s.driver,
    directCapable: s.directCapable,
    state: status?.state ?? 'unknown',
    reasons: [...new Set([...(status?.reasons ?? []), ...snmpReasons])],
    message: status?.message ?? null,
    since: status?.since ?? null,
    lastSeenAt: s.lastSeen ?? null,
    pageCount: meters?.pageCount ?? status?.pageCount ?? null,
    supplies: supplies.map((x) => ({
      name: x.name,
      percent: x.fraction === undefined ? null : Math.round(x.fraction * 100),
    })),
  };
}

/** The open tunnels with their rates (and forgets the rates of closed ones). */
export function tunnelViews(active: ActiveTunnel[], rates: TransferRates, now: number): TunnelView[] {
  rates.retain(new Set(active.map((t) => t.id)));
  return active.map((t) => ({
    id: t.id,
    jobId: t.jobId,
    target: t.target,
    deviceId: t.target.startsWith('device:') ? t.target.slice('device:'.length) : null,
    bytesToDevice: t.bytesToDevice,
    bytesFromDevice: t.bytesFromDevice,
    rateBps: rates.sample(t.id, now, t.bytesToDevice + t.bytesFromDevice, t.openedAt),
    openedAt: t.openedAt,
  }));
}

/**
 * Recent jobs, newest first: the ones the daemon holds (running, waiting for a resume, or
 * settled a short while ago), then older ones pieced together from their tunnel records.
 */
export function jobViews(held: JobSummary[], records: StoredTunnelRecord[]): JobView[] {
  const views = held.map(heldJobView);
  const known = new Set(views.map((v) => v.id));
  const legs = new Map<string, StoredTunnelRecord[]>();
  for (const r of records) {
    if (!r.target.startsWith('device:') || known.has(r.jobId)) continue;
    legs.set(r.jobId, [...(legs.get(r.jobId) ?? []), r]);
  }
  for (const [id, list] of legs) views.push(journalJobView(id, list));
  return views.sort((a, b) => b.startedAt - a.startedAt).slice(0, RECENT_JOBS);
}

function heldJobView(j: JobSummary): JobView {
  const final = j.final;
  const outcome: JobOutcome =
    final?.event === 'done' || final?.event === 'switched' || final?.event === 'failed'
      ? final.event
      : j.carried
        ? 'running'
        : 'waiting';
  const size = j.size ?? null;
  return {
    id: j.jobId,
    deviceId: j.deviceId,
    route: route(j.tunnels, outcome),
    bytes: j.received,
    size,
    progress: size ? Math.min(1, j.received / size) : outcome === 'done' ? 1 : null,
    outcome,
    reason: final?.event === 'failed' ? final.reason : null,
    pages: final?.event === 'done' ? (final.pages ?? null) : null,
    startedAt: j.startedAt,
    settledAt: j.settledAt ?? null,
  };
}

/** A job the daemon no longer holds, from its tunnels' records (newest first). */
function journalJobView(id: string, records: StoredTunnelRecord[]): JobView {
  const last = records[0] as StoredTunnelRecord;
  const outcome: JobOutcome =
    last.outcome === 'done' || last.outcome === 'switched'
      ? last.outcome
      : last.outcome.startsWith('failed')
        ? 'failed'
        : 'interrupted';
  const bytes = records.reduce((n, r) => n + r.bytesToDevice, 0);
  return {
    id,
    deviceId: last.target.slice('device:'.length),
    route: route(records.length, outcome),
    bytes,
    size: null,
    progress: outcome === 'done' ? 1 : null,
    outcome,
    reason:
      outcome === 'failed'
        ? last.outcome.replace(/^failed: /, '')
        : outcome === 'interrupted'
          ? last.outcome
          : null,
    pages: null,
    startedAt: Math.min(...records.map((r) => r.openedAt)),
    settledAt: last.closedAt,
  };
}

function route(tunnels: number, outcome: JobOutcome): JobView['route'] {
  const legs: JobView['route'] = Array.from({ length: Math.max(1, tunnels) }, () => 'tunnel');
  if (outcome === 'switched') legs.push('direct');
  return legs;
}

/** The journal's newest rows, trimmed for the page. */
export function journalView(
  tunnels: StoredTunnelRecord[],
  deviceLogs: ReturnType<TunnelJournal['deviceLogs']>,
): JournalView {
  return {
    tunnels,
    deviceLogs: deviceLogs.map((l) => ({
      id: l.id,
      receivedAt: l.receivedAt,
      source: l.source,
      hostname: l.hostname,
      appName: l.appName,
      severity: l.severity,
      jobId: l.jobId,
      message: l.message.slice(0, MAX_MESSAGE_CHARS),
    })),
  };
}

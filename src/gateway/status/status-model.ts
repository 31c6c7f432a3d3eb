import { statfsSync } from 'node:fs';
import type { Clock } from '../../clock/clock.ts';
import { type AdviceInWords, adviceInWords } from '../../protocol/advice-words.ts';
import type { Advice } from '../../protocol/messages.ts';
import type { DeviceState as ProxiedDeviceState } from '../../protocol/push-proxy/messages.ts';
import { type HostMetrics, hostMetrics } from '../host/host-metrics.ts';
import type { JobTotals } from '../jobs/job-tunnels.ts';
import type { StoredTunnelRecord } from '../journal/tunnel-journal.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';
import type { LineStatus } from '../link/push-line.ts';
import type { PowerState } from '../power/power-scheduler.ts';
import type { TunnelTotals } from '../tunnels/tunnel-endpoint.ts';
import { type HealthVerdict, healthVerdict } from './health-verdict.ts';
import type { Drop, IntervalPoint, KeepaliveHistory } from './keepalive-history.ts';
import type { LogEntry, LogRing } from './log-ring.ts';

/** A LAN device as the page lists it. */
export interface DeviceView {
  id: string;
  driver: string;
  directCapable: boolean;
  /** idle, printing, stopped, offline; 'unknown' until the first poll answered. */
  state: string;
  /** IPP printer-state-reasons keywords (the driver's and SNMP's). */
  reasons: string[];
  /** The device's panel or state message, when it has one. */
  message: string | null;
  /** Since when the device is in `state`. */
  since: number | null;
  lastSeenAt: number | null;
  /** Lifetime page meter (SNMP, else the driver's). */
  pageCount: number | null;
  /** Toner, drums…: percent left, null when the device does not say. */
  supplies: { name: string; percent: number | null }[];
}

/** A tunnel relaying now. */
export interface TunnelView {
  id: string;
  jobId: string;
  /** `device:<id>` or `host:port`. */
  target: string;
  /** The device a job tunnel goes to; null for a raw host:port tunnel. */
  deviceId: string | null;
  bytesToDevice: number;
  bytesFromDevice: number;
  /** Both directions, bytes per second over the last few seconds. */
  rateBps: number;
  openedAt: number;
}

/**
 * Where a job stands at the gateway: running (a tunnel carries it), waiting (its tunnel
 * broke; the cloud may resume it), done, switched (the device fetches the rest directly),
 * failed, or interrupted (its last tunnel ended before it settled; known from the journal).
 */
export type JobOutcome = 'running' | 'waiting' | 'done' | 'switched' | 'failed' | 'interrupted';

/** A recent job on this gateway. */
export interface JobView {
  id: string;
  deviceId: string;
  /** Its legs so far, in order: one 'tunnel' per tunnel that carried it, 'direct' once switched. */
  route: ('tunnel' | 'direct')[];
  /** Document bytes the gateway took from tunnels. */
  bytes: number;
  /** The whole document (null when the cloud did not say). */
  size: number | null;
  /** bytes / size, 0…1; null when unknown. */
  progress: number | null;
  outcome: JobOutcome;
  /** Why it failed or was interrupted. */
  reason: string | null;
  pages: number | null;
  startedAt: number;
  settledAt: number | null;
}

/** A finished tunnel from the journal. */
export type JournalTunnel = StoredTunnelRecord;

/** A device's connection log line from the journal. */
export interface JournalDeviceLog {
  id: number;
  receivedAt: number;
  source: string;
  hostname: string | null;
  appName: string | null;
  /** Syslog severity, 0 emergency … 7 debug. */
  severity: number;
  jobId: string | null;
  message: string;
}

/** The newest records of the journal, for the log view. */
export interface JournalView {
  tunnels: JournalTunnel[];
  deviceLogs: JournalDeviceLog[];
}

/** A LAN device whose push connection the gateway proxies, as the page lists it. */
export interface ProxiedDeviceView {
  id: string;
  /** awake (connected), sleeping (it said so before leaving) or gone (vanished, or not seen since start). */
  state: ProxiedDeviceState;
  /** Since when the device is in `state`. */
  since: number;
  remoteAddress: string | null;
  software: string | null;
  /** The LAN keep-alive interval the gateway gives it. */
  keepaliveMs: number;
  /** Keep-alives it sent since start (answered by the gateway) and the shortest gap between two. */
  keepalives: number;
  shortestGapMs: number | null;
  /** Its last keep-alive while awake; else when it went to sleep or was found gone; null: not seen since start. */
  lastSeenAt: number | null;
  /** Pushes held for it now. */
  held: number;
  /** Pushes since start: delivered, answered "held", expired unread, refused (hold queue full). */
  pushes: { delivered: number; held: number; expired: number; refused: number };
  /** Bytes on the LAN both ways, and on its stream to the cloud both ways. */
  bytes: { lan: number; cloud: number };
  /** Its virtual connection to the cloud. */
  upstream: 'up' | 'opening' | 'down';
}

/** The LAN push proxy: where it listens, its totals, and each device. */
export interface PushProxyView {
  /** Null: not listening (starting, or the port could not be had). */
  listening: { host: string; port: number } | null;
  keepaliveMs: number;
  /** Connections refused since start (wrong token, unknown device, bad hello). */
  refused: number;
  held: { pushes: number; bytes: number };
  /** All devices' bytes, on the LAN and on their streams to the cloud. */
  bytes: { lan: number; cloud: number };
  devices: ProxiedDeviceView[];
}

/** Counts since the daemon started, for /metrics. */
export interface ActivityTotals {
  tunnels: TunnelTotals;
  jobs: JobTotals;
}

/** Where the devices, tunnels, jobs, journal and push proxy sections get their rows. */
export interface StatusProviders {
  devices(): DeviceView[];
  tunnels(): TunnelView[];
  jobs(): JobView[];
  journal(): JournalView;
  totals(): ActivityTotals;
  /** The LAN push proxy; null when `pushProxy` is not configured. */
  pushProxy(): PushProxyView | null;
}

/** Providers for a daemon that has no devices, tunnels, jobs or push proxy (tests of the page alone). */
export const NO_PROVIDERS: StatusProviders = {
  devices: () => [],
  tunnels: () => [],
  jobs: () => [],
  journal: () => ({ tunnels: [], deviceLogs: [] }),
  totals: () => ({
    tunnels: { opened: 0, bytesToDevice: 0, bytesFromDevice: 0 },
    jobs: { done: 0, switched: 0, failed: 0 },
  }),
  pushProxy: () => null,
};

/** What the page reads from the rest of the daemon; it owns none of it. */
export interface StatusSources {
  gatewayId: string;
  clientId: string;
  version: string;
  startedAt: number;
  /** The cloud's origin (no path, no credentials). */
  cloud: string;
  stateDir: string;
  link(): LinkStatus;
  power(): PowerState;
  /** The configured power modes. */
  powerModes: readonly string[];
  /** Whether the page may override the power mode (POST /api/power-override). */
  powerOverride: boolean;
  /** The MQTT line, when `mqtt` is configured. */
  mqtt(): { broker: string; connected: boolean } | null;
  pushesReceived(): { websocket: number; mqtt: number };
  /** The effective config, secrets already masked. */
  settings: unknown;
  providers: StatusProviders;
  /** What else runs in this process (the demo's cloud), or null: the process is the gateway's alone. */
  sharedProcess?: string | null;
}

/** Everything the page shows; also the body of GET /api/status. */
export interface StatusSnapshot {
  gateway: {
    id: string;
    clientId: string;
    version: string;
    startedAt: number;
    now: number;
    uptimeMs: number;
  };
  /** The overall verdict, for the page's banner. */
  health: HealthVerdict;
  cloud: { url: string; reachable: boolean; linesUp: number; probing: boolean; representative: boolean };
  lines: LineStatus[];
  mqtt: { broker: string; connected: boolean } | null;
  power: {
    mode: string;
    minIntervalMs: number;
    changeThresholdMs: number;
    source: string;
    overrideUntil: number | null;
    next: { at: number; mode: string } | null;
    timeZone: string;
    modes: readonly string[];
    canOverride: boolean;
  };
  keepalive: {
    advice: Advice | null;
    /** The advice in the words of docs/keepalive-learning.md (null: no advice yet). */
    words: AdviceInWords | null;
    effectiveMs: number | null;
    limitedByPolicy: boolean;
    /** Push lines that went down after being up, since start: real outages of a line. */
    drops: number;
    /** Probe lines the firewall cut while they idled on purpose: measurements, no outage. */
    probeDrops: number;
  };
  host: HostMetrics & {
    disk: { path: string; totalBytes: number; freeBytes: number } | null;
    /** What else runs in the gateway's process (the demo's cloud): `memory.rssBytes` is not the gateway's alone. */
    sharedProcess: string | null;
  };
  pushes: { websocket: number; mqtt: number };
  devices: DeviceView[];
  tunnels: TunnelView[];
  jobs: JobView[];
  journal: JournalView;
  pushProxy: PushProxyView | null;
  history: { points: IntervalPoint[]; drops: Drop[] };
  logs: LogEntry[];
  settings: unknown;
}

/** Sections a live patch may replace whole; history and logs are appended instead. */
export const PATCH_SECTIONS = [
  'gateway',
  'health',
  'cloud',
  'lines',
  'mqtt',
  'power',
  'keepalive',
  'host',
  'pushes',
  'devices',
  'tunnels',
  'jobs',
  'journal',
  'pushProxy',
] as const;

function disk(path: string): { path: string; totalBytes: number; freeBytes: number } | null {
  try {
    const s = statfsSync(path);
    return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return null;
  }
}

/** The sections of the page's state a live patch may replace. */
export type StatusSections = Pick<StatusSnapshot, (typeof PATCH_SECTIONS)[number]>;

/** Builds the page's state from the daemon's parts, the chart history and the log ring. */
export function buildSnapshot(
  sources: StatusSources,
  history: KeepaliveHistory,
  logs: LogRing,
  clock: Clock,
): StatusSnapshot {
  return {
    ...buildSections(sources, history, clock),
    history: history.since(0),
    logs: logs.since(0),
    settings: sources.settings,
  };
}

/** The replaceable sections alone: what a live patch compares, without the long lists. */
export function buildSections(
  sources: StatusSources,
  history: KeepaliveHistory,
  clock: Clock,
): StatusSections {
  const now = clock.now();
  const link = sources.link();
  const power = sources.power();
  const pushLines = link.lines.filter((l) => l.role === 'push');
  const words = link.advice ? adviceInWords(link.advice) : null;
  const effectiveMs =
    pushLines.find((l) => l.state === 'open')?.keepaliveMs ?? pushLines[0]?.keepaliveMs ?? null;
  const limitedByPolicy = pushLines.some((l) => l.limitedByPolicy);
  const mqtt = sources.mqtt();
  return {
    gateway: {
      id: sources.gatewayId,
      clientId: sources.clientId,
      version: sources.version,
      startedAt: sources.startedAt,
      now,
      uptimeMs: now - sources.startedAt,
    },
    health: healthVerdict({
      lines: link.lines,
      advice: link.advice,
      effectiveMs,
      limitedByPolicy,
      powerMode: power.mode.name,
      probing: link.probing,
      mqtt,
      adviceWarning: words?.warning ?? null,
    }),
    cloud: {
      url: sources.cloud,
      reachable: link.linesUp > 0,
      linesUp: link.linesUp,
      probing: link.probing,
      representative: link.representative,
    },
    lines: link.lines,
    mqtt,
    power: {
      mode: power.mode.name,
      minIntervalMs: power.mode.minIntervalMs,
      changeThresholdMs: power.mode.changeThresholdMs,
      source: power.decision.source,
      overrideUntil: power.decision.overrideUntilMs,
      next: power.next,
      timeZone: power.timeZone,
      modes: sources.powerModes,
      canOverride: sources.powerOverride,
    },
    keepalive: {
      advice: link.advice,
      words,
      effectiveMs,
      limitedByPolicy,
      drops: history.totalDrops,
      probeDrops: history.probeDrops,
    },
    host: { ...hostMetrics(), disk: disk(sources.stateDir), sharedProcess: sources.sharedProcess ?? null },
    pushes: sources.pushesReceived(),
    devices: sources.providers.devices(),
    tunnels: sources.providers.tunnels(),
    jobs: sources.providers.jobs(),
    journal: sources.providers.journal(),
    pushProxy: sources.providers.pushProxy(),
  };
}

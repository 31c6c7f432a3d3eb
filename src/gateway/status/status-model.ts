import { statfsSync } from 'node:fs';
import type { Clock } from '../../clock/clock.ts';
import type { Advice } from '../../protocol/messages.ts';
import { type HostMetrics, hostMetrics } from '../host/host-metrics.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';
import type { LineStatus } from '../link/push-line.ts';
import type { PowerState } from '../power/power-scheduler.ts';
import type { Drop, IntervalPoint, KeepaliveHistory } from './keepalive-history.ts';
import type { LogEntry, LogRing } from './log-ring.ts';

/** A LAN device as the page lists it (filled once the drivers are wired into the daemon). */
export interface DeviceView {
  id: string;
  name: string;
  driver: string;
  state: string;
  reasons: string[];
  lastSeenAt: number | null;
  pageCount: number | null;
  toner: { color: string; percent: number | null }[];
}

/** An open tunnel (filled once the tunnel endpoint reports its streams). */
export interface TunnelView {
  id: string;
  jobId: string | null;
  deviceId: string | null;
  bytesIn: number;
  bytesOut: number;
  rateBps: number;
  openedAt: number;
}

/** A recent job (filled once the job API lands). */
export interface JobView {
  id: string;
  deviceId: string | null;
  route: 'tunnel' | 'direct' | 'tunnel-then-direct';
  /** 0…1 while in flight, null when unknown. */
  progress: number | null;
  outcome: 'running' | 'done' | 'failed' | 'interrupted';
  updatedAt: number;
}

/** Where the devices, tunnels and jobs sections get their rows; empty lists until wired. */
export interface StatusProviders {
  devices(): DeviceView[];
  tunnels(): TunnelView[];
  jobs(): JobView[];
}

/** Providers for a daemon that has no devices, tunnels or jobs to report yet. */
export const NO_PROVIDERS: StatusProviders = { devices: () => [], tunnels: () => [], jobs: () => [] };

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
  /** The MQTT line, when `mqtt` is configured. */
  mqtt(): { broker: string; connected: boolean } | null;
  pushesReceived(): { websocket: number; mqtt: number };
  /** The effective config, secrets already masked. */
  settings: unknown;
  providers: StatusProviders;
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
  };
  keepalive: {
    advice: Advice | null;
    effectiveMs: number | null;
    limitedByPolicy: boolean;
    drops: number;
  };
  host: HostMetrics & { disk: { path: string; totalBytes: number; freeBytes: number } | null };
  pushes: { websocket: number; mqtt: number };
  devices: DeviceView[];
  tunnels: TunnelView[];
  jobs: JobView[];
  history: { points: IntervalPoint[]; drops: Drop[] };
  logs: LogEntry[];
  settings: unknown;
}

/** Sections a live patch may replace whole; history and logs are appended instead. */
export const PATCH_SECTIONS = [
  'gateway',
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
  return {
    gateway: {
      id: sources.gatewayId,
      clientId: sources.clientId,
      version: sources.version,
      startedAt: sources.startedAt,
      now,
      uptimeMs: now - sources.startedAt,
    },
    cloud: {
      url: sources.cloud,
      reachable: link.linesUp > 0,
      linesUp: link.linesUp,
      probing: link.probing,
      representative: link.representative,
    },
    lines: link.lines,
    mqtt: sources.mqtt(),
    power: {
      mode: power.mode.name,
      minIntervalMs: power.mode.minIntervalMs,
      changeThresholdMs: power.mode.changeThresholdMs,
      source: power.decision.source,
      overrideUntil: power.decision.overrideUntilMs,
      next: power.next,
      timeZone: power.timeZone,
    },
    keepalive: {
      advice: link.advice,
      effectiveMs:
        pushLines.find((l) => l.state === 'open')?.keepaliveMs ?? pushLines[0]?.keepaliveMs ?? null,
      limitedByPolicy: pushLines.some((l) => l.limitedByPolicy),
      drops: history.totalDrops,
    },
    host: { ...hostMetrics(), disk: disk(sources.stateDir) },
    pushes: sources.pushesReceived(),
    devices: sources.providers.devices(),
    tunnels: sources.providers.tunnels(),
    jobs: sources.providers.jobs(),
  };
}

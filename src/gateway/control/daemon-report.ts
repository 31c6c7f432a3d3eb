import type { Clock } from '../../clock/clock.ts';
import { type BuildInfo, buildInfo } from '../../version.ts';
import type { DeviceMonitor } from '../devices/device-monitor.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { LineSupervisor, LinkStatus } from '../link/line-supervisor.ts';
import type { PowerScheduler } from '../power/power-scheduler.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';

/** A running daemon as `mfp-gateway status` shows it (GET /v1/status on the control socket). */
export interface DaemonReport {
  gatewayId: string;
  build: BuildInfo;
  pid: number;
  startedAt: number;
  now: number;
  /** The cloud's origin, and the proxy on the way (password masked), if any. */
  cloud: string;
  proxy: string | null;
  link: LinkStatus;
  power: { mode: string; source: string; next: { at: number; mode: string } | null };
  devices: { id: string; driver: string; state: string; reasons: string[]; lastSeen: number | null }[];
  tunnels: { active: number; jobs: number };
  /** Where the status page listens; null when it is off or could not listen. */
  statusPage: string | null;
}

/** The daemon's parts the report reads (it owns none of them). */
export interface ReportSources {
  clock: Clock;
  gatewayId: string;
  cloud: string;
  proxy: string | null;
  link: LineSupervisor;
  power: PowerScheduler;
  deviceMonitor: DeviceMonitor;
  tunnels: TunnelEndpoint;
  jobs: JobTunnels;
  /** Where the status page listens (null: off, or it could not listen). */
  statusPage: string | null;
}

/** Builds the report function of a daemon started now. */
export function daemonReporter(sources: ReportSources): () => DaemonReport {
  const startedAt = sources.clock.now();
  return () => {
    const power = sources.power.state();
    return {
      gatewayId: sources.gatewayId,
      build: buildInfo(),
      pid: process.pid,
      startedAt,
      now: sources.clock.now(),
      cloud: sources.cloud,
      proxy: sources.proxy,
      link: sources.link.status(),
      power: { mode: power.mode.name, source: power.decision.source, next: power.next },
      devices: sources.deviceMonitor.snapshots().map((d) => ({
        id: d.id,
        driver: d.driver,
        state: d.status?.state ?? 'unknown',
        reasons: d.status?.reasons ?? [],
        lastSeen: d.lastSeen ?? null,
      })),
      tunnels: { active: sources.tunnels.activeCount, jobs: sources.jobs.activeJobs },
      statusPage: sources.statusPage,
    };
  };
}

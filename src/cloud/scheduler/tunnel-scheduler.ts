/**
 * Tunnel reduction (seed 001): when a gateway's tunnels are saturated and a job needs one,
 * move the lowest-priority job whose device can connect to the cloud by itself off its
 * tunnel onto a direct connection. Pure decisions, no I/O: the job layer carries them out.
 */

/** How a running job's data currently travels. */
export type JobRoute = 'tunnel' | 'switching' | 'direct';

/** A job that holds (or is leaving) a tunnel on the gateway. */
export interface RunningJob {
  jobId: string;
  /** Higher runs first; the lowest is switched first. */
  priority: number;
  /** The device can establish a connection to the cloud by itself. */
  directCapable: boolean;
  route: JobRoute;
  /** When the job started, ms; among equal priorities the newest is switched first. */
  startedAt: number;
}

/** A job waiting for a route. */
export interface PendingJob {
  jobId: string;
  priority: number;
  directCapable: boolean;
}

/** What the gateway reports of its load, and the limits the cloud keeps it under. */
export interface GatewayLoad {
  maxTunnels: number;
  /** 1-minute load per core as the gateway reports it; null when unknown. */
  cpuLoad: number | null;
  /** Above this, the gateway counts as saturated whatever its tunnel count; null: no limit. */
  cpuThreshold: number | null;
  /** Bytes per second currently relayed through the gateway's tunnels; null when unknown. */
  lineBytesPerSec: number | null;
  lineThresholdBytesPerSec: number | null;
}

/** The scheduler's answer for a pending job. */
export type Decision =
  | { kind: 'tunnel' }
  | { kind: 'switch'; victimJobId: string; reason: string }
  | { kind: 'wait'; reason: string };

/** Tunnels that still occupy the gateway: a switching job keeps its tunnel until it closes. */
export function tunnelsInUse(running: readonly RunningJob[]): number {
  return running.filter((j) => j.route !== 'direct').length;
}

/** Why the gateway counts as saturated, or null when it has room for one more tunnel. */
export function saturation(running: readonly RunningJob[], load: GatewayLoad): string | null {
  const inUse = tunnelsInUse(running);
  if (inUse >= load.maxTunnels) return `${inUse} of ${load.maxTunnels} tunnels in use`;
  if (load.cpuThreshold !== null && load.cpuLoad !== null && load.cpuLoad >= load.cpuThreshold) {
    return `gateway CPU load ${load.cpuLoad} at or above ${load.cpuThreshold}`;
  }
  if (
    load.lineThresholdBytesPerSec !== null &&
    load.lineBytesPerSec !== null &&
    load.lineBytesPerSec >= load.lineThresholdBytesPerSec
  ) {
    return `gateway line at ${load.lineBytesPerSec} B/s, at or above ${load.lineThresholdBytesPerSec} B/s`;
  }
  return null;
}

/**
 * The running job to move to a direct connection: among jobs on a tunnel whose device can
 * connect directly, the lowest priority; ties go to the newest (it has the least done).
 */
export function pickVictim(running: readonly RunningJob[]): RunningJob | null {
  let victim: RunningJob | null = null;
  for (const job of running) {
    if (job.route !== 'tunnel' || !job.directCapable) continue;
    if (
      !victim ||
      job.priority < victim.priority ||
      (job.priority === victim.priority && job.startedAt > victim.startedAt)
    ) {
      victim = job;
    }
  }
  return victim;
}

/**
 * Decides how a pending job may proceed: open a tunnel now; first switch a running job off
 * its tunnel (the pending job then waits for that tunnel to close, so the count never
 * exceeds the limit); or wait for a tunnel to free.
 */
export function decide(pending: PendingJob, running: readonly RunningJob[], load: GatewayLoad): Decision {
  const full = saturation(running, load);
  if (full === null) return { kind: 'tunnel' };
  if (running.some((j) => j.route === 'switching')) {
    return { kind: 'wait', reason: `${full}; a job is already switching to a direct connection` };
  }
  const candidates = pending.directCapable
    ? [...running, { ...pending, route: 'tunnel' as const, startedAt: Number.POSITIVE_INFINITY }]
    : running;
  const victim = pickVictim(candidates);
  if (!victim) return { kind: 'wait', reason: `${full}; no running job’s device can connect directly` };
  if (victim.jobId === pending.jobId) {
    return { kind: 'wait', reason: `${full}; this job has the lowest priority among direct-capable jobs` };
  }
  return { kind: 'switch', victimJobId: victim.jobId, reason: full };
}

/**
 * Tunnel reduction (seed 001): when a gateway's tunnels are at their limit, or it is busy (CPU,
 * slow line), and a job needs a tunnel, move the lowest-priority job whose device can connect to
 * the cloud by itself off its tunnel onto a direct connection; a new job whose device can, starts
 * direct. Pure decisions, no I/O: the job layer carries them out.
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
  /** The gateway's CPU usage over its last seconds (0..1), as it reported it lately; null when unknown or stale. */
  cpuUsage: number | null;
  /** At or above this CPU usage the gateway counts as saturated whatever its tunnel count; null: no limit. */
  cpuThreshold: number | null;
  /** The gateway's line speed as it measured it lately, bytes/s; null when unknown or stale. */
  lineBytesPerSec: number | null;
  /** At or below this line speed the gateway counts as saturated (a slow line); null: no limit. */
  lineThresholdBytesPerSec: number | null;
}

/** The scheduler's answer for a pending job. */
export type Decision =
  /** Open a tunnel now; with `andSwitch`, also move that running job off its tunnel (a busy gateway). */
  | { kind: 'tunnel'; andSwitch?: { victimJobId: string; reason: string } }
  /** The job's device connects to the cloud by itself at once; its tunnel only carries that command. */
  | { kind: 'direct'; reason: string }
  /** Move a running job off its tunnel first; the pending job takes the tunnel it frees. */
  | { kind: 'switch'; victimJobId: string; reason: string }
  | { kind: 'wait'; reason: string };

/** Tunnels that still occupy the gateway: a switching job keeps its tunnel until it closes. */
export function tunnelsInUse(running: readonly RunningJob[]): number {
  return running.filter((j) => j.route !== 'direct').length;
}

/** Why the tunnel table is full (seed 001's tunnel count at its limit), or null. */
export function tunnelsFull(running: readonly RunningJob[], load: GatewayLoad): string | null {
  const inUse = tunnelsInUse(running);
  return inUse >= load.maxTunnels ? `${inUse} of ${load.maxTunnels} tunnels in use` : null;
}

/** Why the gateway is busy (seed 001's CPU usage at or above, or line speed at or below, its threshold), or null. */
export function gatewayBusy(load: GatewayLoad): string | null {
  if (load.cpuThreshold !== null && load.cpuUsage !== null && load.cpuUsage >= load.cpuThreshold) {
    return `gateway CPU usage ${load.cpuUsage} at or above ${load.cpuThreshold}`;
  }
  if (
    load.lineThresholdBytesPerSec !== null &&
    load.lineBytesPerSec !== null &&
    load.lineBytesPerSec <= load.lineThresholdBytesPerSec
  ) {
    return `gateway line at ${load.lineBytesPerSec} B/s, at or below ${load.lineThresholdBytesPerSec} B/s`;
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
 * Decides how a pending job may proceed (seed 001, #53–#75). With room and an idle gateway: a
 * tunnel. Otherwise a job whose device can connect by itself starts on that connection at once
 * (#68–#74). One that needs a tunnel has the lowest-priority direct-capable running job
 * switched off its tunnel (#59–#66): at the tunnel limit it waits for the tunnel that frees (so
 * the count never exceeds the limit), or for any when no job can switch; on a gateway that is
 * only busy (CPU, slow line) it gets its tunnel at once, the switch taking load off the gateway.
 */
export function decide(pending: PendingJob, running: readonly RunningJob[], load: GatewayLoad): Decision {
  const full = tunnelsFull(running, load);
  const busy = full ?? gatewayBusy(load);
  if (busy === null) return { kind: 'tunnel' };
  if (pending.directCapable) return { kind: 'direct', reason: busy };
  const switching = running.some((j) => j.route === 'switching');
  const victim = switching ? null : pickVictim(running);
  if (full === null) {
    return victim
      ? { kind: 'tunnel', andSwitch: { victimJobId: victim.jobId, reason: busy } }
      : { kind: 'tunnel' };
  }
  if (switching)
    return { kind: 'wait', reason: `${full}; a job is already switching to a direct connection` };
  if (!victim) return { kind: 'wait', reason: `${full}; no running job’s device can connect directly` };
  return { kind: 'switch', victimJobId: victim.jobId, reason: full };
}

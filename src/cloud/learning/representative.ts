import { REPRESENTATIVE_CPU_TOLERANCE, REPRESENTATIVE_UPTIME_TOLERANCE_MS } from './learning-config.ts';

/** A gateway of one site that could probe on the site's behalf. */
export interface Candidate {
  gatewayId: string;
  uptimeMs: number;
  /** Recent CPU load, 0..1. */
  cpuLoad: number;
}

/** How close two candidates must be to count as equal on each criterion. */
export interface ElectionTolerance {
  uptimeMs: number;
  cpuLoad: number;
}

/**
 * The seed's representative: longest uptime, then lowest CPU, then gatewayId, so every cloud
 * node elects the same box. Differences within the tolerance count as equal, so two boxes
 * booted together (or with jittering load) do not hand the probe line back and forth.
 */
export function electRepresentative(
  candidates: readonly Candidate[],
  tolerance: ElectionTolerance = {
    uptimeMs: REPRESENTATIVE_UPTIME_TOLERANCE_MS,
    cpuLoad: REPRESENTATIVE_CPU_TOLERANCE,
  },
): string | null {
  // Loops, not spreads and filters: this runs at every keep-alive.
  let longestUptime = Number.NEGATIVE_INFINITY;
  for (const c of candidates) if (c.uptimeMs > longestUptime) longestUptime = c.uptimeMs;
  const senior = (c: Candidate) => c.uptimeMs >= longestUptime - tolerance.uptimeMs;
  let lowestLoad = Number.POSITIVE_INFINITY;
  for (const c of candidates) if (senior(c) && c.cpuLoad < lowestLoad) lowestLoad = c.cpuLoad;
  let chosen: string | null = null;
  for (const c of candidates) {
    if (!senior(c) || c.cpuLoad > lowestLoad + tolerance.cpuLoad) continue;
    if (chosen === null || c.gatewayId < chosen) chosen = c.gatewayId;
  }
  return chosen;
}

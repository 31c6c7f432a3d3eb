import {
  type LearningConfig,
  LIFETIME_MAX_IDLE_FRACTION,
  LIFETIME_MIN_SPAN_FRACTION,
} from './learning-config.ts';
import type { StatusRecord } from './status-record.ts';

/**
 * Looks for a middlebox that kills connections at a fixed age whatever the traffic, in
 * chronological evidence (policy-limited failures already removed). Returns a conservative
 * estimate of the cap (no later than the deaths show) or null.
 *
 * A death counts when idleness cannot explain it — its idle gap is no longer than a gap that
 * succeeded — and when it pins the age: the line carried traffic late in its life, so it died
 * between age − idle and age. At least lifetimeMinDeaths such deaths must agree on one age of
 * death within the tolerance, recur over time (not one mass death), and no line may have
 * succeeded later at an older age.
 */
export function detectLifetimeCap(evidence: readonly StatusRecord[], config: LearningConfig): number | null {
  let longestGoodGap = -1;
  for (const r of evidence) if (r.status === 'OK') longestGoodGap = Math.max(longestGoodGap, r.idleBeforeMs);
  if (longestGoodGap < 0) return null;
  const maxIdleFraction = config.lifetimeMaxIdleFraction ?? LIFETIME_MAX_IDLE_FRACTION;
  const deaths = evidence.filter(
    (r) =>
      r.status === 'NG' &&
      r.connectionAgeMs > 0 &&
      r.idleBeforeMs <= longestGoodGap &&
      r.idleBeforeMs <= r.connectionAgeMs * maxIdleFraction,
  );
  const tolerance = 1 + config.lifetimeAgeToleranceFraction;
  let best: { capMs: number; deaths: number } | null = null;
  for (const earliest of deaths) {
    // Deaths that can share an age of death with this one being the earliest "found dead".
    const members = deaths.filter(
      (d) =>
        d.connectionAgeMs >= earliest.connectionAgeMs &&
        d.connectionAgeMs - d.idleBeforeMs <= earliest.connectionAgeMs * tolerance,
    );
    if (members.length < config.lifetimeMinDeaths || (best && members.length <= best.deaths)) continue;
    const capMs = capOfCluster(members, earliest.connectionAgeMs, evidence, config);
    if (capMs !== null) best = { capMs, deaths: members.length };
  }
  return best?.capMs ?? null;
}

/** The cap a cluster of deaths points at, or null when the cluster is not a cap. */
function capOfCluster(
  members: readonly StatusRecord[],
  youngest: number,
  evidence: readonly StatusRecord[],
  config: LearningConfig,
): number | null {
  const tolerance = 1 + config.lifetimeAgeToleranceFraction;
  // Each line was alive at (age − idle) and found dead at age: the cap lies after the latest
  // "still alive" and no later than the earliest "found dead".
  let lastAlive = 0;
  let firstDeath = Number.POSITIVE_INFINITY;
  let lastDeath = Number.NEGATIVE_INFINITY;
  for (const m of members) {
    lastAlive = Math.max(lastAlive, m.connectionAgeMs - m.idleBeforeMs);
    firstDeath = Math.min(firstDeath, m.time);
    lastDeath = Math.max(lastDeath, m.time);
  }
  const spanFraction = config.lifetimeMinSpanFraction ?? LIFETIME_MIN_SPAN_FRACTION;
  if (lastDeath - firstDeath < youngest * spanFraction) return null;
  for (const r of evidence) {
    if (r.status === 'OK' && r.time > firstDeath && r.connectionAgeMs >= youngest * tolerance) return null;
  }
  return Math.round(Math.min(lastAlive, youngest));
}

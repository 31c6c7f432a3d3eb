import { type LearningConfig, LIFETIME_MIN_SPAN_FRACTION } from './learning-config.ts';

/** What the cap detector reads of a line's death (evidence.ts's Death has these). */
export interface AgedDeath {
  /** When the loss was observed, ms since epoch. */
  at: number;
  /** How long the line had been idle then, ms. */
  gapMs: number;
  /** How old the connection was then, ms. */
  ageMs: number;
  /** Oldest connection age of a success after this death, ms. */
  okAgeAfterMs: number;
}

/** A detected cap and the newest death that supports it (the cap leaves the window with it). */
export interface DetectedCap {
  capMs: number;
  newestDeathAt: number;
  /** The youngest age at death of the cluster: a line succeeding well past it refutes the cap, ms. */
  youngestDeathAgeMs: number;
}

/**
 * Looks for a middlebox that kills connections at a fixed age whatever the traffic, among the
 * remembered deaths that idleness cannot explain (their gap is no longer than one that
 * succeeded) and that pin their age (the line carried traffic late in its life, so it died
 * between age − idle and age). At least lifetimeMinDeaths of them must agree on one age of
 * death within the tolerance, recur over time (not one mass death), and no line may have
 * succeeded after them at an older age. Returns a conservative estimate (no later than the
 * deaths show) or null.
 */
export function detectLifetimeCap(
  candidates: readonly AgedDeath[],
  config: LearningConfig,
): DetectedCap | null {
  const tolerance = 1 + config.lifetimeAgeToleranceFraction;
  let best: { cap: DetectedCap; deaths: number } | null = null;
  for (const earliest of candidates) {
    // Deaths that can share an age of death with this one being the earliest "found dead".
    const members = candidates.filter(
      (d) => d.ageMs >= earliest.ageMs && d.ageMs - d.gapMs <= earliest.ageMs * tolerance,
    );
    if (members.length < config.lifetimeMinDeaths || (best && members.length <= best.deaths)) continue;
    const cap = capOfCluster(members, earliest.ageMs, config);
    if (cap !== null) best = { cap, deaths: members.length };
  }
  return best?.cap ?? null;
}

/** The cap a cluster of deaths points at, or null when the cluster is not a cap. */
function capOfCluster(
  members: readonly AgedDeath[],
  youngest: number,
  config: LearningConfig,
): DetectedCap | null {
  const tolerance = 1 + config.lifetimeAgeToleranceFraction;
  // Each line was alive at (age − idle) and found dead at age: the cap lies after the latest
  // "still alive" and no later than the earliest "found dead".
  let lastAlive = 0;
  let first = members[0] as AgedDeath;
  let lastDeath = Number.NEGATIVE_INFINITY;
  for (const m of members) {
    lastAlive = Math.max(lastAlive, m.ageMs - m.gapMs);
    if (m.at < first.at) first = m;
    lastDeath = Math.max(lastDeath, m.at);
  }
  const spanFraction = config.lifetimeMinSpanFraction ?? LIFETIME_MIN_SPAN_FRACTION;
  if (lastDeath - first.at < youngest * spanFraction) return null;
  if (first.okAgeAfterMs >= youngest * tolerance) return null;
  return {
    capMs: Math.round(Math.min(lastAlive, youngest)),
    newestDeathAt: lastDeath,
    youngestDeathAgeMs: youngest,
  };
}

import { LENIENCY_CONFIRMATIONS, type LearningConfig } from './learning-config.ts';
import { detectLifetimeCap } from './lifetime-cap.ts';
import type { StatusRecord } from './status-record.ts';

/** What the recent log says about the middlebox in front of one gateway (or one site). */
export interface Bounds {
  /** L: longest idle gap after which an exchange still succeeded (not contradicted since), ms. */
  lowerMs: number | null;
  /** U: shortest idle gap after which an exchange failed for idleness (not contradicted since), ms. */
  upperMs: number | null;
  /** Detected connection lifetime cap (conservative estimate), ms. */
  lifetimeCapMs: number | null;
  /** The line role of the record that set L. */
  lowerFrom: 'push' | 'probe' | null;
}

/** The records a decision may look at: inside the window, at most the newest maxRecords, oldest first. */
export function recentRecords(
  records: readonly StatusRecord[],
  now: number,
  config: LearningConfig,
): StatusRecord[] {
  const from = now - config.windowMs;
  const inWindow = records.filter((r) => r.time >= from);
  if (!isChronological(inWindow)) inWindow.sort((a, b) => a.time - b.time || a.id - b.id);
  return inWindow.length > config.maxRecords ? inWindow.slice(-config.maxRecords) : inWindow;
}

/**
 * The seed's "recomputed from the recent log": L and U from the records in the window, after
 * dropping what says nothing about idleness (policy-limited failures, deaths a lifetime cap
 * explains — own or, when given, the site's — failures at gaps we would never advise) and
 * what newer evidence contradicts. L < U always.
 */
export function deriveBounds(
  records: readonly StatusRecord[],
  now: number,
  config: LearningConfig,
  knownLifetimeCapMs: number | null = null,
): Bounds {
  const evidence = recentRecords(records, now, config).filter((r) => r.status === 'OK' || !r.policyLimited);
  // A cap the site already knows explains our deaths too, before we have seen enough of them.
  const lifetimeCapMs = detectLifetimeCap(evidence, config) ?? knownLifetimeCapMs;
  const idleEvidence = evidence.filter((r) => r.status === 'OK' || isIdleFailure(r, lifetimeCapMs, config));
  return { ...freshBounds(idleEvidence), lifetimeCapMs };
}

/** Whether a failure may bound the idle timeout from above. */
function isIdleFailure(r: StatusRecord, lifetimeCapMs: number | null, config: LearningConfig): boolean {
  // A failure after a gap shorter than any advice we would give is something else (a reset
  // under traffic, a server restart); taken as idle evidence it would wipe all history.
  if (r.idleBeforeMs < config.minIntervalMs) return false;
  if (lifetimeCapMs === null) return true;
  return r.connectionAgeMs < lifetimeCapMs * (1 - config.lifetimeAgeToleranceFraction);
}

/**
 * Conflicts are settled by recency, asymmetrically. A failure at gap g contradicts older
 * successes at gaps ≥ g: the middlebox got stricter, and safety comes first, so every older
 * success is stale at once (a success just below g from before a tightening is no safer than
 * one above it). A success past the shortest failing gap is believed only when
 * LENIENCY_CONFIRMATIONS of them arrive with no failure in between: then the middlebox got
 * more lenient and every older failure is stale. Fewer are noise of a coarse timer. L is the
 * longest fresh success below U, so L < U holds.
 */
function freshBounds(evidence: readonly StatusRecord[]): Omit<Bounds, 'lifetimeCapMs'> {
  let longestOlderSuccess = Number.NEGATIVE_INFINITY;
  let shortestFreshFailure = Number.POSITIVE_INFINITY;
  let successesFrom = 0;
  let failuresFrom = 0;
  let confirmations = 0;
  evidence.forEach((r, i) => {
    if (r.status === 'OK') {
      if (r.idleBeforeMs >= shortestFreshFailure && ++confirmations >= LENIENCY_CONFIRMATIONS) {
        failuresFrom = i + 1;
        shortestFreshFailure = Number.POSITIVE_INFINITY;
        confirmations = 0;
      }
      longestOlderSuccess = Math.max(longestOlderSuccess, r.idleBeforeMs);
    } else {
      if (r.idleBeforeMs <= longestOlderSuccess) {
        successesFrom = i + 1;
        longestOlderSuccess = Number.NEGATIVE_INFINITY;
      }
      shortestFreshFailure = Math.min(shortestFreshFailure, r.idleBeforeMs);
      confirmations = 0;
    }
  });
  let upperMs: number | null = null;
  for (let i = failuresFrom; i < evidence.length; i++) {
    const r = evidence[i] as StatusRecord;
    if (r.status === 'NG' && (upperMs === null || r.idleBeforeMs < upperMs)) upperMs = r.idleBeforeMs;
  }
  let lower: StatusRecord | null = null;
  for (let i = successesFrom; i < evidence.length; i++) {
    const r = evidence[i] as StatusRecord;
    if (r.status !== 'OK' || (upperMs !== null && r.idleBeforeMs >= upperMs)) continue;
    if (lower === null || r.idleBeforeMs > lower.idleBeforeMs) lower = r;
  }
  return { lowerMs: lower?.idleBeforeMs ?? null, upperMs, lowerFrom: lower?.role ?? null };
}

function isChronological(records: readonly StatusRecord[]): boolean {
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1] as StatusRecord;
    const b = records[i] as StatusRecord;
    if (b.time < a.time || (b.time === a.time && b.id < a.id)) return false;
  }
  return true;
}

import type { KeepaliveAdvice } from './advice.ts';
import { isConverged } from './convergence.ts';
import { type Bounds, deriveBounds } from './evidence.ts';
import type { LearningConfig } from './learning-config.ts';
import type { StatusRecord } from './status-record.ts';

/** What the decision for one gateway looks at. */
export interface AdviceInput {
  /** This gateway's own log (push and probe lines). */
  own: readonly StatusRecord[];
  /** The logs of the other gateways of the same site (same domain and egress address). */
  domainPeers: ReadonlyArray<readonly StatusRecord[]>;
  now: number;
  config: LearningConfig;
}

/** Own bounds combined with the site's, remembering whether L came from a peer. */
export interface DecidedBounds extends Bounds {
  lowerFromDomain: boolean;
}

/** The seed's interval decision: the advised keep-alive interval and the evidence behind it. */
export function decideAdvice(input: AdviceInput): KeepaliveAdvice {
  return adviceFromBounds(decideBounds(input), input.config);
}

/**
 * Advice from already decided bounds: L × (1 − margin), but never below the default unless a
 * failure (U) says the default is too long; the result is clamped to [min, max].
 */
export function adviceFromBounds(bounds: DecidedBounds, config: LearningConfig): KeepaliveAdvice {
  const { lowerMs, upperMs, lifetimeCapMs } = bounds;
  const keep = 1 - config.marginFraction;
  // The default is believed safe until a failure below it says otherwise; a short success
  // (a push right after connecting) must not drag the advice under it.
  const fallbackMs =
    upperMs === null ? config.defaultIntervalMs : Math.min(config.defaultIntervalMs, upperMs * keep);
  let intervalMs = fallbackMs;
  let source: KeepaliveAdvice['source'] = 'default';
  if (lowerMs !== null && lowerMs * keep >= fallbackMs) {
    intervalMs = lowerMs * keep;
    source = bounds.lowerFromDomain ? 'domain' : bounds.lowerFrom === 'probe' ? 'probe' : 'history';
  }
  intervalMs = Math.floor(Math.min(config.maxIntervalMs, Math.max(config.minIntervalMs, intervalMs)));
  return {
    intervalMs,
    source,
    mcvtMs: lowerMs,
    lowerBoundMs: lowerMs,
    upperBoundMs: upperMs,
    // A cap is not a reason to keep alive more often (traffic cannot save a line from it);
    // the gateway replaces lines before it instead.
    lifetimeCapMs,
    reconnectBeforeAgeMs:
      lifetimeCapMs === null ? null : Math.floor(lifetimeCapMs * config.reconnectBeforeCapFraction),
    converged: isConverged(bounds, config),
  };
}

/**
 * Own bounds, completed by the site's where they do not contradict them: a peer's success
 * raises L only below our own shortest failure, a peer's failure lowers U only above our own
 * longest success. Own evidence wins because only it is certainly about our own path.
 */
export function decideBounds(input: AdviceInput): DecidedBounds {
  const { now, config } = input;
  const alone = deriveBounds(input.own, now, config);
  const site = domainBounds(input.domainPeers, now, config, alone.lifetimeCapMs);
  const siteCap = site?.lifetimeCapMs ?? null;
  const own =
    alone.lifetimeCapMs === null && siteCap !== null ? deriveBounds(input.own, now, config, siteCap) : alone;
  const decided: DecidedBounds = { ...own, lowerFromDomain: false };
  if (site === null) return decided;
  if (site.upperMs !== null && (own.lowerMs === null || site.upperMs > own.lowerMs)) {
    decided.upperMs = own.upperMs === null ? site.upperMs : Math.min(own.upperMs, site.upperMs);
  }
  if (
    site.lowerMs !== null &&
    (own.lowerMs === null || site.lowerMs > own.lowerMs) &&
    (decided.upperMs === null || site.lowerMs < decided.upperMs)
  ) {
    decided.lowerMs = site.lowerMs;
    decided.lowerFrom = site.lowerFrom;
    decided.lowerFromDomain = true;
  }
  return decided;
}

/**
 * What the other gateways of the site know together (the seed's identical domain), or null when
 * none knows anything or they disagree — then they are not behind one middlebox after all.
 * A lifetime cap that one of them (or the caller: knownLifetimeCapMs) has proven explains the
 * others' early deaths as well.
 */
export function domainBounds(
  peers: ReadonlyArray<readonly StatusRecord[]>,
  now: number,
  config: LearningConfig,
  knownLifetimeCapMs: number | null = null,
): Bounds | null {
  let derived = peers.map((records) => deriveBounds(records, now, config));
  const caps = derived.map((b) => b.lifetimeCapMs).filter((cap) => cap !== null);
  if (knownLifetimeCapMs !== null) caps.push(knownLifetimeCapMs);
  if (caps.length > 0 && derived.some((b) => b.lifetimeCapMs === null)) {
    const shortestCap = Math.min(...caps);
    derived = derived.map((b, i) =>
      b.lifetimeCapMs === null
        ? deriveBounds(peers[i] as readonly StatusRecord[], now, config, shortestCap)
        : b,
    );
  }
  const known = derived.filter((b) => b.lowerMs !== null || b.upperMs !== null || b.lifetimeCapMs !== null);
  if (known.length === 0 || !peersAgree(known, config)) return null;
  let upperMs: number | null = null;
  let lifetimeCapMs: number | null = null;
  for (const b of known) {
    if (b.upperMs !== null && (upperMs === null || b.upperMs < upperMs)) upperMs = b.upperMs;
    if (b.lifetimeCapMs !== null && (lifetimeCapMs === null || b.lifetimeCapMs < lifetimeCapMs)) {
      lifetimeCapMs = b.lifetimeCapMs;
    }
  }
  let lower: Bounds | null = null;
  for (const b of known) {
    if (b.lowerMs === null || (upperMs !== null && b.lowerMs >= upperMs)) continue;
    if (lower === null || b.lowerMs > (lower.lowerMs as number)) lower = b;
  }
  return { lowerMs: lower?.lowerMs ?? null, upperMs, lifetimeCapMs, lowerFrom: lower?.lowerFrom ?? null };
}

/**
 * Peers agree when their bounds are mutually consistent within the agreement fraction: no
 * peer's good gap beyond another's failing gap by more than it, and any caps within it.
 */
export function peersAgree(bounds: readonly Bounds[], config: LearningConfig): boolean {
  const slack = 1 + config.domainAgreementFraction;
  let longestGood = Number.NEGATIVE_INFINITY;
  let shortestBad = Number.POSITIVE_INFINITY;
  let shortestCap = Number.POSITIVE_INFINITY;
  let longestCap = Number.NEGATIVE_INFINITY;
  for (const b of bounds) {
    if (b.lowerMs !== null) longestGood = Math.max(longestGood, b.lowerMs);
    if (b.upperMs !== null) shortestBad = Math.min(shortestBad, b.upperMs);
    if (b.lifetimeCapMs !== null) {
      shortestCap = Math.min(shortestCap, b.lifetimeCapMs);
      longestCap = Math.max(longestCap, b.lifetimeCapMs);
    }
  }
  if (longestGood > shortestBad * slack) return false;
  return longestCap <= shortestCap * slack;
}

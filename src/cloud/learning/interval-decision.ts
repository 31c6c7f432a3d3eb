import type { KeepaliveAdvice } from './advice.ts';
import { isConverged } from './convergence.ts';
import type { Bounds } from './evidence.ts';
import { FIRST_REACTION_FRACTION, type LearningConfig } from './learning-config.ts';

/** What the decision for one gateway looks at. */
export interface AdviceInput {
  /** This gateway's own bounds (push and probe lines). */
  own: Bounds;
  /** The bounds of the other gateways of the same site (same domain and egress address). */
  peers: readonly Bounds[];
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
 * Advice from decided bounds (docs/keepalive-learning.md, "Where the advice comes from"):
 * - L known and L − margin at least the default, or the default contradicted by a failure
 *   (U − margin below it): L − margin ("history", "probe" or "domain", after where L came from);
 * - else, the default while no failure contradicts it ("default");
 * - else (a failure below the default, nothing good known): half the failing gap, so the lines
 *   live while the probe lines narrow it down ("history").
 * A short success (a push right after connecting) does not drag the advice under a default no
 * failure contradicts. The result is clamped to [min, max].
 */
export function adviceFromBounds(bounds: DecidedBounds, config: LearningConfig): KeepaliveAdvice {
  const { lowerMs, upperMs, lifetimeCapMs } = bounds;
  const keep = 1 - config.marginFraction;
  const defaultSafe = upperMs === null || config.defaultIntervalMs <= upperMs * keep;
  const fromLower = lowerMs === null ? null : lowerMs * keep;
  const lowerSource: KeepaliveAdvice['source'] = bounds.lowerFromDomain
    ? 'domain'
    : bounds.lowerFrom === 'probe'
      ? 'probe'
      : 'history';
  const floorMs = defaultSafe ? config.defaultIntervalMs : (upperMs as number) * FIRST_REACTION_FRACTION;
  let intervalMs: number;
  let source: KeepaliveAdvice['source'];
  let basis: KeepaliveAdvice['basis'];
  if (fromLower !== null && fromLower >= floorMs) {
    intervalMs = fromLower;
    source = lowerSource;
    basis = 'longest-good-gap';
  } else if (defaultSafe) {
    intervalMs = config.defaultIntervalMs;
    source = 'default';
    basis = 'default';
  } else {
    intervalMs = floorMs;
    source = 'history';
    basis = 'half-failing-gap';
  }
  intervalMs = Math.floor(Math.min(config.maxIntervalMs, Math.max(config.minIntervalMs, intervalMs)));
  return {
    intervalMs,
    source,
    basis,
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
  const { own, config } = input;
  const decided: DecidedBounds = { ...own, lowerFromDomain: false };
  const site = domainBounds(input.peers, config, own);
  if (site === null) return decided;
  if (decided.lifetimeCapMs === null) decided.lifetimeCapMs = site.lifetimeCapMs;
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

/** True when the bounds say anything at all. */
export function knowsSomething(b: Bounds): boolean {
  return b.lowerMs !== null || b.upperMs !== null || b.lifetimeCapMs !== null;
}

/**
 * What the other gateways of the site know together (the seed's identical domain), or null when
 * fewer than domainMinAgreeing gateways know something (the asking gateway counts when it knows
 * something itself) or they disagree — then they are not behind one middlebox after all. A
 * single peer is not enough by default: one box on another path (a second uplink, a
 * misconfigured proxy) must not set the advice of a whole site.
 */
export function domainBounds(peers: readonly Bounds[], config: LearningConfig, own?: Bounds): Bounds | null {
  const known = peers.filter(knowsSomething);
  const voters = own && knowsSomething(own) ? [...known, own] : known;
  if (known.length === 0 || voters.length < config.domainMinAgreeing || !peersAgree(voters, config))
    return null;
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

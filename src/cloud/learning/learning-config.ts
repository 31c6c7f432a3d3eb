/**
 * Every tunable of the cloud's keep-alive learning, in one place (think Mars'
 * smart_heartbeat.cc): the constants say what each default is and why, the interface says
 * what each knob means. Durations are ms, fractions are 0..1.
 */

import {
  DEFAULT_INTERVAL_MS,
  DOMAIN_MIN_AGREEING,
  EVIDENCE_FLOOR_MS,
  MARGIN_FRACTION,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  PROBE_TOLERANCE_FRACTION,
  WINDOW_MS,
} from '../../config/learning-defaults.ts';

// The defaults the cloud's config schema also shows live in config/ (a lower layer).
export {
  DEFAULT_INTERVAL_MS,
  DOMAIN_MIN_AGREEING,
  EVIDENCE_FLOOR_MS,
  MARGIN_FRACTION,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  PROBE_TOLERANCE_FRACTION,
  WINDOW_MS,
};

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;

/** The window is remembered in this many slices: each keeps its longest good gap and when it was seen. */
export const EVIDENCE_WINDOW_SLICES = 7;
/** Deaths remembered one by one (so later evidence can still explain them); older ones are settled. */
export const EVIDENCE_DEATH_MEMORY = 24;
/** Sessions whose death is remembered, so a death reported again (each reconnecting line's hello) counts once. */
export const EVIDENCE_SESSION_MEMORY = 32;
/**
 * Lines of one gateway whose losses were seen within this of each other, after idle gaps that
 * differ by more than this, died of an outage (a proxy restart), not of idleness.
 */
export const OUTAGE_WINDOW_MS = 1_000;
/**
 * Lines dying together in phase, at a gap shorter than L, are taken for an outage only once:
 * a death at about the same gap (within this share of it, or OUTAGE_WINDOW_MS) before them
 * says a middlebox kills lines at that gap, and the repeat is a timeout.
 */
export const OUTAGE_REPEAT_FRACTION = 0.1;
/**
 * With a failure below the default and no success known yet, advise this share of the failing
 * gap: the failure only says the timeout is shorter, and halving keeps the lines alive while
 * the probe lines find it, where creeping down by the margin killed a line per step.
 */
export const FIRST_REACTION_FRACTION = 0.5;
/**
 * Without an upper bound the probe gaps grow ×1.4 per rung (35 s reaches 2 h 4 min in 16 rungs,
 * eight at a time): a fine ladder finds the first failing gap close above the timeout.
 */
export const PROBE_GROWTH_FACTOR = 1.4;
/**
 * Probe lines the representative keeps while learning. Idle lines cost nothing on the wire, so
 * several gaps are tested at once: eight lines climb the ladder eight rungs at a time and narrow
 * a factor-1.4 bracket to the 5 % tolerance in one or two rounds (docs/keepalive-learning.md,
 * "Probing"). Over 23 timeouts from 30 s to 2 h 4 min, silent or reset, the bench model
 * converges within 2.9 × T (below the default, from 8 s, within 4.4 × T); four lines at ×1.6
 * needed up to 4 × T.
 */
export const PROBE_LINES = 8;
/**
 * A probe unanswered for PROBE_OVERDUE_RTT_FACTOR × the slowest answer its gateway's probe
 * lines gave, and at least PROBE_OVERDUE_FLOOR_MS, is overdue (probe-overdue.ts): the lines idle
 * as long are reopened at once, not after the answer wait. Behind a silent 7 s firewall that
 * starts the narrowing 2 s sooner (convergence 22.3 s → 20.3 s, 3.2 → 2.9 × T).
 */
export const PROBE_OVERDUE_RTT_FACTOR = 4;
export const PROBE_OVERDUE_FLOOR_MS = 1_000;
/**
 * Successes past a failing gap needed before the failure is believed outdated (the middlebox
 * got more lenient). One is not enough: middleboxes with coarse timers (Squid checks its
 * read_timeout once a second) cut a gap one time and let it pass the next, and a single lucky
 * success must not erase the failures that keep the advice safe.
 */
export const LENIENCY_CONFIRMATIONS = 3;
/** Deaths at one age needed before blaming a lifetime cap rather than idleness. */
export const LIFETIME_MIN_DEATHS = 3;
/** Connection ages at death "agree" when the oldest is within 10 % of the youngest. */
export const LIFETIME_AGE_TOLERANCE_FRACTION = 0.1;
/**
 * A death pins its age only when the line carried traffic late in its life: its idle gap is at
 * most this share of its age. A line idle since it opened could have died of idleness or age.
 */
export const LIFETIME_MAX_IDLE_FRACTION = 0.25;
/**
 * A cap repeats across connection generations: the deaths must be spread over at least this
 * share of the cap. All lines dying together at once is a middlebox restart or new rule, not a cap.
 */
export const LIFETIME_MIN_SPAN_FRACTION = 0.5;
/** Peers of one site agree when no peer's good gap exceeds another's failing gap by more than 10 %. */
export const DOMAIN_AGREEMENT_FRACTION = 0.1;
/** With a lifetime cap, replace each line at 90 % of it (make-before-break). */
export const RECONNECT_BEFORE_CAP_FRACTION = 0.9;
/** Two boxes whose uptimes differ by less than this count as equally senior, so they do not flap. */
export const REPRESENTATIVE_UPTIME_TOLERANCE_MS = 10 * MINUTE_MS;
/** CPU loads (0..1) closer than this count as equal: load jitter must not move the representative. */
export const REPRESENTATIVE_CPU_TOLERANCE = 0.05;

/** The knobs of the interval decision, the probe planner and lifetime-cap detection. */
export interface LearningConfig {
  /** Advised interval while no good gap is known, ms. */
  defaultIntervalMs: number;
  /** Floor of any advice, ms. */
  minIntervalMs: number;
  /** Ceiling of any advice, ms; probing stops once advice would reach it. */
  maxIntervalMs: number;
  /** Safety margin: advice = longest good gap × (1 − marginFraction). */
  marginFraction: number;
  /** Only evidence at most this old counts, ms. */
  windowMs: number;
  /** Idle gaps shorter than this are no evidence either way, ms. */
  evidenceFloorMs: number;
  /** Converged when L ≥ U × (1 − probeToleranceFraction). */
  probeToleranceFraction: number;
  /** First probe gap when nothing is known (else growth × default), ms. */
  probeStartGapMs?: number;
  /** Factor by which the probe gap grows while no idle failure is known (default PROBE_GROWTH_FACTOR). */
  probeGrowthFactor?: number;
  /** Deaths at an agreeing age needed to declare a lifetime cap. */
  lifetimeMinDeaths: number;
  /** Relative spread of death ages that still counts as one age. */
  lifetimeAgeToleranceFraction: number;
  /** Max idle gap / age of a death that may count towards a cap (default LIFETIME_MAX_IDLE_FRACTION). */
  lifetimeMaxIdleFraction?: number;
  /** Min spread of death times / cap (default LIFETIME_MIN_SPAN_FRACTION). */
  lifetimeMinSpanFraction?: number;
  /** Relative slack with which peers' bounds must be mutually consistent to be shared. */
  domainAgreementFraction: number;
  /** Gateways of a site that must know something and agree before the site's value is shared. */
  domainMinAgreeing: number;
  /** Replace lines at cap × this fraction. */
  reconnectBeforeCapFraction: number;
}

/** The defaults above, as a config. */
export const DEFAULT_LEARNING_CONFIG: LearningConfig = {
  defaultIntervalMs: DEFAULT_INTERVAL_MS,
  minIntervalMs: MIN_INTERVAL_MS,
  maxIntervalMs: MAX_INTERVAL_MS,
  marginFraction: MARGIN_FRACTION,
  windowMs: WINDOW_MS,
  evidenceFloorMs: EVIDENCE_FLOOR_MS,
  probeToleranceFraction: PROBE_TOLERANCE_FRACTION,
  probeGrowthFactor: PROBE_GROWTH_FACTOR,
  lifetimeMinDeaths: LIFETIME_MIN_DEATHS,
  lifetimeAgeToleranceFraction: LIFETIME_AGE_TOLERANCE_FRACTION,
  lifetimeMaxIdleFraction: LIFETIME_MAX_IDLE_FRACTION,
  lifetimeMinSpanFraction: LIFETIME_MIN_SPAN_FRACTION,
  domainAgreementFraction: DOMAIN_AGREEMENT_FRACTION,
  domainMinAgreeing: DOMAIN_MIN_AGREEING,
  reconnectBeforeCapFraction: RECONNECT_BEFORE_CAP_FRACTION,
};

/**
 * The defaults of the cloud's keep-alive learning that its config schema shows
 * (`keepalive.*` in cloud-config.ts derives its defaults from these), in the layer both the
 * schema and the learning (src/cloud/learning/learning-config.ts, which has the rest of the
 * tunables) can import. Durations are ms, fractions are 0..1.
 */

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Advised while nothing is known: with the margin, under every idle timeout from 30 s up, so
 * the push lines do not die while the probe lines learn (a 50 s start killed them 8 times
 * behind a 25 s firewall before convergence).
 */
export const DEFAULT_INTERVAL_MS = 25 * SECOND_MS;
/**
 * Never advise keep-alives more often than this: a safety bound against keep-alive storms,
 * not a blind spot — evidence below it is still learned, and surfaced as a warning.
 */
export const MIN_INTERVAL_MS = 5 * SECOND_MS;
/**
 * Idle gaps shorter than this say nothing about a middlebox (none times out that fast): a
 * failure that soon after traffic is a reset under traffic or a restart, and a success that
 * soon (a push a millisecond after a reconnect) must not become L.
 */
export const EVIDENCE_FLOOR_MS = 2 * SECOND_MS;
/** Never advise keep-alives less often than this: the seed's longest ladder step (168 h). */
export const MAX_INTERVAL_MS = 168 * HOUR_MS;
/** Advice = longest good idle gap × (1 − margin): room for timer jitter and clock drift. */
export const MARGIN_FRACTION = 0.05;
/** The seed's "recent log": only the last 7 days say anything about today's middlebox. */
export const WINDOW_MS = 7 * DAY_MS;
/** A site's value is shared once this many of its gateways know something and agree (issue 18). */
export const DOMAIN_MIN_AGREEING = 2;
/**
 * Learning stops when the longest good gap L is within 5 % of the shortest idle failure U.
 * Then L ≥ 0.95 T, and advice L × (1 − margin) ≥ 0.9025 T: within the required 10 % of T.
 */
export const PROBE_TOLERANCE_FRACTION = 0.05;
/**
 * A probe unacknowledged this long has failed: the gap it tested is past the timeout. The
 * gateway acknowledges a probe at once, so this is a round trip with room to spare, not the
 * push deadline (a push's acknowledgement waits for the job): behind a 7 s proxy each failed
 * probe cost 10 s, longer than the timeout it measured. A slower answer reads as a failure at
 * that gap, which errs on the safe side (advice too short, never too long).
 */
export const PROBE_ACK_TIMEOUT_MS = 3 * SECOND_MS;

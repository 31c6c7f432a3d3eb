/** Where the advised keep-alive interval comes from. */
export type AdviceSource = 'default' | 'history' | 'domain' | 'probe';

/**
 * Which rule gave the interval: the default (nothing contradicts it), the longest good gap L
 * minus the margin, or half the shortest failing gap U (a failure below the default, nothing
 * good known yet).
 */
export type AdviceBasis = 'default' | 'longest-good-gap' | 'half-failing-gap';

/** The cloud's keep-alive advice for one gateway, with the evidence behind it. */
export interface KeepaliveAdvice {
  /** Advised keep-alive interval for the gateway's push lines, ms. */
  intervalMs: number;
  /** Whose evidence: none (default), this gateway's push lines (history), its probe lines, or its site (domain). */
  source: AdviceSource;
  basis: AdviceBasis;
  /** Maximum connection valid time: longest idle gap after which an exchange succeeded (L). */
  mcvtMs: number | null;
  /** Learned lower bound of the middlebox idle timeout (longest good gap), ms. */
  lowerBoundMs: number | null;
  /** Learned upper bound (shortest gap that failed for idleness), ms. */
  upperBoundMs: number | null;
  /** Detected connection lifetime cap (deaths at a fixed age whatever the traffic), ms. */
  lifetimeCapMs: number | null;
  /** When set, the gateway should replace each line before it reaches this age, ms. */
  reconnectBeforeAgeMs: number | null;
  /** True when U and L are within the probe tolerance: nothing left to learn. */
  converged: boolean;
}

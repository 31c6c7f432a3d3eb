/** Where the advised keep-alive interval comes from. */
export type AdviceSource = 'default' | 'history' | 'domain' | 'probe';

/** The cloud's keep-alive advice for one gateway, with the evidence behind it. */
export interface KeepaliveAdvice {
  /** Advised keep-alive interval for the gateway's push lines, ms. */
  intervalMs: number;
  source: AdviceSource;
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

/** An operation condition of the gateway (seed 000, fourth embodiment). */
export interface PowerMode {
  name: string;
  /** Never keep alive more often than this, whatever the cloud advises, ms. */
  minIntervalMs: number;
  /** A lengthening smaller than this is not worth a change, ms. */
  changeThresholdMs: number;
  /** Scheduled telemetry at most this often in this mode, ms (0 or absent: no limit). */
  telemetryEveryMs?: number;
  /** SNMP meters read at most this often in this mode, ms (0 or absent: no limit). */
  snmpEveryMs?: number;
}

/** What the power policy made of one piece of advice. */
export interface PolicyDecision {
  /** The interval to use, ms. */
  intervalMs: number;
  /** True when the policy keeps alive less often than advised: failures then say nothing about the network. */
  limitedByPolicy: boolean;
  /** True when the advice was a lengthening within the change threshold and was left unapplied. */
  ignored: boolean;
}

/**
 * Applies the cloud's advice under the operation conditions: never below the mode's minimum,
 * and a lengthening smaller than the change threshold is ignored. Deviation from the seed, which
 * ignores any small difference: a shortening is always applied (down to the mode's minimum),
 * because the cloud shortens only after a failure, and staying longer loses pushes.
 */
export function applyAdvice(currentMs: number, advisedMs: number, mode: PowerMode): PolicyDecision {
  const targetMs = Math.max(advisedMs, mode.minIntervalMs);
  const smallLengthening =
    targetMs > currentMs && currentMs >= mode.minIntervalMs && targetMs - currentMs < mode.changeThresholdMs;
  if (smallLengthening)
    return { intervalMs: currentMs, limitedByPolicy: currentMs > advisedMs, ignored: true };
  return { intervalMs: targetMs, limitedByPolicy: targetMs > advisedMs, ignored: false };
}

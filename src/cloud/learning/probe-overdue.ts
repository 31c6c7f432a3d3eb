import { PROBE_OVERDUE_FLOOR_MS, PROBE_OVERDUE_RTT_FACTOR } from './learning-config.ts';

/**
 * How long a probe may go unanswered before it is overdue, ms: four times the slowest answer the
 * gateway's probe lines have given (a retransmission timeout allows four times the round trip's
 * variation, RFC 6298), never under 1 s (that RFC's minimum). Null — wait for the answer wait
 * itself — with no answer to judge the link by yet, or when that is no sooner than the wait.
 *
 * An overdue probe is not yet a failure (nothing is recorded until the answer wait ends): it
 * only tells the runner to reopen the lines idle as long, which fail with it if it fails.
 */
export function probeOverdueMs(slowestAnswerMs: number | null, ackTimeoutMs: number): number | null {
  if (slowestAnswerMs === null) return null;
  const overdue = Math.max(PROBE_OVERDUE_FLOOR_MS, PROBE_OVERDUE_RTT_FACTOR * slowestAnswerMs);
  return overdue < ackTimeoutMs ? overdue : null;
}

import type { DataType } from '../learning/status-record.ts';
import type { NewRecord } from '../status/learning-store.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';

/**
 * The status-log row for the outcome of one exchange on a line, under the line's id or
 * another connection it carried (a proxied device's, docs/push-proxy.md). A success is dated
 * when it ended; a failure when the unanswered message left (the line died before it), and
 * is the cloud's own when the cloud was late meanwhile.
 */
export function exchangeRecord(
  now: number,
  line: CloudLine,
  dataType: DataType,
  outcome: ExchangeOutcome,
  options: { policyLimited: boolean; connectionId?: string; cloudLate: boolean },
): NewRecord {
  const ownLine = options.connectionId === undefined || options.connectionId === line.connectionId;
  const record: NewRecord = {
    time: outcome.ok ? now : outcome.at,
    gatewayId: line.gatewayId,
    clientId: line.clientId,
    connectionId: options.connectionId ?? line.connectionId,
    // The line's session names its one death; a device's push on it does not.
    ...(ownLine ? { sessionId: line.sessionId } : {}),
    role: line.role,
    dataType,
    status: outcome.ok ? 'OK' : 'NG',
    idleBeforeMs: outcome.idleBeforeMs,
    connectionAgeMs: outcome.ageMs,
    policyLimited: options.policyLimited,
  };
  if (!outcome.ok) record.failure = options.cloudLate ? 'cloud-late' : outcome.failure;
  return record;
}

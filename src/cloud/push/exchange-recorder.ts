import type { DataType, StatusRecord } from '../learning/status-record.ts';
import type { StatusStore } from '../status/status-store.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';

/**
 * Writes the outcome of one exchange on a line to the communication status log, under the
 * line's id or another connection it carried (a proxied device's, docs/push-proxy.md).
 */
export function recordExchange(
  store: StatusStore,
  now: number,
  line: CloudLine,
  dataType: DataType,
  outcome: ExchangeOutcome,
  policyLimited = false,
  connectionId = line.connectionId,
): StatusRecord {
  const record: Omit<StatusRecord, 'id'> = {
    time: now,
    gatewayId: line.gatewayId,
    clientId: line.clientId,
    connectionId,
    role: line.role,
    dataType,
    status: outcome.ok ? 'OK' : 'NG',
    idleBeforeMs: outcome.idleBeforeMs,
    connectionAgeMs: outcome.ageMs,
    policyLimited,
  };
  if (!outcome.ok) record.failure = outcome.failure;
  return store.append(record);
}

import type { StatusRecord } from '../../../src/cloud/learning/status-record.ts';

export const T0 = Date.UTC(2026, 0, 5);
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Builds status logs for tests: records get increasing ids and times in the order written. */
export class LogBuilder {
  readonly records: StatusRecord[] = [];
  readonly gatewayId: string;
  private nextId = 1;
  private clock: number;

  constructor(gatewayId = 'gw-a', start = T0) {
    this.gatewayId = gatewayId;
    this.clock = start;
  }

  /** The time of the last record written (or the start). */
  get now(): number {
    return this.clock;
  }

  /** Moves the log's clock forward (each record also advances it by a minute). */
  wait(ms: number): this {
    this.clock += ms;
    return this;
  }

  ok(idleBeforeMs: number, fields: Partial<StatusRecord> = {}): this {
    return this.add('OK', idleBeforeMs, fields);
  }

  ng(idleBeforeMs: number, fields: Partial<StatusRecord> = {}): this {
    return this.add('NG', idleBeforeMs, { failure: 'ack-timeout', ...fields });
  }

  private add(status: StatusRecord['status'], idleBeforeMs: number, fields: Partial<StatusRecord>): this {
    this.clock = fields.time ?? this.clock + MINUTE;
    this.records.push({
      id: this.nextId++,
      time: this.clock,
      gatewayId: this.gatewayId,
      clientId: `${this.gatewayId}-client`,
      connectionId: 'line-0',
      role: 'push',
      dataType: 'keepalive',
      status,
      idleBeforeMs,
      connectionAgeMs: idleBeforeMs,
      policyLimited: false,
      ...fields,
    });
    return this;
  }
}

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { ExchangeOutcome } from '../push/cloud-line.ts';
import type { PushServer } from '../push/push-server.ts';
import type { DeviceStream, StreamPushOutcome } from './device-stream.ts';
import { type ProxiedDevices, proxyConnectionId } from './proxied-devices.ts';

/** The result of one push to a proxied device, as the HTTP API reports it. */
export type DevicePushResult =
  | {
      delivered: true;
      held: false;
      pushId: string;
      connection: string;
      line: string;
      attempts: number;
    }
  | {
      delivered: false;
      held: true;
      pushId: string;
      connection: string;
      line: string;
      /** Pushes the gateway holds for the device now, this one included. */
      heldCount: number;
      expiresAt: string | null;
      attempts: number;
    }
  | { delivered: false; held: false; refused: boolean; pushId: string; reason: string; attempts: number };

export interface DevicePushOptions {
  devices: ProxiedDevices;
  server: PushServer;
  clock: Clock;
  logger: Logger;
  /** The gateway's receipt must come this fast (as a push's ack on a line). */
  ackTimeoutMs: number;
  /** Overall time for a push, waits for the device's connection and retries included. */
  deadlineMs: number;
}

/**
 * Delivers a push to a LAN device through its gateway's push proxy: over the device's
 * virtual connection, retried on the next one when the line under it dies. The answer is
 * delivered (the device acknowledged), held (the device sleeps; the gateway keeps it), or
 * why neither. Each attempt is a record of the device's connection in the status log; its
 * idle time is that of the line it rode on, so the learner's evidence stays true.
 */
export class DevicePushDispatcher {
  private readonly options: DevicePushOptions;
  private readonly log: Logger;

  constructor(options: DevicePushOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'push-proxy' });
  }

  async push(
    gatewayId: string,
    deviceId: string,
    dataType: string,
    payload: unknown,
  ): Promise<DevicePushResult> {
    const { devices, clock } = this.options;
    const pushId = randomUUID();
    const deadline = clock.now() + this.options.deadlineMs;
    const connection = proxyConnectionId(deviceId);
    let attempts = 0;
    let lastFailure = `device ${deviceId} has no connection through gateway ${gatewayId}`;
    const failed = (reason: string, refused = false): DevicePushResult => {
      devices.notePush(gatewayId, deviceId, pushId, refused ? 'refused' : 'failed');
      return { delivered: false, held: false, refused, pushId, reason, attempts };
    };
    while (clock.now() < deadline) {
      const stream = devices.stream(gatewayId, deviceId);
      if (!stream) {
        if (!(await devices.waitForAttach(gatewayId, deviceId, deadline - clock.now()))) break;
        continue;
      }
      attempts++;
      const remaining = Math.max(1, deadline - clock.now());
      const idleBeforeMs = stream.line.unprovenIdleMs();
      const ageMs = stream.line.ageMs();
      const sentAt = clock.now();
      const outcome = await stream.push(
        { pushId, dataType, payload },
        Math.min(this.options.ackTimeoutMs, remaining),
        remaining,
      );
      this.record(stream, outcome, idleBeforeMs, ageMs, sentAt);
      if (outcome.kind === 'status') {
        const { status } = outcome;
        const base = { pushId, connection, line: stream.line.connectionId, attempts };
        if (status.status === 'delivered') {
          devices.notePush(gatewayId, deviceId, pushId, 'delivered');
          return { delivered: true, held: false, ...base };
        }
        if (status.status === 'held') {
          devices.notePush(gatewayId, deviceId, pushId, 'held', status.held);
          const expiresAt = status.expiresAt === undefined ? null : new Date(status.expiresAt).toISOString();
          return { delivered: false, held: true, ...base, heldCount: status.held ?? 1, expiresAt };
        }
        return failed(
          status.reason ?? `the gateway answered "${status.status}"`,
          status.status === 'refused',
        );
      }
      if (outcome.kind === 'no-answer') {
        return failed('the gateway received the push but did not say in time whether the device took it');
      }
      lastFailure = this.failedOn(stream, outcome);
    }
    return failed(lastFailure);
  }

  /** A receipt that did not come means the line under the stream is dead: treat it as the dispatcher treats a line. */
  private failedOn(stream: DeviceStream, outcome: StreamPushOutcome): string {
    const line = stream.line;
    if (outcome.kind === 'no-receipt') {
      const reason = `line ${line.connectionId} did not carry the push to the gateway (no receipt)`;
      this.log.warn({ gateway: line.gatewayId, device: stream.deviceId, line: line.connectionId }, reason);
      line.terminate('device push not received');
      this.options.server.restore(line.gatewayId, [line.connectionId], reason);
      return reason;
    }
    return `the device's stream on ${line.connectionId} closed before the gateway answered`;
  }

  private record(
    stream: DeviceStream,
    outcome: StreamPushOutcome,
    idleBeforeMs: number,
    ageMs: number,
    at: number,
  ): void {
    const received =
      outcome.kind === 'status' ||
      outcome.kind === 'no-answer' ||
      (outcome.kind === 'closed' && outcome.received);
    const exchange: ExchangeOutcome = received
      ? { ok: true, idleBeforeMs, ageMs, at }
      : {
          ok: false,
          failure: outcome.kind === 'no-receipt' ? 'ack-timeout' : 'reset',
          idleBeforeMs,
          ageMs,
          at,
        };
    void this.options.server.recordOutcome(stream.line, 'push', exchange, proxyConnectionId(stream.deviceId));
  }
}

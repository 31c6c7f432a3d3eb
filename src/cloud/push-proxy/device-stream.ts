import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeStreamFromGateway } from '../../protocol/push-proxy/codec.ts';
import {
  type CloudToStream,
  type GatewayToStream,
  MAX_PROXY_MESSAGE_BYTES,
  PUSH_PROXY_VERSION,
  type PushStatus,
} from '../../protocol/push-proxy/messages.ts';
import { JsonLineChannel } from '../../tunnel/json-line-channel.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import type { CloudLine } from '../push/cloud-line.ts';

/** A stream that says no valid attach within this time is reset. */
const ATTACH_TIMEOUT_MS = 10_000;

export type AttachMessage = Extract<GatewayToStream, { type: 'attach' }>;
export type StateMessage = Extract<GatewayToStream, { type: 'state' }>;

/** How one push on the stream ended, as far as this stream saw it. */
export type StreamPushOutcome =
  | { kind: 'status'; status: PushStatus }
  | { kind: 'no-receipt' }
  | { kind: 'no-answer' }
  | { kind: 'closed'; received: boolean };

interface Waiter {
  received: boolean;
  timer: TimerHandle;
  finalTimeoutMs: number;
  resolve: (outcome: StreamPushOutcome) => void;
}

export interface DeviceStreamEvents {
  attached(stream: DeviceStream, attach: AttachMessage): void;
  state(stream: DeviceStream, state: StateMessage): void;
  /** A push's later fate (delivered after a sleep, expired) that no request waits for. */
  lateStatus(stream: DeviceStream, status: PushStatus): void;
  closed(stream: DeviceStream, reason: string): void;
}

/**
 * One proxied device's virtual connection as the cloud sees it: a tunnel stream the
 * gateway opened on one of its lines, JSON lines both ways. Sends pushes and matches the
 * gateway's receipts and outcomes to them.
 */
export class DeviceStream {
  readonly gatewayId: string;
  readonly deviceId: string;
  readonly line: CloudLine;
  readonly openedAt: number;
  /** Messages the gateway sent on this stream: attach, state changes and push outcomes only. */
  messagesFromGateway = 0;
  private readonly channel: JsonLineChannel<GatewayToStream, CloudToStream>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: DeviceStreamEvents;
  private readonly waiters = new Map<string, Waiter>();
  private attachTimer: TimerHandle | undefined;
  private attachedYet = false;
  private ended = false;

  constructor(options: {
    stream: TunnelStream;
    line: CloudLine;
    deviceId: string;
    clock: Clock;
    logger: Logger;
    events: DeviceStreamEvents;
  }) {
    this.line = options.line;
    this.gatewayId = options.line.gatewayId;
    this.deviceId = options.deviceId;
    this.clock = options.clock;
    this.log = options.logger;
    this.events = options.events;
    this.openedAt = options.clock.now();
    this.channel = new JsonLineChannel({
      stream: options.stream,
      decode: decodeStreamFromGateway,
      maxLineBytes: MAX_PROXY_MESSAGE_BYTES,
    });
    this.channel.onMessage = (message) => this.receive(message);
    this.channel.onInvalid = (error) =>
      this.log.warn({ code: error.code }, `invalid message on a device stream: ${error.message}`);
    this.channel.onClose = (error) => this.closed(error?.message ?? 'closed');
    this.attachTimer = options.clock.setTimeout(
      () => this.channel.stream.reset('TIMEOUT', 'no attach'),
      ATTACH_TIMEOUT_MS,
    );
  }

  get isOpen(): boolean {
    return this.attachedYet && !this.ended && this.line.isOpen;
  }

  get bytes(): { in: number; out: number } {
    return this.channel.bytes;
  }

  /**
   * Sends a push and waits: for the gateway's receipt within receiptTimeoutMs (proof the
   * line lives), then for the outcome within finalTimeoutMs. Never rejects.
   */
  push(
    push: { pushId: string; dataType: string; payload: unknown },
    receiptTimeoutMs: number,
    finalTimeoutMs: number,
  ): Promise<StreamPushOutcome> {
    return new Promise((resolve) => {
      if (!this.isOpen || this.waiters.has(push.pushId)) {
        resolve({ kind: 'closed', received: false });
        return;
      }
      const waiter: Waiter = {
        received: false,
        finalTimeoutMs,
        resolve: (outcome) => {
          this.clock.clearTimeout(waiter.timer);
          this.waiters.delete(push.pushId);
          resolve(outcome);
        },
        timer: this.clock.setTimeout(() => waiter.resolve({ kind: 'no-receipt' }), receiptTimeoutMs),
      };
      this.waiters.set(push.pushId, waiter);
      this.line.noteSent();
      if (!this.channel.send({ type: 'push', ...push })) waiter.resolve({ kind: 'closed', received: false });
    });
  }

  /** Aborts the stream (e.g. a newer one of the same device took over). */
  destroy(): void {
    this.channel.destroy();
  }

  private receive(message: GatewayToStream): void {
    this.messagesFromGateway++;
    if (!this.attachedYet) {
      if (
        message.type !== 'attach' ||
        message.v !== PUSH_PROXY_VERSION ||
        message.deviceId !== this.deviceId
      ) {
        this.log.warn(
          { type: message.type },
          'device stream did not start with a matching attach; resetting it',
        );
        this.channel.stream.reset('PROTOCOL', 'expected attach for the device the stream was opened for');
        return;
      }
      this.attachedYet = true;
      this.clock.clearTimeout(this.attachTimer);
      this.events.attached(this, message);
      return;
    }
    switch (message.type) {
      case 'state':
        this.events.state(this, message);
        break;
      case 'push-status':
        this.pushStatus(message);
        break;
      case 'error':
        this.log.warn({ code: message.code }, `gateway reported on a device stream: ${message.message}`);
        break;
      case 'attach':
        this.log.warn('second attach on a device stream ignored');
        break;
    }
  }

  private pushStatus(status: PushStatus): void {
    const waiter = this.waiters.get(status.pushId);
    if (!waiter) {
      if (status.status !== 'received') this.events.lateStatus(this, status);
      return;
    }
    if (status.status !== 'received') {
      waiter.resolve({ kind: 'status', status });
      return;
    }
    if (waiter.received) return;
    waiter.received = true;
    this.clock.clearTimeout(waiter.timer);
    waiter.timer = this.clock.setTimeout(() => waiter.resolve({ kind: 'no-answer' }), waiter.finalTimeoutMs);
  }

  private closed(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.clock.clearTimeout(this.attachTimer);
    for (const waiter of [...this.waiters.values()])
      waiter.resolve({ kind: 'closed', received: waiter.received });
    this.events.closed(this, reason);
  }
}

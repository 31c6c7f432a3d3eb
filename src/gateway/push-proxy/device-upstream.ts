import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeStreamFromCloud } from '../../protocol/push-proxy/codec.ts';
import {
  type CloudToStream,
  type GatewayToStream,
  MAX_PROXY_MESSAGE_BYTES,
  type ProxiedPush,
} from '../../protocol/push-proxy/messages.ts';
import { pushProxyTarget } from '../../protocol/push-proxy/proxy-target.ts';
import type { TunnelTargetInput } from '../../protocol/tunnel/target.ts';
import { Backoff } from '../../retry/backoff.ts';
import { JsonLineChannel } from '../../tunnel/json-line-channel.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';

/** Opens a stream on one of the gateway's live push lines; undefined while none is open. */
export type StreamOpener = (
  target: TunnelTargetInput,
) => { line: string; stream: Promise<TunnelStream> } | undefined;

/** A stream that lived this long before it closed is reopened at once, not after a backoff. */
const STABLE_STREAM_MS = 10_000;
/** Late push statuses kept while the stream is down; past it the oldest are dropped (and counted). */
const MAX_QUEUED_STATUSES = 256;

/** The stream's state for the status page. */
export interface UpstreamStatus {
  state: 'up' | 'opening' | 'down';
  line: string | null;
  since: number;
  reopens: number;
  bytesIn: number;
  bytesOut: number;
  droppedStatuses: number;
}

export interface DeviceUpstreamOptions {
  deviceId: string;
  open: StreamOpener;
  clock: Clock;
  logger: Logger;
  backoff: { initialMs: number; maxMs: number };
  /** The virtual connection's hello, sent first on every new stream. */
  attach: () => GatewayToStream;
}

/**
 * A proxied device's virtual connection to the cloud: one tunnel stream on one of the
 * gateway's push lines, reopened on another line when that line dies. Only the device's
 * pushes, their outcomes and its state changes travel here; its keep-alives never do.
 */
export class DeviceUpstream {
  onPush: (push: ProxiedPush, reply: (status: GatewayToStream) => boolean) => void = () => {};
  private readonly options: DeviceUpstreamOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private channel: JsonLineChannel<CloudToStream, GatewayToStream> | undefined;
  private line: string | null = null;
  private openedAt = 0;
  private opening = false;
  private retry: TimerHandle | undefined;
  private stopped = false;
  private since: number;
  private reopens = 0;
  private readonly queued: GatewayToStream[] = [];
  private dropped = 0;
  private readonly bytes = { in: 0, out: 0 };

  constructor(options: DeviceUpstreamOptions) {
    this.options = options;
    this.log = options.logger;
    this.backoff = new Backoff(options.backoff);
    this.since = options.clock.now();
  }

  /** Opens the stream unless it is open, opening or waiting to retry; call when a line may have come up. */
  ensure(): void {
    if (this.stopped || this.opening || this.channel || this.retry) return;
    const { deviceId } = this.options;
    const target: TunnelTargetInput = pushProxyTarget(deviceId);
    const opened = this.options.open(target);
    if (!opened) return;
    this.opening = true;
    opened.stream.then(
      (stream) => this.opened(stream, opened.line),
      (err: Error) => {
        this.opening = false;
        this.retryLater(`cannot open the device's stream on ${opened.line}: ${err.message}`);
      },
    );
  }

  /** Sends a message now; false when the stream is down. */
  send(message: GatewayToStream): boolean {
    return this.channel?.send(message) ?? false;
  }

  /** Sends a message now, or as soon as the stream is back (news the cloud did not wait for). */
  sendOrQueue(message: GatewayToStream): void {
    if (this.send(message)) return;
    this.queued.push(message);
    if (this.queued.length > MAX_QUEUED_STATUSES) {
      this.queued.shift();
      this.dropped++;
    }
  }

  status(): UpstreamStatus {
    const state = this.channel ? 'up' : this.opening ? 'opening' : 'down';
    const live = this.channel?.bytes ?? { in: 0, out: 0 };
    return {
      state,
      line: this.channel ? this.line : null,
      since: this.since,
      reopens: this.reopens,
      bytesIn: this.bytes.in + live.in,
      bytesOut: this.bytes.out + live.out,
      droppedStatuses: this.dropped,
    };
  }

  /** Ends the stream for good (the gateway stops). */
  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.retry);
    this.channel?.end();
  }

  private opened(stream: TunnelStream, line: string): void {
    this.opening = false;
    if (this.stopped) {
      stream.destroy();
      return;
    }
    const { clock } = this.options;
    const channel = new JsonLineChannel<CloudToStream, GatewayToStream>({
      stream,
      decode: decodeStreamFromCloud,
      maxLineBytes: MAX_PROXY_MESSAGE_BYTES,
    });
    this.channel = channel;
    this.line = line;
    this.openedAt = clock.now();
    this.since = this.openedAt;
    channel.onMessage = (message) => {
      if (message.type === 'push') this.onPush(message, (status) => channel.send(status));
      else this.log.warn({ code: message.code }, `cloud reported on the device's stream: ${message.message}`);
    };
    channel.onInvalid = (error) =>
      this.log.warn(
        { code: error.code },
        `invalid message from the cloud on the device's stream: ${error.message}`,
      );
    channel.onClose = (error) => this.closed(channel, error);
    channel.send(this.options.attach());
    for (const message of this.queued.splice(0)) channel.send(message);
    this.log.info({ line }, 'device stream open to the cloud');
  }

  private closed(channel: JsonLineChannel<CloudToStream, GatewayToStream>, error?: Error): void {
    if (this.channel !== channel) return;
    const { clock } = this.options;
    this.bytes.in += channel.bytes.in;
    this.bytes.out += channel.bytes.out;
    this.channel = undefined;
    this.since = clock.now();
    if (this.stopped) return;
    this.reopens++;
    const why = error?.message ?? 'closed';
    if (clock.now() - this.openedAt >= STABLE_STREAM_MS) {
      this.backoff.reset();
      this.log.info({ line: this.line, reason: why }, 'device stream closed; reopening on a live line');
      this.ensure();
    } else {
      this.retryLater(`device stream on ${this.line} closed soon after opening: ${why}`);
    }
  }

  private retryLater(reason: string): void {
    const delay = this.backoff.next();
    this.log.warn({ retryInMs: delay }, reason);
    this.retry = this.options.clock.setTimeout(() => {
      this.retry = undefined;
      this.ensure();
    }, delay);
  }
}

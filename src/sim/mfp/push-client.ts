import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { systemClock } from '../../clock/system-clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeForDevice } from '../../protocol/push-proxy/codec.ts';
import {
  type DeviceToGateway,
  type GatewayToDevice,
  MAX_PROXY_MESSAGE_BYTES,
  PUSH_PROXY_PATH,
  PUSH_PROXY_VERSION,
} from '../../protocol/push-proxy/messages.ts';
import { Backoff } from '../../retry/backoff.ts';

export interface SimPushClientOptions {
  /** The gateway's push proxy, e.g. ws://192.168.1.2:8081 (the path defaults to /push-proxy). */
  url: string;
  deviceId: string;
  token: string;
  logger: Logger;
  clock?: Clock;
  software?: string;
  /** Reconnect delays after a lost connection (not after sleep). */
  backoff?: { initialMs: number; maxMs: number };
}

/** A push the sim device took, once per push id. */
export interface ReceivedPush {
  pushId: string;
  dataType: string;
  payload: unknown;
  heldSince: number | null;
}

/** Adds the push proxy's path to a bare ws://host:port. */
export function pushProxyUrl(text: string): string {
  const url = new URL(text);
  if (url.pathname === '/' || url.pathname === '') url.pathname = PUSH_PROXY_PATH;
  return url.toString();
}

/**
 * The sim MFP's push connection through the gateway's push proxy (docs/push-proxy.md):
 * says hello with its device token, keeps alive at the interval the gateway gives it,
 * acknowledges every push (taking each push id once), and can sleep (tell the gateway,
 * disconnect) and wake (reconnect and take what was held).
 */
export class SimPushClient {
  onPush: (push: ReceivedPush) => void = () => {};
  private readonly options: SimPushClientOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly seen = new Set<string>();
  private ws: WebSocket | undefined;
  private keepaliveTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private keepaliveMs = 0;
  private seq = 0;
  private asleep = false;
  private stopped = false;

  constructor(options: SimPushClientOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger;
    this.backoff = new Backoff(options.backoff ?? { initialMs: 200, maxMs: 5000 });
  }

  /** Connects (and reconnects after losses) until stopped. */
  start(): void {
    this.connect();
  }

  /** Goes to sleep: tells the gateway to hold its pushes, and disconnects. */
  sleep(): void {
    if (this.asleep) return;
    this.asleep = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    if (ws?.readyState === WebSocket.OPEN) {
      this.send(ws, { type: 'sleep' });
      ws.close(1000, 'sleep');
    } else ws?.terminate();
    this.log.info({ device: this.options.deviceId }, 'push client asleep');
  }

  /** Wakes up: reconnects and takes the pushes held meanwhile. */
  wake(): void {
    if (!this.asleep) return;
    this.asleep = false;
    this.log.info({ device: this.options.deviceId }, 'push client waking');
    this.backoff.reset();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(1001, 'device stopping');
    this.ws = undefined;
  }

  private connect(): void {
    if (this.stopped || this.asleep) return;
    const { deviceId, token } = this.options;
    const ws = new WebSocket(pushProxyUrl(this.options.url), { maxPayload: MAX_PROXY_MESSAGE_BYTES });
    this.ws = ws;
    let refused = false;
    ws.on('open', () =>
      this.send(ws, {
        type: 'hello',
        v: PUSH_PROXY_VERSION,
        deviceId,
        token,
        ...(this.options.software ? { software: this.options.software } : {}),
      }),
    );
    ws.on('message', (data, isBinary) => {
      const decoded = decodeForDevice(data as Buffer, isBinary);
      if (!decoded.ok) {
        this.log.warn(
          { code: decoded.error.code },
          `invalid message from the gateway: ${decoded.error.message}`,
        );
        return;
      }
      if (decoded.message.type === 'error' && decoded.message.code === 'MFP_PXY_ERR_AUTH') refused = true;
      this.receive(ws, decoded.message);
    });
    ws.on('error', (err) => this.log.debug({ err: err.message }, 'push client socket error'));
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.clearTimers();
      if (this.stopped || this.asleep) return;
      // A refused token will not get better by hammering: wait the longest delay.
      const delay = refused ? (this.options.backoff?.maxMs ?? 5000) : this.backoff.next();
      this.log.warn({ code, reason: reason.toString(), retryInMs: delay }, 'push client disconnected');
      this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
    });
  }

  private receive(ws: WebSocket, message: GatewayToDevice): void {
    switch (message.type) {
      case 'welcome':
        this.backoff.reset();
        this.keepaliveMs = message.keepaliveMs;
        this.log.info(
          { device: this.options.deviceId, keepaliveMs: message.keepaliveMs, held: message.held },
          'push client connected',
        );
        this.scheduleKeepalive(ws);
        break;
      case 'keepalive-ack':
        this.keepaliveMs = message.keepaliveMs;
        this.log.info({ seq: message.seq, keepaliveMs: message.keepaliveMs }, 'keep-alive acknowledged');
        break;
      case 'push': {
        this.send(ws, { type: 'push-ack', pushId: message.pushId });
        if (this.seen.has(message.pushId)) {
          this.log.info({ pushId: message.pushId }, 'push duplicate');
          break;
        }
        this.seen.add(message.pushId);
        const push = {
          pushId: message.pushId,
          dataType: message.dataType,
          payload: message.payload,
          heldSince: message.heldSince ?? null,
        };
        this.log.info(push, 'push received');
        this.onPush(push);
        break;
      }
      case 'error':
        this.log.warn({ code: message.code }, `push client refused: ${message.message}`);
        break;
    }
  }

  /** Keeps alive once per interval the gateway gave, never more often. */
  private scheduleKeepalive(ws: WebSocket): void {
    this.clock.clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = this.clock.setTimeout(() => {
      if (this.ws !== ws) return;
      this.send(ws, { type: 'keepalive', seq: this.seq++ });
      this.scheduleKeepalive(ws);
    }, this.keepaliveMs);
  }

  private send(ws: WebSocket, message: DeviceToGateway): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  private clearTimers(): void {
    this.clock.clearTimeout(this.keepaliveTimer);
    this.clock.clearTimeout(this.reconnectTimer);
  }
}

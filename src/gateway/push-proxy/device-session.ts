import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromDevice } from '../../protocol/push-proxy/codec.ts';
import type { GatewayToDevice } from '../../protocol/push-proxy/messages.ts';

/**
 * A device that says nothing for this many LAN keep-alive intervals is gone: one lost
 * keep-alive is tolerated, two are not.
 */
export const SILENT_INTERVALS_BEFORE_GONE = 2;
/** Extra time past those intervals for a slow device or a busy gateway. */
const SILENCE_GRACE_MS = 5000;
/** Invalid frames tolerated from a device before its connection is closed. */
const MAX_INVALID_FRAMES = 10;

/** How a device's session ended: it said it goes to sleep, or it vanished. */
export interface SessionEnd {
  state: 'sleeping' | 'gone';
  reason: string;
}

export interface DeviceSessionOptions {
  ws: WebSocket;
  deviceId: string;
  remoteAddress: string | null;
  /** The LAN keep-alive interval this gateway gives the device. */
  keepaliveMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * One authenticated LAN connection of a proxied device: answers its keep-alives here (they
 * never leave the LAN), watches for silence, carries pushes down and acknowledgements up,
 * and says how it ended (asleep, or gone).
 */
export class DeviceSession {
  readonly deviceId: string;
  readonly remoteAddress: string | null;
  readonly keepaliveMs: number;
  readonly connectedAt: number;
  onPushAck: (pushId: string) => void = () => {};
  onEnd: (end: SessionEnd) => void = () => {};
  private readonly ws: WebSocket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private watchdog: TimerHandle | undefined;
  private saidSleep = false;
  private ended = false;
  private invalid = 0;
  private lastKeepaliveAt: number | null = null;
  private keepaliveCount = 0;
  private shortestGapMs: number | null = null;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(options: DeviceSessionOptions) {
    this.ws = options.ws;
    this.deviceId = options.deviceId;
    this.remoteAddress = options.remoteAddress;
    this.keepaliveMs = options.keepaliveMs;
    this.clock = options.clock;
    this.log = options.logger;
    this.connectedAt = options.clock.now();
  }

  /** Welcomes the device (its LAN keep-alive interval, pushes waiting) and starts reading. */
  start(held: number): void {
    this.ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    this.ws.on('close', (code, reason) => this.closed(code, reason.toString()));
    this.ws.on('error', (err) => this.log.debug({ err: err.message }, 'device socket error'));
    this.send({ type: 'welcome', deviceId: this.deviceId, keepaliveMs: this.keepaliveMs, held });
    this.armWatchdog();
  }

  get isOpen(): boolean {
    return !this.ended && this.ws.readyState === WebSocket.OPEN;
  }

  /** Keep-alives the device sent, and the shortest gap between two of them. */
  get keepalives(): { count: number; shortestGapMs: number | null; lastAt: number | null } {
    return { count: this.keepaliveCount, shortestGapMs: this.shortestGapMs, lastAt: this.lastKeepaliveAt };
  }

  get bytes(): { in: number; out: number } {
    return { in: this.bytesIn, out: this.bytesOut };
  }

  /** Sends a message; false when the connection is gone. */
  send(message: GatewayToDevice): boolean {
    if (!this.isOpen) return false;
    const text = JSON.stringify(message);
    this.bytesOut += Buffer.byteLength(text);
    this.ws.send(text);
    return true;
  }

  /** Closes politely (e.g. the gateway stops, or a newer connection of the device took over). */
  close(code: number, reason: string, end: SessionEnd): void {
    if (this.ended) return;
    this.ws.close(code, reason);
    this.finish(end);
  }

  /** Drops the connection at once: the device stopped answering. */
  terminate(reason: string): void {
    if (this.ended) return;
    this.log.warn({ device: this.deviceId, reason }, 'dropping unresponsive device');
    this.ws.terminate();
    this.finish({ state: 'gone', reason });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    this.bytesIn += data.length;
    this.armWatchdog();
    const decoded = decodeFromDevice(data, isBinary);
    if (!decoded.ok) {
      this.log.warn({ device: this.deviceId, code: decoded.error.code }, decoded.error.message);
      this.send({ type: 'error', code: decoded.error.code, message: decoded.error.message });
      if (++this.invalid >= MAX_INVALID_FRAMES || decoded.error.closeCode === 1009) {
        this.close(decoded.error.closeCode, decoded.error.code, {
          state: 'gone',
          reason: decoded.error.message,
        });
      }
      return;
    }
    const message = decoded.message;
    switch (message.type) {
      case 'keepalive':
        this.noteKeepalive();
        this.send({ type: 'keepalive-ack', seq: message.seq, keepaliveMs: this.keepaliveMs });
        break;
      case 'push-ack':
        this.onPushAck(message.pushId);
        break;
      case 'sleep':
        this.saidSleep = true;
        break;
      case 'error':
        this.log.warn({ device: this.deviceId, code: message.code }, `device reported: ${message.message}`);
        break;
      case 'hello':
        this.send({ type: 'error', code: 'MFP_ERR_UNEXPECTED_MESSAGE', message: 'hello was already said' });
        break;
    }
  }

  private noteKeepalive(): void {
    const now = this.clock.now();
    if (this.lastKeepaliveAt !== null) {
      const gap = now - this.lastKeepaliveAt;
      this.shortestGapMs = this.shortestGapMs === null ? gap : Math.min(this.shortestGapMs, gap);
    }
    this.lastKeepaliveAt = now;
    this.keepaliveCount++;
  }

  private armWatchdog(): void {
    this.clock.clearTimeout(this.watchdog);
    const silenceMs = SILENT_INTERVALS_BEFORE_GONE * this.keepaliveMs + SILENCE_GRACE_MS;
    this.watchdog = this.clock.setTimeout(
      () => this.terminate(`nothing heard for ${silenceMs} ms (LAN keep-alive ${this.keepaliveMs} ms)`),
      silenceMs,
    );
  }

  private closed(code: number, reason: string): void {
    const end: SessionEnd = this.saidSleep
      ? { state: 'sleeping', reason: 'the device went to sleep' }
      : { state: 'gone', reason: `connection closed (${code}${reason ? ` ${reason}` : ''})` };
    this.finish(end);
  }

  private finish(end: SessionEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.clock.clearTimeout(this.watchdog);
    this.onEnd(end);
  }
}

import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromGateway, encodeMessage } from '../../protocol/codec.ts';
import type { CloudToGateway, GatewayToCloud, Hello } from '../../protocol/messages.ts';
import { TunnelMux } from '../../tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../../tunnel/ws-transport.ts';
import type { FailureKind, LineRole } from '../learning/status-record.ts';

/** How one exchange on a line ended. */
export type ExchangeOutcome =
  | { ok: true; idleBeforeMs: number; ageMs: number }
  | { ok: false; failure: FailureKind; idleBeforeMs: number; ageMs: number };

/** Messages a line hands up, with the idle gap that preceded them. */
export interface LineEvents {
  onMessage(line: CloudLine, message: GatewayToCloud, idleBeforeMs: number): void;
  onClose(line: CloudLine, code: number, reason: string): void;
}

interface PendingExchange {
  resolve: (outcome: ExchangeOutcome) => void;
  timer: TimerHandle;
  idleBeforeMs: number;
}

/** Invalid frames tolerated on a line before it is closed as misbehaving. */
const MAX_PROTOCOL_ERRORS = 10;

/**
 * One accepted push connection of a gateway, as the cloud sees it: sends control
 * messages, tracks idle time, and turns acknowledgements into exchange outcomes.
 */
export class CloudLine {
  readonly gatewayId: string;
  readonly clientId: string;
  readonly connectionId: string;
  readonly role: LineRole;
  readonly connectedAt: number;
  readonly egressAddress: string | null;
  hello: Hello;
  lastTrafficAt: number;
  /** Tunnels multiplexed on this line (binary frames); created by attach(). */
  tunnels: TunnelMux | undefined;
  private open = true;
  private protocolErrors = 0;
  private readonly pending = new Map<string, PendingExchange>();
  private readonly ws: WebSocket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: LineEvents;

  constructor(options: {
    ws: WebSocket;
    hello: Hello;
    egressAddress: string | null;
    clock: Clock;
    logger: Logger;
    events: LineEvents;
  }) {
    this.ws = options.ws;
    this.hello = options.hello;
    this.gatewayId = options.hello.gatewayId;
    this.clientId = options.hello.clientId;
    this.connectionId = options.hello.connectionId;
    this.role = options.hello.role;
    this.egressAddress = options.egressAddress;
    this.clock = options.clock;
    this.events = options.events;
    this.connectedAt = this.clock.now();
    this.lastTrafficAt = this.connectedAt;
    this.log = options.logger.child({ gateway: this.gatewayId, line: this.connectionId });
  }

  /** Starts reading frames; call once after the hello was accepted. */
  attach(): void {
    this.tunnels = new TunnelMux({
      transport: wsTunnelTransport(this.ws),
      clock: this.clock,
      side: 'server',
    });
    this.ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    this.ws.on('close', (code, reason) => this.closed(code, reason.toString()));
    this.ws.on('error', (err) => this.log.debug({ err: err.message }, 'line socket error'));
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Milliseconds since the last byte in either direction. */
  idleMs(): number {
    return this.clock.now() - this.lastTrafficAt;
  }

  ageMs(): number {
    return this.clock.now() - this.connectedAt;
  }

  /** Sends a control message; false when the line is no longer open. */
  send(message: CloudToGateway, onWritten?: (err?: Error) => void): boolean {
    if (!this.open) return false;
    this.lastTrafficAt = this.clock.now();
    this.ws.send(encodeMessage(message), (err) => onWritten?.(err ?? undefined));
    return true;
  }

  /**
   * Sends a message that the gateway must acknowledge under `key` within ackTimeoutMs
   * (a push or a probe); resolves with the outcome, never rejects.
   */
  exchange(key: string, message: CloudToGateway, ackTimeoutMs: number): Promise<ExchangeOutcome> {
    const idleBeforeMs = this.idleMs();
    const ageMs = this.ageMs();
    return new Promise((resolve) => {
      const finish = (outcome: ExchangeOutcome) => {
        const entry = this.pending.get(key);
        if (!entry) return;
        this.pending.delete(key);
        this.clock.clearTimeout(entry.timer);
        resolve(outcome);
      };
      const timer = this.clock.setTimeout(
        () => finish({ ok: false, failure: 'ack-timeout', idleBeforeMs, ageMs }),
        ackTimeoutMs,
      );
      this.pending.set(key, {
        timer,
        idleBeforeMs,
        resolve: (o) => finish(o),
      });
      const sent = this.send(message, (err) => {
        if (err) finish({ ok: false, failure: 'write-error', idleBeforeMs, ageMs });
      });
      if (!sent) finish({ ok: false, failure: 'reset', idleBeforeMs, ageMs });
    });
  }

  /** Closes the line at once (no closing handshake: the path may be dead). */
  terminate(reason: string): void {
    if (!this.open) return;
    this.log.debug({ reason }, 'terminating line');
    this.ws.terminate();
    this.closed(1006, reason);
  }

  /** Closes the line politely, e.g. when the server shuts down. */
  close(code: number, reason: string): void {
    if (!this.open) return;
    this.ws.close(code, reason);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    const idleBeforeMs = this.idleMs();
    this.lastTrafficAt = this.clock.now();
    if (isBinary) return; // tunnel frames: the mux reads them
    const decoded = decodeFromGateway(data, isBinary);
    if (!decoded.ok) {
      this.protocolErrors++;
      this.log.warn({ code: decoded.error.code, err: decoded.error.message }, 'invalid frame from gateway');
      this.send({ type: 'error', code: decoded.error.code, message: decoded.error.message });
      if (this.protocolErrors >= MAX_PROTOCOL_ERRORS || decoded.error.closeCode === 1009) {
        this.ws.close(decoded.error.closeCode, decoded.error.code);
      }
      return;
    }
    const message = decoded.message;
    if (message.type === 'push-ack') {
      this.settle(`push:${message.pushId}`);
      return;
    }
    if (message.type === 'probe-ack') {
      this.settle(`probe:${message.probeId}`);
      return;
    }
    this.events.onMessage(this, message, idleBeforeMs);
  }

  private settle(key: string): void {
    const entry = this.pending.get(key);
    if (entry) entry.resolve({ ok: true, idleBeforeMs: entry.idleBeforeMs, ageMs: this.ageMs() });
  }

  private closed(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    for (const entry of [...this.pending.values()]) {
      entry.resolve({ ok: false, failure: 'reset', idleBeforeMs: entry.idleBeforeMs, ageMs: this.ageMs() });
    }
    this.events.onClose(this, code, reason);
  }
}

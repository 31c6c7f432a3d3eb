import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { guardListener } from '../../http/guarded-handler.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromGateway, encodeMessage } from '../../protocol/codec.ts';
import type { CloudToGateway, GatewayToCloud, Hello } from '../../protocol/messages.ts';
import { type StreamRequest, TunnelMux } from '../../tunnel/tunnel-mux.ts';
import { type WsTunnelTransport, wsTunnelTransport } from '../../tunnel/ws-transport.ts';
import type { FailureKind, LineRole } from '../learning/status-record.ts';

/**
 * How one exchange on a line ended. idleBeforeMs is the longest gap the line sat unproven
 * before the exchange was sent (the gap a success proves survivable, or the one a failure
 * blames); at is when it was sent.
 */
export type ExchangeOutcome =
  | { ok: true; idleBeforeMs: number; ageMs: number; at: number }
  | { ok: false; failure: FailureKind; idleBeforeMs: number; ageMs: number; at: number };

/** Messages a line hands up, with the idle gap that preceded them. */
export interface LineEvents {
  onMessage(line: CloudLine, message: GatewayToCloud, idleBeforeMs: number): void;
  onClose(line: CloudLine, code: number, reason: string): void;
}

interface PendingExchange {
  resolve: (outcome: ExchangeOutcome) => void;
  timer: TimerHandle;
  idleBeforeMs: number;
  at: number;
}

/** Invalid frames tolerated on a line before it is closed as misbehaving. */
const MAX_PROTOCOL_ERRORS = 10;

/**
 * One accepted push connection of a gateway, as the cloud sees it: sends control
 * messages, tracks idle time, and turns acknowledgements into exchange outcomes.
 *
 * Idle is what the middlebox sees: a packet either way resets it, the cloud's own sends
 * included (advice, restores, probes). But only a packet from the gateway proves the line
 * alive, so evidence uses the longest gap the line sat since the last such proof, and the
 * push dispatcher picks lines by their last proof of life, not their last send.
 */
export class CloudLine {
  readonly gatewayId: string;
  readonly clientId: string;
  readonly connectionId: string;
  /** This session of the line, told to the gateway in its welcome; a loss report quotes it. */
  readonly sessionId: string;
  readonly role: LineRole;
  readonly connectedAt: number;
  readonly egressAddress: string | null;
  hello: Hello;
  /** The last packet either way: what a middlebox's idle timer counts from. */
  lastPacketAt: number;
  /** The last packet from the gateway: proof the line was alive. */
  lastReceivedAt: number;
  /** Longest gap between packets since the last proof of life, ms. */
  private unprovenGapMs = 0;
  private mux: TunnelMux | undefined;
  private transport: WsTunnelTransport | undefined;
  private streamHandler: ((request: StreamRequest) => void) | undefined;
  private attached = false;
  private open = true;
  private protocolErrors = 0;
  private readonly pending = new Map<string, PendingExchange>();
  private readonly ws: WebSocket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: LineEvents;
  private readonly lagNowMs: () => number;

  constructor(options: {
    ws: WebSocket;
    hello: Hello;
    egressAddress: string | null;
    clock: Clock;
    logger: Logger;
    events: LineEvents;
    /** How late the event loop runs now, ms: a message is stamped at its arrival, not its processing. */
    lagNowMs?: () => number;
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
    this.lastPacketAt = this.connectedAt;
    this.lastReceivedAt = this.connectedAt;
    this.lagNowMs = options.lagNowMs ?? (() => 0);
    this.sessionId = randomUUID();
    this.log = options.logger.child({ gateway: this.gatewayId, line: this.connectionId });
  }

  /** Starts reading frames; call once after the hello was accepted. */
  attach(): void {
    this.attached = true;
    this.ws.on(
      'message',
      guardListener(
        this.log,
        'handling a line message',
        () => this.ws.close(1011, 'internal error'),
        (data: unknown, isBinary: boolean) => this.receive(data as Buffer, isBinary),
      ),
    );
    this.ws.on('close', (code, reason) => this.closed(code, reason.toString()));
    this.ws.on('error', (err) => this.log.debug({ err: err.message }, 'line socket error'));
  }

  /**
   * Tunnels multiplexed on this line (binary frames), made at their first use — a stream
   * opened either way —: most lines never carry one, and a multiplexer per line held ~3.4 KB
   * of heap (34 MB at 10,000 lines, all of it for the GC to walk). Undefined before attach()
   * and once the line is closed without having carried any.
   */
  get tunnels(): TunnelMux | undefined {
    if (!this.mux && this.attached && this.open) {
      this.transport = wsTunnelTransport(this.ws, { fed: true });
      this.mux = new TunnelMux({ transport: this.transport, clock: this.clock, side: 'server' });
      if (this.streamHandler) this.mux.onStream(this.streamHandler);
    }
    return this.mux;
  }

  /** Streams the gateway opens on this line go to `handler`. */
  onStream(handler: (request: StreamRequest) => void): void {
    this.streamHandler = handler;
    this.mux?.onStream(handler);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Milliseconds since the last packet in either direction (the middlebox's idle). */
  idleMs(): number {
    return this.clock.now() - this.lastPacketAt;
  }

  /** Milliseconds since the gateway last proved the line alive. */
  silenceMs(): number {
    return this.clock.now() - this.lastReceivedAt;
  }

  /** The longest gap the line has sat since its last proof of life, counting the one running now. */
  unprovenIdleMs(): number {
    return Math.max(this.unprovenGapMs, this.idleMs());
  }

  /** Something went out on the line outside send() (tunnel data): it resets the middlebox's idle. */
  noteSent(): void {
    this.packet(this.clock.now());
  }

  ageMs(): number {
    return this.clock.now() - this.connectedAt;
  }

  /** Sends a control message; false when the line is no longer open. */
  send(message: CloudToGateway, onWritten?: (err?: Error) => void): boolean {
    if (!this.open) return false;
    this.packet(this.clock.now());
    // A write callback makes the socket track the write and call back later: only when asked.
    if (onWritten) this.ws.send(encodeMessage(message), (err) => onWritten(err ?? undefined));
    else this.ws.send(encodeMessage(message));
    return true;
  }

  /**
   * Sends a message that the gateway must acknowledge under `key` within ackTimeoutMs
   * (a push or a probe); resolves with the outcome, never rejects.
   */
  exchange(key: string, message: CloudToGateway, ackTimeoutMs: number): Promise<ExchangeOutcome> {
    const idleBeforeMs = this.unprovenIdleMs();
    const ageMs = this.ageMs();
    const at = this.clock.now();
    return new Promise((resolve) => {
      const finish = (outcome: ExchangeOutcome) => {
        const entry = this.pending.get(key);
        if (!entry) return;
        this.pending.delete(key);
        this.clock.clearTimeout(entry.timer);
        resolve(outcome);
      };
      // The deadline is checked after the event loop's next read of the sockets (setImmediate
      // runs after I/O): an acknowledgement that arrived while the loop was busy still counts.
      const timer = this.clock.setTimeout(
        () => setImmediate(() => finish({ ok: false, failure: 'ack-timeout', idleBeforeMs, ageMs, at })),
        ackTimeoutMs,
      );
      this.pending.set(key, {
        timer,
        idleBeforeMs,
        at,
        resolve: (o) => finish(o),
      });
      const sent = this.send(message, (err) => {
        if (err) finish({ ok: false, failure: 'write-error', idleBeforeMs, ageMs, at });
      });
      if (!sent) finish({ ok: false, failure: 'reset', idleBeforeMs, ageMs, at });
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
    // Stamped at arrival: a loop that was busy saw the bytes late, and must not count its own
    // lag as idle time the line survived.
    const arrivedAt = Math.max(this.lastPacketAt, this.clock.now() - this.lagNowMs());
    const idleBeforeMs = Math.max(this.unprovenGapMs, arrivedAt - this.lastPacketAt);
    this.packet(arrivedAt);
    this.lastReceivedAt = arrivedAt;
    this.unprovenGapMs = 0;
    if (isBinary) {
      // Tunnel frames: the multiplexer reads them (made now if these are the first).
      if (this.tunnels) this.transport?.feed(data);
      return;
    }
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
    if (entry)
      entry.resolve({ ok: true, idleBeforeMs: entry.idleBeforeMs, ageMs: this.ageMs(), at: entry.at });
  }

  private packet(at: number): void {
    this.unprovenGapMs = Math.max(this.unprovenGapMs, at - this.lastPacketAt);
    this.lastPacketAt = Math.max(this.lastPacketAt, at);
  }

  private closed(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    for (const entry of [...this.pending.values()]) {
      entry.resolve({
        ok: false,
        failure: 'reset',
        idleBeforeMs: entry.idleBeforeMs,
        ageMs: this.ageMs(),
        at: entry.at,
      });
    }
    this.events.onClose(this, code, reason);
  }
}

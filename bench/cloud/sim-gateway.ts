/**
 * A simulated gateway for bench:cloud: the push protocol as the real gateway speaks it on
 * its lines (docs/push-protocol.md) — hello with its token, keep-alive after the advised idle
 * time, answer timeout, lost-line reports, reconnect with backoff, acknowledgements of pushes
 * and probes, restore — with none of the rest (no tunnels, devices, journal), so that one
 * process can hold thousands of them and the load generator is not what is measured.
 */
import WebSocket from 'ws';
import type { CloudToGateway, LostLine } from '../../src/protocol/messages.ts';
import { Backoff } from '../../src/retry/backoff.ts';
import type { SimGatewayIdentity } from './fleet-plan.ts';

/** What the lines of one fleet (all the gateways of a worker toward one server) count. */
export interface FleetStats {
  /** Keep-alive sent → keep-alive-ack received, ms. */
  keepaliveAnswerMs: number[];
  /** Connection started → welcome received, ms. */
  welcomeMs: number[];
  keepalivesSent: number;
  /** Keep-alives not answered within the answer timeout (the line was then dropped). */
  unanswered: number;
  pushesAcked: number;
  probesAcked: number;
  restores: number;
  /** Sessions that ended after their welcome (the gateway then reconnects). */
  linesLost: number;
  /** Attempts to open a line that ended before a welcome. */
  openFailures: number;
  errorMessages: number;
}

export const emptyFleetStats = (): FleetStats => ({
  keepaliveAnswerMs: [],
  welcomeMs: [],
  keepalivesSent: 0,
  unanswered: 0,
  pushesAcked: 0,
  probesAcked: 0,
  restores: 0,
  linesLost: 0,
  openFailures: 0,
  errorMessages: 0,
});

/** What the gateways of one fleet share. */
export interface FleetContext {
  /** The push endpoint a gateway's lines connect to. */
  urlOf(gateway: SimGatewayIdentity): string;
  /** Counters of the current measurement (replaced between phases). */
  stats(): FleetStats;
  /** Waits for one of the few opening handshakes allowed at once; call the result when done. */
  admit(): Promise<() => void>;
  /** The keep-alive interval used until the cloud advises one (the gateway's keepalive.default). */
  defaultKeepaliveMs: number;
  answerTimeoutMs: number;
}

/** The real gateway's defaults (src/config/gateway-config.ts and line-supervisor.ts). */
const OPEN_TIMEOUT_MS = 10_000;
const RECONNECT = { initialMs: 1000, maxMs: 120_000 };
const STABLE_AFTER_MS = 60_000;
const MAX_LOST_REPORTS = 64;
const SOFTWARE = 'bench-cloud-sim';

/** One simulated gateway with its push lines. */
export class SimGateway {
  readonly lines: SimLine[];
  /** Lines lost since the last hello, reported in the next one. */
  readonly lost: LostLine[] = [];
  readonly identity: SimGatewayIdentity;
  readonly fleet: FleetContext;
  private readonly bootedAt = performance.now();

  constructor(identity: SimGatewayIdentity, lineCount: number, fleet: FleetContext) {
    this.identity = identity;
    this.fleet = fleet;
    this.lines = Array.from({ length: lineCount }, (_, i) => new SimLine(this, `line-${i}`));
  }

  uptimeMs(): number {
    return performance.now() - this.bootedAt;
  }

  /** Opens every line; resolves once each has been welcomed once (retrying as the gateway does). */
  start(): Promise<void> {
    return Promise.all(this.lines.map((line) => line.start())).then(() => undefined);
  }

  /** The keep-alive interval each open line uses now (the cloud's latest advice), ms. */
  openIntervals(): number[] {
    return this.lines.filter((line) => line.isOpen).map((line) => line.keepaliveMs);
  }

  restore(connectionIds: string[]): void {
    for (const line of this.lines) if (connectionIds.includes(line.connectionId)) line.reopen();
  }

  stop(): void {
    for (const line of this.lines) line.stop();
  }

  noteLost(lost: LostLine): void {
    this.lost.push(lost);
    if (this.lost.length > MAX_LOST_REPORTS) this.lost.shift();
  }
}

/** One push line of a simulated gateway. */
class SimLine {
  private ws: WebSocket | null = null;
  private welcomed = false;
  private stopped = false;
  private intervalMs: number;
  private seq = 0;
  private lastTrafficAt = 0;
  private sessionStartedAt = 0;
  private pending: { seq: number; sentAt: number; idleBeforeMs: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly backoff = new Backoff(RECONNECT);
  private firstWelcome: (() => void) | null = null;
  private everWelcomed = false;
  private readonly gateway: SimGateway;
  readonly connectionId: string;

  constructor(gateway: SimGateway, connectionId: string) {
    this.gateway = gateway;
    this.connectionId = connectionId;
    this.intervalMs = gateway.fleet.defaultKeepaliveMs;
  }

  get isOpen(): boolean {
    return this.welcomed;
  }

  get keepaliveMs(): number {
    return this.intervalMs;
  }

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.firstWelcome = resolve;
      void this.connect();
    });
  }

  /** The cloud said this line is dead: drop it and open it again now. */
  reopen(): void {
    if (!this.welcomed || this.stopped) return;
    this.endSession('closed');
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.ws?.terminate();
    this.ws = null;
  }

  private async connect(): Promise<void> {
    const release = await this.gateway.fleet.admit();
    if (this.stopped) {
      release();
      return;
    }
    const { identity, fleet } = this.gateway;
    const startedAt = performance.now();
    let settled = false;
    // After this turn's socket reads (setImmediate), as for a keep-alive's answer (giveUp).
    const openTimer = setTimeout(() => setImmediate(fail), OPEN_TIMEOUT_MS);
    const fail = () => {
      if (settled) return;
      settled = true;
      clearTimeout(openTimer);
      release();
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      if (this.ws === ws) this.ws = null;
      fleet.stats().openFailures++;
      this.retryLater();
    };
    const ws = new WebSocket(fleet.urlOf(identity), {
      headers: { authorization: `Bearer ${identity.token}`, 'x-mfp-gateway': identity.id },
      perMessageDeflate: false,
      followRedirects: false,
    });
    this.ws = ws;
    ws.on('unexpected-response', (req) => {
      req.destroy();
      fail();
    });
    ws.on('open', () => {
      const reported = [...this.gateway.lost];
      ws.send(
        JSON.stringify({
          type: 'hello',
          v: 1,
          gatewayId: identity.id,
          clientId: identity.clientId,
          connectionId: this.connectionId,
          role: 'push',
          domain: identity.domain,
          uptimeMs: Math.round(this.gateway.uptimeMs()),
          cpuLoad: 0.1,
          powerMode: 'normal',
          keepaliveMs: this.intervalMs,
          policyLimited: false,
          software: SOFTWARE,
          lost: reported,
        }),
      );
      this.sessionStartedAt = performance.now();
      // Reported once: the next hello carries only what was lost since.
      for (const r of reported) this.gateway.lost.splice(this.gateway.lost.indexOf(r), 1);
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString()) as CloudToGateway;
      if (!settled) {
        if (message.type !== 'welcome') return fail();
        settled = true;
        clearTimeout(openTimer);
        release();
        fleet.stats().welcomeMs.push(performance.now() - startedAt);
        this.welcomed = true;
        this.intervalMs = message.advice.intervalMs;
        this.lastTrafficAt = performance.now();
        if (!this.everWelcomed) {
          // A fleet in its steady state keeps alive at every phase of the interval, not in step.
          this.lastTrafficAt -= Math.random() * this.intervalMs;
          this.everWelcomed = true;
          this.firstWelcome?.();
        }
        this.arm();
        return;
      }
      this.receive(ws, message);
    });
    ws.on('error', () => {
      if (!settled) fail();
    });
    ws.on('close', (code) => {
      if (!settled) return fail();
      if (this.ws === ws) this.endSession(code === 1006 ? 'error' : 'closed', true);
    });
  }

  private receive(ws: WebSocket, message: CloudToGateway): void {
    const stats = this.gateway.fleet.stats();
    const now = performance.now();
    this.lastTrafficAt = now;
    switch (message.type) {
      case 'keepalive-ack':
        if (this.pending?.seq === message.seq) {
          stats.keepaliveAnswerMs.push(now - this.pending.sentAt);
          this.pending = null;
        }
        this.intervalMs = message.advice.intervalMs;
        this.arm();
        break;
      case 'push':
        ws.send(JSON.stringify({ type: 'push-ack', pushId: message.pushId }));
        stats.pushesAcked++;
        break;
      case 'probe':
        ws.send(JSON.stringify({ type: 'probe-ack', probeId: message.probeId }));
        stats.probesAcked++;
        break;
      case 'advice':
        this.intervalMs = message.advice.intervalMs;
        this.arm();
        break;
      case 'restore':
        stats.restores++;
        this.gateway.restore(message.connectionIds);
        break;
      case 'error':
        stats.errorMessages++;
        break;
      default:
        break;
    }
  }

  /** Runs at the next moment something is due: a keep-alive, or the end of its answer wait. */
  private arm(): void {
    this.clearTimer();
    const { answerTimeoutMs } = this.gateway.fleet;
    const dueAt = this.pending ? this.pending.sentAt + answerTimeoutMs : this.lastTrafficAt + this.intervalMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, dueAt - performance.now()));
  }

  private tick(): void {
    this.timer = null;
    const ws = this.ws;
    if (!ws || !this.welcomed) return;
    const now = performance.now();
    if (this.pending) {
      if (now - this.pending.sentAt >= this.gateway.fleet.answerTimeoutMs) {
        // Timers run before the socket reads of the same loop turn: when this process was
        // late, the answer may be waiting unread. Judge after the reads (setImmediate), so a
        // busy load generator does not count its own lateness against the server.
        const { seq } = this.pending;
        setImmediate(() => this.giveUp(ws, seq));
        return;
      }
    } else if (now - this.lastTrafficAt >= this.intervalMs) {
      this.seq++;
      this.pending = { seq: this.seq, sentAt: now, idleBeforeMs: now - this.lastTrafficAt };
      this.lastTrafficAt = now;
      ws.send(
        JSON.stringify({
          type: 'keepalive',
          seq: this.seq,
          powerMode: 'normal',
          keepaliveMs: this.intervalMs,
          policyLimited: false,
        }),
      );
      this.gateway.fleet.stats().keepalivesSent++;
    }
    this.arm();
  }

  /** No answer to keep-alive `seq` on `ws`, even after reading what had arrived: the line is dead. */
  private giveUp(ws: WebSocket, seq: number): void {
    if (this.ws !== ws || this.pending?.seq !== seq) return;
    this.gateway.fleet.stats().unanswered++;
    this.gateway.noteLost({
      connectionId: this.connectionId,
      role: 'push',
      idleBeforeMs: Math.round(this.pending.idleBeforeMs),
      ageMs: Math.round(performance.now() - this.sessionStartedAt),
      reason: 'keepalive-timeout',
      policyLimited: false,
    });
    this.endSession(null);
    this.retryLater();
  }

  /**
   * Ends the current session; with a reason, the loss is reported in the next hello
   * (keep-alive timeouts report themselves), and with `reconnect` the line comes back.
   */
  private endSession(reason: 'error' | 'closed' | null, reconnect = false): void {
    const ws = this.ws;
    this.ws = null;
    this.clearTimer();
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
    if (!this.welcomed) return;
    this.welcomed = false;
    const now = performance.now();
    const age = now - this.sessionStartedAt;
    if (age >= STABLE_AFTER_MS) this.backoff.reset();
    this.gateway.fleet.stats().linesLost++;
    if (reason) {
      this.gateway.noteLost({
        connectionId: this.connectionId,
        role: 'push',
        idleBeforeMs: Math.round(now - this.lastTrafficAt),
        ageMs: Math.round(age),
        reason,
        policyLimited: false,
      });
    }
    this.pending = null;
    if (reconnect) this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped) return;
    setTimeout(() => void this.connect(), this.backoff.next());
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

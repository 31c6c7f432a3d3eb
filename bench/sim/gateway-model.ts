import type { Clock } from '../../src/clock/clock.ts';
import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import { domainOf, siteKey } from '../../src/cloud/learning/domain.ts';
import type { Candidate } from '../../src/cloud/learning/representative.ts';
import {
  type DeadLineInfo,
  isSettledAdvice,
  KeepaliveManager,
  type SlowStart,
} from '../../src/gateway/keepalive/keepalive-manager.ts';
import type { PowerMode } from '../../src/gateway/keepalive/power-policy.ts';
import type { SimCloud } from './cloud-model.ts';
import type { Firewall } from './firewall.ts';
import type { LineLife, SimMetrics } from './metrics.ts';
import {
  type DeathReport,
  type Delivery,
  type DownMessage,
  type GatewayPort,
  isProbeLine,
  type LineName,
  type ProbeLineName,
  PUSH_LINES,
  type PushLineName,
} from './wire.ts';

/** One simulated gateway box. */
export interface GatewaySpec {
  id: string;
  /** Its host name; the domain is derived from it. */
  host: string;
  /** When it boots, ms after the start of the week (default 0). */
  bootAtMs?: number;
  /** Uptime it already had at boot time, for the election (default 0). */
  uptimeAtBootMs?: number;
  /** CPU load 0..1 for the election (default 0.2). */
  cpuLoad?: number;
  mode: PowerMode;
}

/** What every simulated gateway shares. */
export interface GatewayContext {
  clock: Clock;
  firewall: Firewall;
  cloud: SimCloud;
  metrics: SimMetrics;
  egressAddress: string;
  answerTimeoutMs: number;
  /** Interval before the cloud's first advice, ms. */
  initialIntervalMs: number;
  /** The push lines' slow start while advice is not settled (absent: none). */
  slowStart?: SlowStart;
}

/** A probe line as the gateway holds it: one connection that only answers probes. */
interface ProbeConn {
  connId: number;
  openedAt: number;
  /** When a message last crossed it (the gap a close under it ends). */
  lastTrafficAt: number;
}

/** A push line as the gateway holds it: one connection and its keep-alive manager. */
interface ActiveLine {
  connId: number;
  manager: KeepaliveManager;
  life: LineLife;
}

/**
 * A gateway: two push lines, each driven by the real KeepaliveManager on the simulated clock,
 * and — when the cloud asks — probe lines that send nothing and only answer probes. The
 * socket work the real daemon does is reduced to firewall.pass calls.
 */
export class SimGateway implements GatewayPort {
  readonly id: string;
  readonly siteKey: string;
  private readonly ctx: GatewayContext;
  private readonly spec: GatewaySpec;
  private readonly lines = new Map<PushLineName, ActiveLine>();
  private readonly probeConns = new Map<ProbeLineName, ProbeConn>();
  private readonly mode: PowerMode;
  private bootedAt: number | null = null;
  private lastAdvice: KeepaliveAdvice | null = null;

  constructor(ctx: GatewayContext, spec: GatewaySpec) {
    this.ctx = ctx;
    this.spec = spec;
    this.id = spec.id;
    this.mode = spec.mode;
    this.siteKey = siteKey(domainOf(spec.host), ctx.egressAddress);
  }

  /** The advice the gateway last received. */
  get advice(): KeepaliveAdvice | null {
    return this.lastAdvice;
  }

  /** The interval its push lines use now, ms. */
  get intervalMs(): number {
    return this.anyLine()?.manager.intervalMs ?? this.ctx.initialIntervalMs;
  }

  /** Age of a push line's current connection, ms. */
  lineAge(line: PushLineName): number | null {
    const active = this.lines.get(line);
    return active ? this.ctx.clock.now() - active.life.openedAt : null;
  }

  /** The middlebox flow currently carrying a line. */
  connectionOf(line: LineName): number | null {
    if (isProbeLine(line)) return this.probeConns.get(line)?.connId ?? null;
    return this.lines.get(line)?.connId ?? null;
  }

  /** Powers on: registers with the cloud and opens both push lines. */
  boot(): void {
    this.bootedAt = this.ctx.clock.now();
    this.ctx.cloud.register(this);
    for (const line of PUSH_LINES) this.openLine(line, null);
  }

  candidate(now: number): Candidate {
    const uptime = this.bootedAt === null ? 0 : now - this.bootedAt;
    return {
      gatewayId: this.id,
      uptimeMs: uptime + (this.spec.uptimeAtBootMs ?? 0),
      cpuLoad: this.spec.cpuLoad ?? 0.2,
    };
  }

  deliver(line: LineName, message: DownMessage): Delivery {
    const { clock, firewall } = this.ctx;
    const now = clock.now();
    const connId = this.connectionOf(line);
    if (connId === null) return 'silent';
    if (!firewall.pass(connId, now)) return firewall.resets ? 'reset' : 'silent';
    if (isProbeLine(line)) {
      (this.probeConns.get(line) as ProbeConn).lastTrafficAt = now;
    } else {
      const active = this.lines.get(line) as ActiveLine;
      active.manager.noteTraffic('in');
      active.life.traffic.push(now);
    }
    this.takeAdvice(message.advice);
    // Acted on after the acknowledgement, as the daemon would from its event loop.
    clock.setTimeout(() => this.act(message), 0);
    return 'delivered';
  }

  /**
   * The path was cut under every line at once (a proxy restart): each push line sees its
   * connection close and reconnects at once, reporting the gap it sat; probe lines reconnect.
   */
  pathCut(): void {
    const now = this.ctx.clock.now();
    for (const line of PUSH_LINES) {
      const active = this.lines.get(line);
      if (!active) continue;
      this.closeLine(line, active);
      this.lines.delete(line);
      this.openLine(line, {
        reason: 'error',
        idleBeforeMs: this.ctx.clock.monotonic() - active.manager.lastTrafficAt,
        connectionAgeMs: now - active.life.openedAt,
        limitedByPolicy: active.manager.limitedByPolicy,
        at: now,
        sessionId: String(active.connId),
      });
    }
    for (const line of [...this.probeConns.keys()]) this.openProbeLine(line);
  }

  private act(message: DownMessage): void {
    for (const line of message.restore) {
      this.ctx.metrics.restoreTimes.push(this.ctx.clock.now());
      if (isProbeLine(line)) this.openProbeLine(line);
      else this.openLine(line, null);
    }
    if (message.kind === 'probe-open') for (const line of message.probeLines ?? []) this.openProbeLine(line);
    if (message.kind === 'probe-close')
      for (const line of message.probeLines ?? []) this.closeProbeLine(line);
  }

  private openLine(line: PushLineName, report: DeathReport | null): void {
    const { clock, firewall, metrics } = this.ctx;
    const now = clock.now();
    const previous = this.lines.get(line);
    const connId: number = firewall.open(now, () => this.closedUnder(line, connId));
    const manager = new KeepaliveManager({
      clock,
      initialIntervalMs: this.intervalMs,
      answerTimeoutMs: this.ctx.answerTimeoutMs,
      mode: this.mode,
      sendKeepalive: () => this.sendKeepalive(line, connId),
      onDead: (info) => this.lineDied(line, connId, info),
      onReplaceDue: () => this.replaceLine(line, connId),
      ...(this.ctx.slowStart ? { slowStart: this.ctx.slowStart } : {}),
    });
    const active: ActiveLine = { connId, manager, life: metrics.openLife(this.id, line, now) };
    this.lines.set(line, active);
    manager.start();
    // Make-before-break: the old connection closes only once the new one is up.
    if (previous) this.closeLine(line, previous);
    this.takeAdvice(this.ctx.cloud.connect(this.id, line, String(connId), report));
  }

  private closeLine(line: PushLineName, active: ActiveLine): void {
    const { clock, firewall, metrics } = this.ctx;
    const now = clock.now();
    active.manager.stop();
    const diedAt = firewall.deathAt(active.connId);
    if (diedAt !== undefined && diedAt <= now) {
      metrics.darkSpells.push({ gatewayId: this.id, line, diedAt, endedAt: now });
    }
    firewall.close(active.connId);
    active.life.closedAt = now;
  }

  private sendKeepalive(line: PushLineName, connId: number): void {
    const active = this.lines.get(line);
    if (active?.connId !== connId) return;
    const now = this.ctx.clock.now();
    active.life.keepalives.push(now);
    if (!this.ctx.firewall.pass(connId, now)) {
      // A reset answers the keep-alive at once: the line is dead now, not after the answer timeout.
      const sent = active.manager.unanswered;
      if (this.ctx.firewall.resets && sent !== null) {
        this.ctx.clock.setTimeout(
          () =>
            this.lineDied(line, connId, {
              idleBeforeMs: sent.idleBeforeMs,
              reason: 'keepalive-timeout',
              connectionAgeMs: this.wallOf(sent.sentAt) - active.life.openedAt,
              sentAt: sent.sentAt,
              limitedByPolicy: active.manager.limitedByPolicy,
            }),
          0,
        );
      }
      return;
    }
    const advice = this.ctx.cloud.keepalive(this.id, line, active.manager.limitedByPolicy);
    active.manager.noteAnswer();
    this.takeAdvice(advice);
  }

  /** The wall time of a monotonic reading (the keep-alive manager's times are monotonic). */
  private wallOf(monotonicMs: number): number {
    return monotonicMs + (this.ctx.clock.now() - this.ctx.clock.monotonic());
  }

  private lineDied(line: PushLineName, connId: number, info: DeadLineInfo): void {
    const active = this.lines.get(line);
    if (active?.connId !== connId) return;
    this.ctx.metrics.keepaliveDeathTimes.push(this.ctx.clock.now());
    this.closeLine(line, active);
    this.lines.delete(line);
    this.openLine(line, {
      reason: 'keepalive-timeout',
      idleBeforeMs: info.idleBeforeMs,
      connectionAgeMs: info.connectionAgeMs,
      limitedByPolicy: info.limitedByPolicy,
      at: this.wallOf(info.sentAt),
      sessionId: String(connId),
    });
  }

  private replaceLine(line: PushLineName, connId: number): void {
    if (this.lines.get(line)?.connId !== connId) return;
    this.ctx.metrics.replacementTimes.push(this.ctx.clock.now());
    this.openLine(line, null);
  }

  /**
   * A closing middlebox (a proxy's idle close) closed a line under both ends at once. The cloud
   * drops its end; the gateway does what PushLine.ended does: a close under an unanswered
   * keep-alive is that keep-alive failing (dated and aged when it left, at the gap before it),
   * any other is a connection dropped under it ('error', no WebSocket close frame) after the gap
   * since its last traffic, dated now. Either way it reconnects at once and reports the loss in
   * that line's hello. A probe line reconnects too (the gateway is still probing).
   */
  private closedUnder(line: LineName, connId: number): void {
    const { clock, cloud } = this.ctx;
    const now = clock.now();
    cloud.lineClosed(this.id, line, String(connId));
    if (isProbeLine(line)) {
      const probe = this.probeConns.get(line);
      if (probe?.connId !== connId) return;
      this.openProbeLine(line, {
        reason: 'error',
        idleBeforeMs: now - probe.lastTrafficAt,
        connectionAgeMs: now - probe.openedAt,
        limitedByPolicy: false,
        at: now,
        sessionId: String(connId),
      });
      return;
    }
    const active = this.lines.get(line);
    if (active?.connId !== connId) return;
    const sent = active.manager.unanswered;
    const report: DeathReport =
      sent === null
        ? {
            reason: 'error',
            idleBeforeMs: clock.monotonic() - active.manager.lastTrafficAt,
            connectionAgeMs: now - active.life.openedAt,
            limitedByPolicy: active.manager.limitedByPolicy,
            at: now,
            sessionId: String(connId),
          }
        : {
            reason: 'keepalive-timeout',
            idleBeforeMs: sent.idleBeforeMs,
            connectionAgeMs: this.wallOf(sent.sentAt) - active.life.openedAt,
            limitedByPolicy: active.manager.limitedByPolicy,
            at: this.wallOf(sent.sentAt),
            sessionId: String(connId),
          };
    this.closeLine(line, active);
    this.lines.delete(line);
    this.openLine(line, report);
  }

  private openProbeLine(line: ProbeLineName, report: DeathReport | null = null): void {
    this.closeProbeLine(line);
    const now = this.ctx.clock.now();
    const connId: number = this.ctx.firewall.open(now, () => this.closedUnder(line, connId));
    this.probeConns.set(line, { connId, openedAt: now, lastTrafficAt: now });
    this.takeAdvice(this.ctx.cloud.connect(this.id, line, String(connId), report));
  }

  private closeProbeLine(line: ProbeLineName): void {
    const probe = this.probeConns.get(line);
    if (probe !== undefined) this.ctx.firewall.close(probe.connId);
    this.probeConns.delete(line);
  }

  private takeAdvice(advice: KeepaliveAdvice): void {
    this.lastAdvice = advice;
    for (const active of this.lines.values()) {
      active.manager.applyAdvice(advice.intervalMs, isSettledAdvice(advice));
      active.manager.setReplaceBeforeAge(advice.reconnectBeforeAgeMs);
    }
    this.ctx.metrics.noteAdvice(this.id, this.ctx.clock.now(), advice, this.intervalMs);
  }

  private anyLine(): ActiveLine | undefined {
    return this.lines.values().next().value;
  }
}

import type { Clock, TimerHandle } from '../../src/clock/clock.ts';
import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import { boundsOf, type Evidence, emptyEvidence, foldRecord } from '../../src/cloud/learning/evidence.ts';
import {
  adviceFromBounds,
  type DecidedBounds,
  decideBounds,
  domainBounds,
} from '../../src/cloud/learning/interval-decision.ts';
import type { LearningConfig } from '../../src/cloud/learning/learning-config.ts';
import { nextProbeGap } from '../../src/cloud/learning/probe-planner.ts';
import { electRepresentative } from '../../src/cloud/learning/representative.ts';
import type { StatusRecord } from '../../src/cloud/learning/status-record.ts';
import type { SimMetrics } from './metrics.ts';
import {
  type DeathReport,
  type DownMessage,
  type GatewayPort,
  type LineName,
  PUSH_LINES,
  type PushLineName,
} from './wire.ts';

const HOUR_MS = 3_600_000;

/** The cloud's view of one line: open until it saw it fail or the gateway replaced it. */
interface CloudLine {
  open: boolean;
  openedAt: number;
  lastTrafficAt: number;
  /** The connection's session: the cloud and the gateway name its one death alike. */
  sessionId: string;
}

/** Everything the cloud keeps per gateway. */
interface CloudGateway {
  port: GatewayPort;
  evidence: Evidence;
  lines: Map<LineName, CloudLine>;
  bounds: DecidedBounds | null;
  advice: KeepaliveAdvice | null;
}

/** Where the site's probing stands. */
type ProbeState = 'idle' | 'scheduled' | 'awaiting-line' | 'awaiting-ack';

/** Gateways behind one middlebox (same domain, same egress) and their representative's probing. */
interface CloudSite {
  members: string[];
  representative: string | null;
  probeState: ProbeState;
  probeStateSince: number;
  probeTimer: TimerHandle | undefined;
}

/** How the simulated cloud is wired. */
export interface CloudModelOptions {
  clock: Clock;
  config: LearningConfig;
  /** How long the cloud waits for an acknowledgement before it calls a send failed, ms. */
  ackDeadlineMs: number;
  metrics: SimMetrics;
}

/**
 * The reference cloud's keep-alive half, reduced to what the week needs: the status log, the
 * interval decision (recomputed, as the seed says, on every failure, whenever a success beats
 * the stored value, and hourly for the window), pushes with retry on the other line and
 * restore of the dead one, the representative election and its probe line.
 */
export class SimCloud {
  private readonly clock: Clock;
  private readonly config: LearningConfig;
  private readonly ackDeadlineMs: number;
  private readonly metrics: SimMetrics;
  private readonly gateways = new Map<string, CloudGateway>();
  private readonly sites = new Map<string, CloudSite>();
  private readonly probes = new Map<string, number>();
  private nextRecordId = 1;

  constructor(options: CloudModelOptions) {
    this.clock = options.clock;
    this.config = options.config;
    this.ackDeadlineMs = options.ackDeadlineMs;
    this.metrics = options.metrics;
    this.scheduleTick();
  }

  /** A gateway booted: from now on it belongs to its site. */
  register(port: GatewayPort): void {
    this.gateways.set(port.id, {
      port,
      evidence: emptyEvidence(),
      lines: new Map(),
      bounds: null,
      advice: null,
    });
    let site = this.sites.get(port.siteKey);
    if (!site) {
      site = {
        members: [],
        representative: null,
        probeState: 'idle',
        probeStateSince: 0,
        probeTimer: undefined,
      };
      this.sites.set(port.siteKey, site);
    }
    site.members.push(port.id);
    this.markSiteDirty(port.siteKey);
  }

  /** A line (re)connected; a report says why the previous connection of that line was lost. */
  connect(gatewayId: string, line: LineName, sessionId: string, report: DeathReport | null): KeepaliveAdvice {
    const gw = this.gateway(gatewayId);
    const now = this.clock.now();
    gw.lines.set(line, { open: true, openedAt: now, lastTrafficAt: now, sessionId });
    if (report) {
      this.record(gw, line, 'keepalive', 'NG', report.idleBeforeMs, report.connectionAgeMs, {
        failure: 'keepalive-timeout',
        policyLimited: report.limitedByPolicy,
        at: report.at,
        sessionId: report.sessionId,
      });
    }
    const site = this.siteOf(gw);
    if (site.representative === gatewayId) {
      if (line === 'probe' && site.probeState === 'awaiting-line') this.setProbeState(site, 'idle');
      // A new line may be what the representative's probing was waiting for.
      this.replan(site);
    }
    return this.adviceFor(gatewayId);
  }

  /** A keep-alive arrived on a push line: an OK record at its idle gap; the reply carries advice. */
  keepalive(gatewayId: string, line: PushLineName, policyLimited: boolean): KeepaliveAdvice {
    const gw = this.gateway(gatewayId);
    const state = gw.lines.get(line);
    if (state?.open) {
      const now = this.clock.now();
      this.record(gw, line, 'keepalive', 'OK', now - state.lastTrafficAt, now - state.openedAt, {
        policyLimited,
      });
      state.lastTrafficAt = now;
    }
    return this.adviceFor(gatewayId);
  }

  /** A job for the gateway: sent on the first live line, retried on the other on failure. */
  push(gatewayId: string): void {
    this.metrics.pushTimes.push(this.clock.now());
    this.sendDown(gatewayId, 'push', []);
  }

  /** The advice for a gateway, recomputed when new evidence may have changed it. */
  adviceFor(gatewayId: string): KeepaliveAdvice {
    this.refresh(this.gateway(gatewayId));
    return this.gateway(gatewayId).advice as KeepaliveAdvice;
  }

  /** Probes sent on a gateway's probe line so far. */
  probesOf(gatewayId: string): number {
    return this.probes.get(gatewayId) ?? 0;
  }

  /** The elected representative of a gateway's site. */
  representativeOf(gatewayId: string): string | null {
    return this.siteOf(this.gateway(gatewayId)).representative;
  }

  /** Sends on the first live push line; on failure retries on the next and asks for the dead one back. */
  private sendDown(
    gatewayId: string,
    kind: DownMessage['kind'],
    tried: readonly PushLineName[],
    onLost?: () => void,
  ): void {
    const gw = this.gateway(gatewayId);
    const now = this.clock.now();
    // Primary and standby: the first live line carries everything, so its keep-alives are mostly
    // replaced by real traffic and only the standby's are pure overhead.
    let best: { name: PushLineName; state: CloudLine } | null = null;
    for (const name of PUSH_LINES) {
      const state = gw.lines.get(name);
      if (state?.open && !tried.includes(name)) {
        best = { name, state };
        break;
      }
    }
    if (best === null) {
      if (kind === 'push') this.metrics.lostPushTimes.push(now);
      onLost?.();
      return;
    }
    const { name, state } = best;
    const idle = now - state.lastTrafficAt;
    const age = now - state.openedAt;
    const restore = tried.filter((line) => gw.lines.get(line)?.open === false);
    const message: DownMessage = { kind, advice: this.adviceFor(gatewayId), restore };
    if (gw.port.deliver(name, message)) {
      state.lastTrafficAt = now;
      this.record(gw, name, 'push', 'OK', idle, age, {});
      return;
    }
    if (kind === 'push') this.metrics.failedPushAttemptTimes.push(now);
    this.clock.setTimeout(() => {
      this.record(gw, name, 'push', 'NG', idle, age, {
        failure: 'ack-timeout',
        at: now,
        sessionId: state.sessionId,
      });
      if (gw.lines.get(name) === state) state.open = false;
      this.sendDown(gatewayId, kind, [...tried, name], onLost);
    }, this.ackDeadlineMs);
  }

  private record(
    gw: CloudGateway,
    line: LineName,
    dataType: StatusRecord['dataType'],
    status: StatusRecord['status'],
    idleBeforeMs: number,
    connectionAgeMs: number,
    extra: { failure?: StatusRecord['failure']; policyLimited?: boolean; at?: number; sessionId?: string },
  ): void {
    const record: StatusRecord = {
      id: this.nextRecordId++,
      time: extra.at ?? this.clock.now(),
      gatewayId: gw.port.id,
      clientId: `${gw.port.id}-client`,
      connectionId: line,
      role: line === 'probe' ? 'probe' : 'push',
      dataType,
      status,
      idleBeforeMs,
      connectionAgeMs,
      policyLimited: extra.policyLimited ?? false,
    };
    if (extra.failure) record.failure = extra.failure;
    if (extra.sessionId !== undefined) record.sessionId = extra.sessionId;
    const siteCapMs = domainBounds(this.peerBounds(gw), this.config)?.lifetimeCapMs ?? null;
    const next = foldRecord(gw.evidence, record, { config: this.config, siteCapMs });
    if (next === gw.evidence) return;
    gw.evidence = next;
    // The evidence changed (the seed's recompute triggers): advice is stale for the whole site.
    const site = this.siteOf(gw);
    for (const id of site.members) this.gateway(id).bounds = null;
    this.replan(site);
  }

  private peerBounds(gw: CloudGateway) {
    const now = this.clock.now();
    return this.siteOf(gw)
      .members.filter((id) => id !== gw.port.id)
      .map((id) => boundsOf(this.gateway(id).evidence, now, this.config));
  }

  private refresh(gw: CloudGateway): void {
    if (gw.bounds !== null && gw.advice !== null) return;
    const own = boundsOf(gw.evidence, this.clock.now(), this.config);
    const bounds = decideBounds({ own, peers: this.peerBounds(gw), config: this.config });
    gw.bounds = bounds;
    gw.advice = adviceFromBounds(bounds, this.config);
  }

  private markSiteDirty(key: string): void {
    const site = this.sites.get(key);
    if (!site) return;
    for (const id of site.members) this.gateway(id).bounds = null;
    this.elect(site);
    this.replan(site);
  }

  private scheduleTick(): void {
    this.clock.setTimeout(() => {
      for (const key of this.sites.keys()) {
        const site = this.sites.get(key) as CloudSite;
        // A request that got no answer in an hour (both lines were dead) is forgotten and redone.
        const stuck =
          site.probeState === 'awaiting-line' && this.clock.now() - site.probeStateSince >= HOUR_MS;
        if (stuck) this.setProbeState(site, 'idle');
        this.markSiteDirty(key);
      }
      this.scheduleTick();
    }, HOUR_MS);
  }

  private elect(site: CloudSite): void {
    const now = this.clock.now();
    const chosen = electRepresentative(site.members.map((id) => this.gateway(id).port.candidate(now)));
    if (chosen === site.representative) return;
    if (site.representative !== null) this.closeProbeLine(site, site.representative);
    if (site.probeState !== 'awaiting-ack') this.setProbeState(site, 'idle');
    site.representative = chosen;
  }

  /** Decides the next probe of the site's representative from the site's decided bounds. */
  private replan(site: CloudSite): void {
    const repId = site.representative;
    if (repId === null || site.probeState === 'awaiting-line' || site.probeState === 'awaiting-ack') return;
    const rep = this.gateway(repId);
    this.refresh(rep);
    const bounds = rep.bounds as DecidedBounds;
    const gap = nextProbeGap(bounds, this.config);
    this.clock.clearTimeout(site.probeTimer);
    this.setProbeState(site, 'idle');
    if (gap === null) {
      this.closeProbeLine(site, repId);
      return;
    }
    const probe = rep.lines.get('probe');
    const now = this.clock.now();
    const due = probe ? probe.lastTrafficAt + gap : 0;
    const capLimit =
      bounds.lifetimeCapMs === null
        ? Number.POSITIVE_INFINITY
        : bounds.lifetimeCapMs * this.config.reconnectBeforeCapFraction;
    // A line already idle past the gap, or one that would outlive the cap first, cannot measure
    // it; a fresh one can (the planner never asks for more than the cap allows).
    const unfit =
      probe !== undefined && probe.openedAt < now && (due < now || due - probe.openedAt > capLimit);
    if (!probe?.open || unfit) {
      this.setProbeState(site, 'awaiting-line');
      this.sendDown(repId, 'probe-open', [], () => this.setProbeState(site, 'idle'));
      return;
    }
    this.setProbeState(site, 'scheduled');
    site.probeTimer = this.clock.setTimeout(() => this.sendProbe(site, repId), due - now);
  }

  private sendProbe(site: CloudSite, repId: string): void {
    const rep = this.gateway(repId);
    const probe = rep.lines.get('probe');
    if (!probe?.open || site.representative !== repId) {
      this.setProbeState(site, 'idle');
      this.replan(site);
      return;
    }
    const now = this.clock.now();
    const idle = now - probe.lastTrafficAt;
    const age = now - probe.openedAt;
    this.metrics.probeTimes.push(now);
    this.probes.set(repId, this.probesOf(repId) + 1);
    this.setProbeState(site, 'awaiting-ack');
    if (rep.port.deliver('probe', { kind: 'probe', advice: this.adviceFor(repId), restore: [] })) {
      probe.lastTrafficAt = now;
      this.setProbeState(site, 'idle');
      this.record(rep, 'probe', 'probe', 'OK', idle, age, {});
      this.replan(site);
      return;
    }
    this.clock.setTimeout(() => {
      probe.open = false;
      this.setProbeState(site, 'idle');
      this.record(rep, 'probe', 'probe', 'NG', idle, age, {
        failure: 'ack-timeout',
        at: now,
        sessionId: probe.sessionId,
      });
      this.replan(site);
    }, this.ackDeadlineMs);
  }

  private closeProbeLine(site: CloudSite, gatewayId: string): void {
    this.clock.clearTimeout(site.probeTimer);
    const probe = this.gateway(gatewayId).lines.get('probe');
    if (!probe?.open) return;
    probe.open = false;
    this.sendDown(gatewayId, 'probe-close', []);
  }

  private setProbeState(site: CloudSite, state: ProbeState): void {
    site.probeState = state;
    site.probeStateSince = this.clock.now();
  }

  private gateway(id: string): CloudGateway {
    const gw = this.gateways.get(id);
    if (!gw) throw new Error(`unknown gateway ${id}`);
    return gw;
  }

  private siteOf(gw: CloudGateway): CloudSite {
    return this.sites.get(gw.port.siteKey) as CloudSite;
  }
}

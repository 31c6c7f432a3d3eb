import type { Clock, TimerHandle } from '../../src/clock/clock.ts';
import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import { boundsOf, type Evidence, emptyEvidence, foldRecord } from '../../src/cloud/learning/evidence.ts';
import {
  adviceFromBounds,
  type DecidedBounds,
  decideBounds,
  domainBounds,
} from '../../src/cloud/learning/interval-decision.ts';
import { type LearningConfig, PROBE_LINES } from '../../src/cloud/learning/learning-config.ts';
import { probeOverdueMs } from '../../src/cloud/learning/probe-overdue.ts';
import { assignProbes, type ProbeLineView, probeTargets } from '../../src/cloud/learning/probe-planner.ts';
import { electRepresentative } from '../../src/cloud/learning/representative.ts';
import type { StatusRecord } from '../../src/cloud/learning/status-record.ts';
import type { SimMetrics } from './metrics.ts';
import {
  type DeathReport,
  type DownMessage,
  type GatewayPort,
  isProbeLine,
  type LineName,
  type ProbeLineName,
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

/** Where one probe line stands. */
interface ProbeSlot {
  /** The next probe, when one is planned. */
  timer: TimerHandle | undefined;
  /** A probe is out and not yet answered. */
  inFlight: boolean;
  /** The cloud asked the gateway to (re)open the line at this time and waits for it; null: not waiting. */
  requestedAt: number | null;
}

/** Everything the cloud keeps per gateway. */
interface CloudGateway {
  port: GatewayPort;
  evidence: Evidence;
  lines: Map<LineName, CloudLine>;
  probeSlots: Map<ProbeLineName, ProbeSlot>;
  bounds: DecidedBounds | null;
  advice: KeepaliveAdvice | null;
  /** What the gateway was last told (interval, replacement age, converged): a change is worth a message. */
  toldKey: string | null;
  /** A probe of its lines has been answered (the sim's answers take no time: the slowest is 0). */
  answered: boolean;
}

/** Gateways behind one middlebox (same domain, same egress) and their representative. */
interface CloudSite {
  members: string[];
  representative: string | null;
}

/** How the simulated cloud is wired. */
export interface CloudModelOptions {
  clock: Clock;
  config: LearningConfig;
  /** How long the cloud waits for an acknowledgement before it calls a send failed, ms. */
  ackDeadlineMs: number;
  /** The same for a probe (the cloud's keepalive.probeAckTimeout), ms. */
  probeAckDeadlineMs: number;
  metrics: SimMetrics;
  /** Probe lines the representative keeps while learning (default PROBE_LINES). */
  probeLines?: number;
}

const PROBE_NAMES = (count: number): ProbeLineName[] =>
  Array.from({ length: count }, (_, i) => `probe-${i}` as ProbeLineName);

/**
 * The reference cloud's keep-alive half, reduced to what the week needs: the status log, the
 * interval decision (recomputed, as the seed says, on every failure, whenever a success beats
 * the stored value, and hourly for the window), advice sent when it changes, pushes with retry
 * on the other line and restore of the dead one, the representative election and its probe
 * lines, planned by the real assignProbes.
 */
export class SimCloud {
  private readonly clock: Clock;
  private readonly config: LearningConfig;
  private readonly ackDeadlineMs: number;
  private readonly probeAckDeadlineMs: number;
  private readonly metrics: SimMetrics;
  private readonly probeNames: ProbeLineName[];
  private readonly gateways = new Map<string, CloudGateway>();
  private readonly sites = new Map<string, CloudSite>();
  private readonly probes = new Map<string, number>();
  private nextRecordId = 1;

  constructor(options: CloudModelOptions) {
    this.clock = options.clock;
    this.config = options.config;
    this.ackDeadlineMs = options.ackDeadlineMs;
    this.probeAckDeadlineMs = options.probeAckDeadlineMs;
    this.metrics = options.metrics;
    this.probeNames = PROBE_NAMES(options.probeLines ?? PROBE_LINES);
    this.scheduleTick();
  }

  /** A gateway booted: from now on it belongs to its site. */
  register(port: GatewayPort): void {
    this.gateways.set(port.id, {
      port,
      evidence: emptyEvidence(),
      lines: new Map(),
      probeSlots: new Map(),
      bounds: null,
      advice: null,
      toldKey: null,
      answered: false,
    });
    let site = this.sites.get(port.siteKey);
    if (!site) {
      site = { members: [], representative: null };
      this.sites.set(port.siteKey, site);
    }
    site.members.push(port.id);
    this.markSiteDirty(port.siteKey);
  }

  /** A line (re)connected; a report says why the previous connection of that line was lost. */
  connect(gatewayId: string, line: LineName, sessionId: string, report: DeathReport | null): KeepaliveAdvice {
    const gw = this.gateway(gatewayId);
    const now = this.clock.now();
    const previous = gw.lines.get(line);
    if (previous) previous.open = false;
    gw.lines.set(line, { open: true, openedAt: now, lastTrafficAt: now, sessionId });
    if (report) {
      // As the push server's lossRecords: a connection dropped under the gateway is a reset.
      this.record(gw, line, 'keepalive', 'NG', report.idleBeforeMs, report.connectionAgeMs, {
        failure: report.reason === 'error' ? 'reset' : 'keepalive-timeout',
        policyLimited: report.limitedByPolicy,
        at: report.at,
        sessionId: report.sessionId,
      });
    }
    if (isProbeLine(line)) {
      const slot = this.slot(gw, line);
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.inFlight = false;
      slot.requestedAt = null;
    }
    const site = this.siteOf(gw);
    // A new line may be what the representative's probing was waiting for.
    if (site.representative === gatewayId) this.replan(site);
    const advice = this.adviceFor(gatewayId);
    if (!isProbeLine(line)) gw.toldKey = adviceKey(advice);
    return advice;
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
    const advice = this.adviceFor(gatewayId);
    gw.toldKey = adviceKey(advice);
    return advice;
  }

  /**
   * The middlebox closed a line under the cloud (a proxy's idle close reached the cloud's end).
   * As the push server's onClose: the line leaves the directory, and a probe line's pending
   * probe is dropped (ProbeRunner.untrack). Nothing is recorded: the evidence comes with the
   * gateway's next hello, which reports the loss. A session already replaced is no news.
   */
  lineClosed(gatewayId: string, line: LineName, sessionId: string): void {
    const gw = this.gateway(gatewayId);
    const state = gw.lines.get(line);
    if (!state?.open || state.sessionId !== sessionId) return;
    state.open = false;
    if (isProbeLine(line)) {
      const slot = this.slot(gw, line);
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.inFlight = false;
    }
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

  /** Probes sent on a gateway's probe lines so far. */
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
    tried: readonly LineName[],
    extra: { probeLines?: readonly ProbeLineName[]; onLost?: () => void; pushFirst?: boolean } = {},
  ): void {
    const gw = this.gateway(gatewayId);
    const now = this.clock.now();
    // Primary and standby: the first live line carries everything, so its keep-alives are mostly
    // replaced by real traffic and only the standby's are pure overhead. A request to reopen
    // probe lines goes, as the push server's restore, over the line heard from last, probe lines
    // included: behind a middlebox stricter than the default the push lines are dead by then.
    // An overdue probe's lines are asked back over a push line first, as the push server does.
    const heardLast = kind === 'probe-open' ? this.heardLastFirst(gw, extra.probeLines ?? []) : PUSH_LINES;
    const order = extra.pushFirst ? [...PUSH_LINES, ...heardLast] : heardLast;
    let best: { name: LineName; state: CloudLine } | null = null;
    for (const name of order) {
      const state = gw.lines.get(name);
      if (state?.open && !tried.includes(name)) {
        best = { name, state };
        break;
      }
    }
    if (best === null) {
      if (kind === 'push') this.metrics.lostPushTimes.push(now);
      extra.onLost?.();
      return;
    }
    const { name, state } = best;
    const idle = now - state.lastTrafficAt;
    const age = now - state.openedAt;
    const restore = tried.filter((line) => gw.lines.get(line)?.open === false);
    const advice = this.adviceFor(gatewayId);
    const message: DownMessage = {
      kind,
      advice,
      restore,
      ...(extra.probeLines ? { probeLines: extra.probeLines } : {}),
    };
    const delivery = gw.port.deliver(name, message);
    if (delivery === 'delivered') {
      state.lastTrafficAt = now;
      gw.toldKey = adviceKey(advice);
      this.record(gw, name, kind === 'push' ? 'push' : 'keepalive', 'OK', idle, age, {});
      return;
    }
    if (kind === 'push') this.metrics.failedPushAttemptTimes.push(now);
    // A reset tells at once; silence only when the acknowledgement is overdue.
    const wait = delivery === 'reset' ? 0 : this.ackDeadlineMs;
    this.clock.setTimeout(() => {
      this.record(gw, name, kind === 'push' ? 'push' : 'keepalive', 'NG', idle, age, {
        failure: delivery === 'reset' ? 'reset' : 'ack-timeout',
        at: now,
        sessionId: state.sessionId,
      });
      if (gw.lines.get(name) === state) state.open = false;
      this.sendDown(gatewayId, kind, [...tried, name], extra);
    }, wait);
  }

  /** Open lines of a gateway, push and probe, heard from last first (as the push server's restore); none of `except`. */
  private heardLastFirst(gw: CloudGateway, except: readonly LineName[]): LineName[] {
    return [...gw.lines.entries()]
      .filter(([name, line]) => line.open && !except.includes(name))
      .sort((a, b) => b[1].lastTrafficAt - a[1].lastTrafficAt)
      .map(([name]) => name);
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
      role: isProbeLine(line) ? 'probe' : 'push',
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
    // As the push server's notifyAdvice: a gateway whose advice changed is told at once.
    this.clock.setTimeout(() => {
      for (const id of site.members) this.tellIfChanged(id);
    }, 0);
  }

  private tellIfChanged(gatewayId: string): void {
    const gw = this.gateway(gatewayId);
    if (gw.toldKey === null || gw.toldKey === adviceKey(this.adviceFor(gatewayId))) return;
    this.sendDown(gatewayId, 'advice', []);
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
      for (const key of this.sites.keys()) this.markSiteDirty(key);
      this.scheduleTick();
    }, HOUR_MS);
  }

  private elect(site: CloudSite): void {
    const now = this.clock.now();
    const chosen = electRepresentative(site.members.map((id) => this.gateway(id).port.candidate(now)));
    if (chosen === site.representative) return;
    if (site.representative !== null) this.closeProbeLines(this.gateway(site.representative));
    site.representative = chosen;
  }

  /** Plans every probe line of the site's representative afresh from the site's decided bounds. */
  private replan(site: CloudSite): void {
    const repId = site.representative;
    if (repId === null) return;
    const rep = this.gateway(repId);
    this.refresh(rep);
    const bounds = rep.bounds as DecidedBounds;
    const now = this.clock.now();
    const capLimit =
      bounds.lifetimeCapMs === null
        ? Number.POSITIVE_INFINITY
        : bounds.lifetimeCapMs * this.config.reconnectBeforeCapFraction;
    const views: ProbeLineView[] = [];
    const missing: ProbeLineName[] = [];
    for (const name of this.probeNames) {
      const slot = this.slot(rep, name);
      if (slot.inFlight) continue;
      const line = rep.lines.get(name);
      if (!line?.open) {
        // A request that got no answer in an hour (both push lines were dead) is made again.
        if (slot.requestedAt === null || now - slot.requestedAt >= HOUR_MS) missing.push(name);
        continue;
      }
      views.push({ id: name, idleMs: now - line.lastTrafficAt });
    }
    if (probeTargets(bounds, this.config).length === 0) {
      this.closeProbeLines(rep);
      return;
    }
    const plan = assignProbes(bounds, views, this.config);
    const reopen: ProbeLineName[] = [...missing];
    for (const step of plan) {
      const name = step.id as ProbeLineName;
      const slot = this.slot(rep, name);
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      const line = rep.lines.get(name) as CloudLine;
      // A line that would outlive the cap before its gap cannot measure it; a fresh one can.
      if ('reopen' in step || line.lastTrafficAt + step.gapMs - line.openedAt > capLimit) {
        reopen.push(name);
        continue;
      }
      slot.timer = this.clock.setTimeout(
        () => this.sendProbe(rep, name),
        Math.max(0, line.lastTrafficAt + step.gapMs - now),
      );
    }
    this.reopenProbeLines(rep, reopen);
  }

  /** Closes the cloud's end of these probe lines and asks the gateway to open them afresh. */
  private reopenProbeLines(rep: CloudGateway, names: ProbeLineName[], pushFirst = false): void {
    if (names.length === 0) return;
    const now = this.clock.now();
    for (const name of names) {
      const line = rep.lines.get(name);
      if (line) line.open = false;
      this.slot(rep, name).requestedAt = now;
    }
    this.sendDown(rep.port.id, 'probe-open', [], {
      probeLines: names,
      pushFirst,
      onLost: () => {
        for (const name of names) this.slot(rep, name).requestedAt = null;
      },
    });
  }

  private sendProbe(rep: CloudGateway, name: ProbeLineName): void {
    const slot = this.slot(rep, name);
    slot.timer = undefined;
    const site = this.siteOf(rep);
    const probe = rep.lines.get(name);
    if (!probe?.open || site.representative !== rep.port.id) {
      this.replan(site);
      return;
    }
    const now = this.clock.now();
    const idle = now - probe.lastTrafficAt;
    const age = now - probe.openedAt;
    this.metrics.probeTimes.push(now);
    this.probes.set(rep.port.id, this.probesOf(rep.port.id) + 1);
    slot.inFlight = true;
    const delivery = rep.port.deliver(name, {
      kind: 'probe',
      advice: this.adviceFor(rep.port.id),
      restore: [],
    });
    if (delivery === 'delivered') {
      probe.lastTrafficAt = now;
      slot.inFlight = false;
      rep.answered = true;
      this.record(rep, name, 'probe', 'OK', idle, age, {});
      this.replan(site);
      return;
    }
    const failed = () => {
      probe.open = false;
      slot.inFlight = false;
      this.record(rep, name, 'probe', 'NG', idle, age, {
        failure: delivery === 'reset' ? 'reset' : 'ack-timeout',
        at: now,
        sessionId: probe.sessionId,
      });
      this.replan(site);
    };
    if (delivery === 'reset') {
      failed();
      return;
    }
    this.clock.setTimeout(failed, this.probeAckDeadlineMs);
    // As ProbeRunner: an overdue probe (the sim's answers take no time) reopens the lines idle as long.
    const overdueMs = probeOverdueMs(rep.answered ? 0 : null, this.probeAckDeadlineMs);
    if (overdueMs !== null) {
      this.clock.setTimeout(() => {
        if (slot.inFlight) this.reopenIdlePast(rep, idle);
      }, overdueMs);
    }
  }

  /** Reopens the representative's idle probe lines that have sat at least gapMs (as ProbeRunner.overdue). */
  private reopenIdlePast(rep: CloudGateway, gapMs: number): void {
    const now = this.clock.now();
    const idle = this.probeNames.filter((name) => {
      const slot = this.slot(rep, name);
      const line = rep.lines.get(name);
      if (slot.inFlight || !line?.open || now - line.lastTrafficAt < gapMs) return false;
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      return true;
    });
    this.reopenProbeLines(rep, idle, true);
  }

  private closeProbeLines(gw: CloudGateway): void {
    const open: ProbeLineName[] = [];
    for (const name of this.probeNames) {
      const slot = this.slot(gw, name);
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.requestedAt = null;
      const line = gw.lines.get(name);
      if (line?.open) {
        line.open = false;
        open.push(name);
      }
    }
    if (open.length > 0) this.sendDown(gw.port.id, 'probe-close', [], { probeLines: open });
  }

  private slot(gw: CloudGateway, name: ProbeLineName): ProbeSlot {
    let slot = gw.probeSlots.get(name);
    if (!slot) {
      slot = { timer: undefined, inFlight: false, requestedAt: null };
      gw.probeSlots.set(name, slot);
    }
    return slot;
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

/** What the gateway acts on in advice (as the push server's adviceKey), plus whether it is final. */
function adviceKey(advice: KeepaliveAdvice): string {
  return `${advice.intervalMs}|${advice.reconnectBeforeAgeMs}|${advice.converged}`;
}

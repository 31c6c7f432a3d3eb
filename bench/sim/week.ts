import { ManualClock } from '../../src/clock/manual-clock.ts';
import { DEFAULT_LEARNING_CONFIG, type LearningConfig } from '../../src/cloud/learning/learning-config.ts';
import { DEFAULT_ANSWER_TIMEOUT_MS, SLOW_START } from '../../src/config/keepalive-defaults.ts';
import { PROBE_ACK_TIMEOUT_MS } from '../../src/config/learning-defaults.ts';
import type { SlowStart } from '../../src/gateway/keepalive/keepalive-manager.ts';
import { SimCloud } from './cloud-model.ts';
import { Firewall, type OnExpiry } from './firewall.ts';
import { type GatewaySpec, SimGateway } from './gateway-model.ts';
import { countBetween, keepalivesAtInterval, SimMetrics } from './metrics.ts';
import { Prng } from './prng.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

/** Pushes arrive as a Poisson process, one per 20 min per gateway on average. */
export const PUSH_MEAN_GAP_MS = 20 * MINUTE_MS;
/** How long the cloud waits for an acknowledgement of a push (push.ackTimeout). */
export const ACK_DEADLINE_MS = 10_000;
/** How long it waits for the acknowledgement of a probe (keepalive.probeAckTimeout). */
export const PROBE_ACK_DEADLINE_MS = PROBE_ACK_TIMEOUT_MS;

/** One office: a middlebox, its egress address, and the gateways behind it. */
export interface SiteSpec {
  egressAddress: string;
  idleTimeoutMs: number;
  lifetimeCapMs?: number | null;
  /** The middlebox becomes stricter at this offset. */
  stricter?: { atMs: number; idleTimeoutMs: number };
  /**
   * What a forgotten connection gets: silence (default), a reset for its next packet, or a
   * close at the moment it expires (a proxy timing a tunnel out).
   */
  onExpiry?: OnExpiry;
  /** The middlebox restarts at these offsets: every connection through it is cut at once. */
  restartsAtMs?: readonly number[];
  gateways: GatewaySpec[];
}

/** A simulated week (or any duration). */
export interface Scenario {
  sites: SiteSpec[];
  seed?: number;
  durationMs?: number;
  config?: LearningConfig;
  answerTimeoutMs?: number;
  /** The push lines' slow start while advice is not settled (default SLOW_START, as shipped; null: none). */
  slowStart?: SlowStart | null;
  ackDeadlineMs?: number;
  probeAckDeadlineMs?: number;
  /** Mean gap between pushes per gateway; null: no pushes. */
  pushMeanGapMs?: number | null;
  /** Probe lines the representative keeps while learning (default PROBE_LINES). */
  probeLines?: number;
}

/** The numbers of a finished week; times are offsets from its start, ms. */
export interface WeekReport {
  /** When every gateway had received converged advice (null: never). */
  convergeMs: number | null;
  keepalivesBeforeConvergence: number;
  /** Push lines that died (of any cause) before convergence: what a user sees while the cloud learns. */
  safeLineDeathsBeforeConvergence: number;
  /** Keep-alives on the push lines after convergence. */
  keepalives: number;
  /** Same lines, same traffic, same period, a keep-alive every T × (1 − margin) of idle. */
  oracleKeepalives: number;
  ratioToOracle: number | null;
  fixed30sKeepalives: number;
  fixed60sKeepalives: number;
  pushes: number;
  lostPushes: number;
  lostPushesAfterConvergence: number;
  failedPushAttempts: number;
  failedPushAttemptsAfterConvergence: number;
  /** Worst time a push line was dead but believed alive. */
  darkTimeMs: number;
  probeMessages: number;
  probeMessagesBeforeConvergence: number;
  lineReplacements: number;
  keepaliveDeaths: number;
  restores: number;
  /** Final advised interval per gateway. */
  finalAdviceMs: Record<string, number>;
}

/** The event-driven world: clock, middleboxes, cloud, gateways and the stream of pushes. */
export class WeekSimulation {
  readonly clock = new ManualClock();
  readonly metrics = new SimMetrics();
  readonly cloud: SimCloud;
  readonly config: LearningConfig;
  readonly startMs: number;
  readonly durationMs: number;
  private readonly gateways = new Map<string, SimGateway>();
  private readonly firewalls = new Map<string, Firewall>();
  private readonly siteOfGateway = new Map<string, SiteSpec>();

  constructor(scenario: Scenario) {
    this.config = scenario.config ?? DEFAULT_LEARNING_CONFIG;
    this.startMs = this.clock.now();
    this.durationMs = scenario.durationMs ?? WEEK_MS;
    this.cloud = new SimCloud({
      clock: this.clock,
      config: this.config,
      ackDeadlineMs: scenario.ackDeadlineMs ?? ACK_DEADLINE_MS,
      probeAckDeadlineMs: scenario.probeAckDeadlineMs ?? PROBE_ACK_DEADLINE_MS,
      metrics: this.metrics,
      ...(scenario.probeLines === undefined ? {} : { probeLines: scenario.probeLines }),
    });
    const prng = new Prng(scenario.seed ?? 1);
    const slowStart = scenario.slowStart === undefined ? SLOW_START : scenario.slowStart;
    const pushMean = scenario.pushMeanGapMs === undefined ? PUSH_MEAN_GAP_MS : scenario.pushMeanGapMs;
    for (const site of scenario.sites) {
      const firewall = new Firewall({
        idleTimeoutMs: site.idleTimeoutMs,
        lifetimeCapMs: site.lifetimeCapMs ?? null,
        onExpiry: site.onExpiry ?? 'silent',
        clock: this.clock,
      });
      const { stricter } = site;
      if (stricter)
        this.at(stricter.atMs, () => firewall.setIdleTimeout(stricter.idleTimeoutMs, this.clock.now()));
      for (const restartAt of site.restartsAtMs ?? []) {
        this.at(restartAt, () => {
          firewall.restart(this.clock.now());
          for (const spec of site.gateways) this.gateway(spec.id).pathCut();
        });
      }
      for (const spec of site.gateways) {
        const gateway = new SimGateway(
          {
            clock: this.clock,
            firewall,
            cloud: this.cloud,
            metrics: this.metrics,
            egressAddress: site.egressAddress,
            answerTimeoutMs: scenario.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
            initialIntervalMs: this.config.defaultIntervalMs,
            ...(slowStart === null ? {} : { slowStart }),
          },
          spec,
        );
        this.gateways.set(spec.id, gateway);
        this.firewalls.set(spec.id, firewall);
        this.siteOfGateway.set(spec.id, site);
        const bootAt = spec.bootAtMs ?? 0;
        this.at(bootAt, () => gateway.boot());
        if (pushMean !== null) this.schedulePushes(spec.id, bootAt, pushMean, prng);
      }
    }
  }

  /** A gateway by id. */
  gateway(id: string): SimGateway {
    const gateway = this.gateways.get(id);
    if (!gateway) throw new Error(`unknown gateway ${id}`);
    return gateway;
  }

  /** The middlebox in front of a gateway. */
  firewallOf(gatewayId: string): Firewall {
    return this.firewalls.get(gatewayId) as Firewall;
  }

  /** Runs fn at an offset from the start of the week. */
  at(offsetMs: number, fn: () => void): void {
    this.clock.setTimeout(fn, this.startMs + offsetMs - this.clock.now());
  }

  /** Advances the world to an offset from the start. */
  runUntil(offsetMs: number): void {
    this.clock.advanceTo(this.startMs + offsetMs);
  }

  /** Runs to the end of the scenario and reports. */
  run(): WeekReport {
    this.runUntil(this.durationMs);
    return this.report();
  }

  /** The numbers so far (the end is the current time). */
  report(): WeekReport {
    const end = this.clock.now();
    const { metrics, startMs } = this;
    let convergedAt: number | null = startMs;
    for (const id of this.gateways.keys()) {
      const at = metrics.convergedAt.get(id);
      convergedAt = at === undefined || convergedAt === null ? null : Math.max(convergedAt, at);
    }
    const from = convergedAt ?? end;
    let keepalives = 0;
    let before = 0;
    let oracle = 0;
    let fixed30 = 0;
    let fixed60 = 0;
    for (const life of metrics.lives) {
      keepalives += countBetween(life.keepalives, from, end);
      before += countBetween(life.keepalives, startMs, from);
      const site = this.siteOfGateway.get(life.gatewayId) as SiteSpec;
      const timeout = site.stricter?.idleTimeoutMs ?? site.idleTimeoutMs;
      oracle += keepalivesAtInterval(life, timeout * (1 - this.config.marginFraction), from, end);
      fixed30 += keepalivesAtInterval(life, 30_000, from, end);
      fixed60 += keepalivesAtInterval(life, 60_000, from, end);
    }
    let darkTimeMs = 0;
    for (const spell of metrics.darkSpells) darkTimeMs = Math.max(darkTimeMs, spell.endedAt - spell.diedAt);
    const safeLineDeaths = metrics.darkSpells.filter((s) => s.diedAt < from).length;
    for (const [id, gateway] of this.gateways) {
      for (const line of ['line-0', 'line-1'] as const) {
        const connId = gateway.connectionOf(line);
        const diedAt = connId === null ? undefined : this.firewallOf(id).deathAt(connId);
        if (diedAt !== undefined && diedAt <= end) darkTimeMs = Math.max(darkTimeMs, end - diedAt);
      }
    }
    const finalAdviceMs: Record<string, number> = {};
    for (const [id, gateway] of this.gateways) finalAdviceMs[id] = gateway.advice?.intervalMs ?? Number.NaN;
    return {
      convergeMs: convergedAt === null ? null : convergedAt - startMs,
      keepalivesBeforeConvergence: before,
      safeLineDeathsBeforeConvergence: safeLineDeaths,
      keepalives,
      oracleKeepalives: oracle,
      ratioToOracle: convergedAt === null || oracle === 0 ? null : keepalives / oracle,
      fixed30sKeepalives: fixed30,
      fixed60sKeepalives: fixed60,
      pushes: metrics.pushTimes.length,
      lostPushes: metrics.lostPushTimes.length,
      lostPushesAfterConvergence: countBetween(metrics.lostPushTimes, from, end + 1),
      failedPushAttempts: metrics.failedPushAttemptTimes.length,
      failedPushAttemptsAfterConvergence: countBetween(metrics.failedPushAttemptTimes, from, end + 1),
      darkTimeMs,
      probeMessages: metrics.probeTimes.length,
      probeMessagesBeforeConvergence: countBetween(metrics.probeTimes, startMs, from),
      lineReplacements: metrics.replacementTimes.length,
      keepaliveDeaths: metrics.keepaliveDeathTimes.length,
      restores: metrics.restoreTimes.length,
      finalAdviceMs,
    };
  }

  private schedulePushes(gatewayId: string, fromOffsetMs: number, meanMs: number, prng: Prng): void {
    const next = (offset: number): void => {
      const at = offset + prng.exponential(meanMs);
      if (at >= this.durationMs) return;
      this.at(at, () => {
        this.cloud.push(gatewayId);
        next(at);
      });
    };
    next(fromOffsetMs);
  }
}

import type { Clock } from '../../clock/clock.ts';
import type { KeepaliveAdvice } from '../learning/advice.ts';
import type { Bounds } from '../learning/evidence.ts';
import { decideAdvice } from '../learning/interval-decision.ts';
import type { LearningConfig } from '../learning/learning-config.ts';
import { nextProbeGap } from '../learning/probe-planner.ts';
import { electRepresentative } from '../learning/representative.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { StatusStore } from '../status/status-store.ts';

/** Advice for one gateway plus its role in probing for its site. */
export interface GatewayKeepaliveState {
  advice: KeepaliveAdvice;
  representative: boolean;
  /** Candidate idle gap the probe line should be tested at; null: no probing. */
  probeGapMs: number | null;
}

/**
 * Reads the status log and asks the pure learning modules for advice, the site's
 * representative and the next probe gap. Holds no learning state of its own: the log is
 * the state, so a restarted cloud advises exactly as before.
 */
export class KeepaliveAdvisor {
  private readonly store: StatusStore;
  private readonly directory: GatewayDirectory;
  private readonly config: LearningConfig;
  private readonly clock: Clock;
  private readonly probeEnabled: boolean;

  constructor(options: {
    store: StatusStore;
    directory: GatewayDirectory;
    config: LearningConfig;
    clock: Clock;
    probeEnabled: boolean;
  }) {
    this.store = options.store;
    this.directory = options.directory;
    this.config = options.config;
    this.clock = options.clock;
    this.probeEnabled = options.probeEnabled;
  }

  /** Current advice for a gateway, from its own log and its site peers' logs. */
  adviceFor(gatewayId: string): KeepaliveAdvice {
    const now = this.clock.now();
    const since = now - this.config.windowMs;
    const own = this.store.recent(gatewayId, since, this.config.maxRecords);
    const info = this.store.gateway(gatewayId);
    const domainPeers = info
      ? this.store
          .sitePeers(info.siteKey, gatewayId)
          .map((p) => this.store.recent(p.gatewayId, since, this.config.maxRecords))
      : [];
    return decideAdvice({ own, domainPeers, now, config: this.config });
  }

  /** Whether the gateway is its site's representative among the connected gateways. */
  isRepresentative(gatewayId: string): boolean {
    const presence = this.directory.get(gatewayId);
    if (!presence) return false;
    const candidates = this.directory.connectedAtSite(presence.siteKey).map((g) => ({
      gatewayId: g.gatewayId,
      uptimeMs: this.directory.uptimeMs(g),
      cpuLoad: g.cpuLoad,
    }));
    return electRepresentative(candidates) === gatewayId;
  }

  /** Advice, representative flag and probe plan in one call. */
  stateFor(gatewayId: string): GatewayKeepaliveState {
    const advice = this.adviceFor(gatewayId);
    const representative = this.isRepresentative(gatewayId);
    const bounds: Bounds = {
      lowerMs: advice.lowerBoundMs,
      upperMs: advice.upperBoundMs,
      lifetimeCapMs: advice.lifetimeCapMs,
      lowerFrom: null,
    };
    const probeGapMs = this.probeEnabled && representative ? nextProbeGap(bounds, this.config) : null;
    return { advice, representative, probeGapMs };
  }
}

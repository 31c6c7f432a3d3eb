import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { KeepaliveAdvice } from '../learning/advice.ts';
import { type Bounds, boundsOf, type Evidence, foldRecords } from '../learning/evidence.ts';
import {
  adviceFromBounds,
  type DecidedBounds,
  decideBounds,
  domainBounds,
} from '../learning/interval-decision.ts';
import type { LearningConfig } from '../learning/learning-config.ts';
import {
  assignProbes,
  nextProbeGap,
  type ProbeAssignment,
  type ProbeLineView,
  probeTargets,
} from '../learning/probe-planner.ts';
import { type Candidate, electRepresentative } from '../learning/representative.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { EvidenceFold, LearningStore, NewRecord } from '../status/learning-store.ts';

/** Advice for one gateway plus its role in probing for its site. */
export interface GatewayKeepaliveState {
  advice: KeepaliveAdvice;
  representative: boolean;
  /** Candidate idle gap the probe line should be tested at; null: no probing. */
  probeGapMs: number | null;
}

/** What a decision needs: the gateway's own bounds and those of the other gateways of its site. */
export interface EvidenceSnapshot {
  own: Bounds;
  peers: Bounds[];
}

/**
 * A site's evidence is re-read from the store at most this often when other nodes write it too;
 * a store this node alone writes holds nothing newer than what this node folded itself.
 */
const SITE_REFRESH_MS = 10_000;

interface Decision {
  own: Bounds;
  peers: readonly Bounds[];
  decided: DecidedBounds;
  advice: KeepaliveAdvice;
}

/** Whether two lists hold the same objects in the same order. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface SiteView {
  readAt: number;
  members: Map<string, Evidence | null>;
}

/**
 * Folds each exchange into the gateway's evidence (one store call, O(1) whatever the log's
 * length) and asks the pure learning modules for advice, the site's representative and the
 * next probe gap. The evidence lives in the store, so a restarted cloud (or another node)
 * advises exactly as before.
 */
export class KeepaliveAdvisor {
  private readonly store: LearningStore;
  private readonly directory: GatewayDirectory;
  private readonly config: LearningConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly probeEnabled: boolean;
  private readonly sites = new Map<string, SiteView>();
  /** Each gateway's last decision and the bounds it came from (one per gateway seen). */
  private readonly decisions = new Map<string, Decision>();
  /** The shortest failing gap each gateway was last warned about (once per change, not per keep-alive). */
  private readonly warnedBelowMin = new Map<string, number>();

  constructor(options: {
    store: LearningStore;
    directory: GatewayDirectory;
    config: LearningConfig;
    clock: Clock;
    logger: Logger;
    probeEnabled: boolean;
  }) {
    this.store = options.store;
    this.directory = options.directory;
    this.config = options.config;
    this.clock = options.clock;
    this.log = options.logger.child({ part: 'advisor' });
    this.probeEnabled = options.probeEnabled;
  }

  /**
   * Records an exchange (log and evidence; no records: only reads) and returns what the
   * decision needs, so the caller can take it synchronously (e.g. after registering the line).
   */
  async observe(gatewayId: string, records: readonly NewRecord[]): Promise<EvidenceSnapshot> {
    const site = await this.siteOf(gatewayId);
    const peers = site ? this.peerBounds(site, gatewayId) : [];
    let own: Evidence | null;
    if (records.length === 0) {
      own = site?.members.get(gatewayId) ?? (await this.store.evidence(gatewayId));
    } else {
      const recorded = await this.store.record(gatewayId, records, this.foldAmong(peers));
      own = recorded.evidence;
      if (recorded.changed) site?.members.set(gatewayId, own);
    }
    return { own: boundsOf(own, this.clock.now(), this.config), peers };
  }

  /**
   * observe() done at once when nothing needs the store's answer: the gateway is here, its
   * site's view is current and the store folds the records without writing anything first
   * (LearningStore.recordUnchanged). Undefined: nothing was done, call observe(). Most
   * keep-alives take this way, without a promise or a turn of the event loop.
   */
  observeNow(gatewayId: string, records: readonly NewRecord[]): EvidenceSnapshot | undefined {
    const { store } = this;
    if (!store.recordUnchanged || records.length === 0) return undefined;
    const siteKey = this.directory.get(gatewayId)?.siteKey;
    if (siteKey === undefined) return undefined;
    const site = this.cachedSite(siteKey, gatewayId);
    if (!site) return undefined;
    const peers = this.peerBounds(site, gatewayId);
    const recorded = store.recordUnchanged(gatewayId, records, this.foldAmong(peers));
    if (!recorded) return undefined;
    return { own: boundsOf(recorded.evidence, this.clock.now(), this.config), peers };
  }

  /** How a gateway's records fold into its evidence, its site's peers' lifetime cap known. */
  private foldAmong(peers: readonly Bounds[]): EvidenceFold {
    const siteCapMs = domainBounds(peers, this.config)?.lifetimeCapMs ?? null;
    return (current, stored) => foldRecords(current, stored, { config: this.config, siteCapMs });
  }

  /** Advice, representative flag and probe plan from a snapshot. */
  state(gatewayId: string, snapshot: EvidenceSnapshot): GatewayKeepaliveState {
    const { decided, advice } = this.decision(gatewayId, snapshot);
    this.warnIfBelowMin(gatewayId, advice);
    const representative = this.isRepresentative(gatewayId);
    const probeGapMs = this.probeEnabled && representative ? nextProbeGap(decided, this.config) : null;
    return { advice, representative, probeGapMs };
  }

  /**
   * The decided bounds and advice of a snapshot: decided again only when the gateway's or a
   * peer's bounds changed (boundsOf hands out the same object while they hold), so the advice
   * object, too, stays the same between changes.
   */
  private decision(gatewayId: string, snapshot: EvidenceSnapshot): Decision {
    const last = this.decisions.get(gatewayId);
    if (last && last.own === snapshot.own && sameItems(last.peers, snapshot.peers)) return last;
    const decided = decideBounds({ own: snapshot.own, peers: snapshot.peers, config: this.config });
    const decision = {
      own: snapshot.own,
      peers: snapshot.peers,
      decided,
      // Frozen: every answer until the next change shares it (protocol/codec.ts keeps its JSON).
      advice: Object.freeze(adviceFromBounds(decided, this.config)),
    };
    this.decisions.set(gatewayId, decision);
    return decision;
  }

  /** Current advice, representative flag and probe plan of a gateway. */
  async stateFor(gatewayId: string): Promise<GatewayKeepaliveState> {
    return this.state(gatewayId, await this.observe(gatewayId, []));
  }

  /**
   * What each of the representative's idle probe lines should do next (probe-planner.ts,
   * assignProbes); null when there is nothing to learn or the gateway should not probe.
   */
  async planProbes(gatewayId: string, lines: readonly ProbeLineView[]): Promise<ProbeAssignment[] | null> {
    const snapshot = await this.observe(gatewayId, []);
    if (!this.probeEnabled || !this.isRepresentative(gatewayId)) return null;
    const decided = decideBounds({ own: snapshot.own, peers: snapshot.peers, config: this.config });
    if (probeTargets(decided, this.config).length === 0) return null;
    return assignProbes(decided, lines, this.config);
  }

  /**
   * Whether the gateway is its site's representative among the connected gateways, those of
   * other nodes included: every node sees the same candidates (presence over NATS) and the
   * election is deterministic, so one gateway of a site probes whichever node holds it.
   */
  isRepresentative(gatewayId: string): boolean {
    const presence = this.directory.get(gatewayId);
    if (!presence) return false;
    const now = this.clock.now();
    const candidates: Candidate[] = [];
    for (const g of this.directory.connectedAtSite(presence.siteKey))
      candidates.push({
        gatewayId: g.gatewayId,
        uptimeMs: this.directory.uptimeMs(g),
        cpuLoad: this.directory.cpuLoadNow(g),
      });
    for (const g of this.directory.remoteAtSite(presence.siteKey))
      candidates.push({
        gatewayId: g.gatewayId,
        uptimeMs: g.uptimeAtHelloMs + (now - g.helloAt),
        cpuLoad: g.cpuLoad,
      });
    return electRepresentative(candidates) === gatewayId;
  }

  /** Forgets the cached view of a site (a gateway joined or left it). */
  forgetSite(siteKey: string): void {
    this.sites.delete(siteKey);
  }

  /** Gateways whose lines die after idle gaps the advice cannot go below (keepalive.min), for the metrics. */
  gatewaysBelowMin(): number {
    return this.warnedBelowMin.size;
  }

  private warnIfBelowMin(gatewayId: string, advice: KeepaliveAdvice): void {
    const upper = advice.upperBoundMs;
    // The same condition as the API's and the page's warning (protocol/advice-words.ts).
    if (upper === null || advice.intervalMs < upper) {
      this.warnedBelowMin.delete(gatewayId);
      return;
    }
    if (this.warnedBelowMin.get(gatewayId) === upper) return;
    this.warnedBelowMin.set(gatewayId, upper);
    this.log.warn(
      { gateway: gatewayId, upperMs: upper, minMs: this.config.minIntervalMs },
      'lines of this gateway die after idle gaps shorter than keepalive.min: advice stays at keepalive.min and lines keep dying; lower keepalive.min',
    );
  }

  private peerBounds(site: SiteView, gatewayId: string): Bounds[] {
    const now = this.clock.now();
    const peers: Bounds[] = [];
    for (const [id, evidence] of site.members)
      if (id !== gatewayId) peers.push(boundsOf(evidence, now, this.config));
    return peers;
  }

  /** The site's view if it holds the gateway and is still current; undefined: read it again. */
  private cachedSite(siteKey: string, gatewayId: string): SiteView | undefined {
    const cached = this.sites.get(siteKey);
    if (!cached?.members.has(gatewayId)) return undefined;
    if (this.store.soleWriter || this.clock.now() - cached.readAt < SITE_REFRESH_MS) return cached;
    return undefined;
  }

  /** The gateway's site and what its members know, from the site index (cached briefly). */
  private async siteOf(gatewayId: string): Promise<SiteView | null> {
    const siteKey = this.directory.get(gatewayId)?.siteKey ?? (await this.store.gateway(gatewayId))?.siteKey;
    if (siteKey === undefined) return null;
    const cached = this.cachedSite(siteKey, gatewayId);
    if (cached) return cached;
    const now = this.clock.now();
    const members = await this.store.siteMembers(siteKey);
    const view: SiteView = { readAt: now, members: new Map(members.map((m) => [m.gatewayId, m.evidence])) };
    if (!view.members.has(gatewayId)) view.members.set(gatewayId, await this.store.evidence(gatewayId));
    this.sites.set(siteKey, view);
    return view;
  }
}

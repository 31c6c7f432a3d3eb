import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock/clock.ts';
import type { GatewayLoadReport } from '../../protocol/messages.ts';
import type { CloudLine } from './cloud-line.ts';

/** What the cloud knows of a connected gateway, from its latest hello. */
export interface GatewayPresence {
  gatewayId: string;
  clientId: string;
  domain: string;
  siteKey: string;
  egressAddress: string | null;
  uptimeAtHelloMs: number;
  helloAt: number;
  cpuLoad: number;
  /** CPU usage and line speed from the gateway's latest keep-alive or load report, and when it came. */
  load: (GatewayLoadReport & { at: number }) | null;
  powerMode: string;
  lines: Map<string, CloudLine>;
}

/** A line of a gateway held by another node of the fleet (told over NATS, docs/fleet.md). */
export interface RemoteLine {
  gatewayId: string;
  connectionId: string;
  role: CloudLine['role'];
  /** The node that holds it. */
  node: string;
}

/** What another node told of a gateway it holds a line of: enough to elect a site's representative. */
export interface RemoteGateway {
  gatewayId: string;
  siteKey: string;
  uptimeAtHelloMs: number;
  helloAt: number;
  cpuLoad: number;
}

interface DirectoryEvents {
  'line-up': [line: CloudLine];
  'line-down': [line: CloudLine];
  /** A line of the gateway came up on another node. */
  'remote-line-up': [line: RemoteLine];
}

/**
 * The connected gateways and their live lines, keyed by gateway and line id. A new
 * line with the id of an old one takes its place at once (no stale-session wait).
 */
export class GatewayDirectory extends EventEmitter<DirectoryEvents> {
  private readonly gateways = new Map<string, GatewayPresence>();
  /** Gateways by site, so a site's peers are found without walking every gateway. */
  private readonly sites = new Map<string, Set<string>>();
  /** Gateways with lines on other nodes: gateway → "node connectionId" → line. */
  private readonly remote = new Map<string, { gateway: RemoteGateway; lines: Map<string, RemoteLine> }>();
  /** Gateways of other nodes by site (representative election across nodes). */
  private readonly remoteSites = new Map<string, Set<string>>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    super();
    // Every push waiting for a line listens for 'line-up'; the API bounds pushes in flight.
    this.setMaxListeners(0);
    this.clock = clock;
  }

  /** Registers a line; returns the line it replaced, if any. */
  add(line: CloudLine, presence: Omit<GatewayPresence, 'lines' | 'load'>): CloudLine | undefined {
    let entry = this.gateways.get(line.gatewayId);
    if (!entry) {
      entry = { ...presence, load: null, lines: new Map() };
      this.gateways.set(line.gatewayId, entry);
    } else {
      if (entry.siteKey !== presence.siteKey) this.sites.get(entry.siteKey)?.delete(line.gatewayId);
      Object.assign(entry, presence);
    }
    let site = this.sites.get(entry.siteKey);
    if (!site) {
      site = new Set();
      this.sites.set(entry.siteKey, site);
    }
    site.add(line.gatewayId);
    const previous = entry.lines.get(line.connectionId);
    entry.lines.set(line.connectionId, line);
    this.emit('line-up', line);
    return previous;
  }

  /** Forgets a line if it is still the current one for its id. */
  remove(line: CloudLine): void {
    const entry = this.gateways.get(line.gatewayId);
    if (!entry || entry.lines.get(line.connectionId) !== line) return;
    entry.lines.delete(line.connectionId);
    this.emit('line-down', line);
  }

  /** Records a gateway's load report; fields it left out keep their last value. */
  noteLoad(gatewayId: string, report: Partial<GatewayLoadReport>): void {
    const entry = this.gateways.get(gatewayId);
    if (!entry || (report.cpuUsage === undefined && report.lineBytesPerSec === undefined)) return;
    entry.load = {
      cpuUsage: report.cpuUsage !== undefined ? report.cpuUsage : (entry.load?.cpuUsage ?? null),
      lineBytesPerSec:
        report.lineBytesPerSec !== undefined ? report.lineBytesPerSec : (entry.load?.lineBytesPerSec ?? null),
      at: this.clock.now(),
    };
  }

  get(gatewayId: string): GatewayPresence | undefined {
    return this.gateways.get(gatewayId);
  }

  /** Open lines of a gateway, optionally of one role. */
  lines(gatewayId: string, role?: CloudLine['role']): CloudLine[] {
    const out: CloudLine[] = [];
    const entry = this.gateways.get(gatewayId);
    if (!entry) return out;
    for (const l of entry.lines.values()) if (l.isOpen && (!role || l.role === role)) out.push(l);
    return out;
  }

  /** Whether a gateway has an open line here (asked at every keep-alive: no array built). */
  hasOpenLine(gatewayId: string): boolean {
    const entry = this.gateways.get(gatewayId);
    if (!entry) return false;
    for (const l of entry.lines.values()) if (l.isOpen) return true;
    return false;
  }

  /** Gateways with at least one open line at a site. */
  connectedAtSite(siteKey: string): GatewayPresence[] {
    const out: GatewayPresence[] = [];
    for (const id of this.sites.get(siteKey) ?? []) {
      const g = this.gateways.get(id);
      if (g && this.hasOpenLine(id)) out.push(g);
    }
    return out;
  }

  /**
   * A gateway's CPU load as of its latest word on it: the usage its keep-alives and load
   * reports carry (issue 18 item 8), or the load its hello gave when nothing newer came since.
   */
  cpuLoadNow(presence: GatewayPresence): number {
    const { load } = presence;
    if (load && load.cpuUsage !== null && load.at >= presence.helloAt) return load.cpuUsage;
    return presence.cpuLoad;
  }

  /** Current uptime of a gateway, extrapolated from its hello. */
  uptimeMs(presence: GatewayPresence): number {
    return presence.uptimeAtHelloMs + (this.clock.now() - presence.helloAt);
  }

  all(): GatewayPresence[] {
    return [...this.gateways.values()];
  }

  /** Records a line another node holds (a later report of the same line replaces it). */
  addRemote(gateway: RemoteGateway, line: RemoteLine): void {
    let entry = this.remote.get(gateway.gatewayId);
    if (!entry) {
      entry = { gateway, lines: new Map() };
      this.remote.set(gateway.gatewayId, entry);
    } else {
      if (entry.gateway.siteKey !== gateway.siteKey)
        this.remoteSites.get(entry.gateway.siteKey)?.delete(gateway.gatewayId);
      entry.gateway = gateway;
    }
    let site = this.remoteSites.get(gateway.siteKey);
    if (!site) {
      site = new Set();
      this.remoteSites.set(gateway.siteKey, site);
    }
    site.add(gateway.gatewayId);
    entry.lines.set(`${line.node} ${line.connectionId}`, line);
    this.emit('remote-line-up', line);
  }

  /** Forgets a line another node held. */
  removeRemote(gatewayId: string, node: string, connectionId: string): void {
    const entry = this.remote.get(gatewayId);
    if (!entry) return;
    entry.lines.delete(`${node} ${connectionId}`);
    if (entry.lines.size === 0) this.dropRemote(gatewayId);
  }

  /** Forgets every line a node held (it left, or told its lines anew); returns their gateways. */
  forgetNode(node: string): string[] {
    const touched: string[] = [];
    for (const [gatewayId, entry] of this.remote) {
      for (const [key, line] of entry.lines) {
        if (line.node !== node) continue;
        entry.lines.delete(key);
        touched.push(gatewayId);
      }
      if (entry.lines.size === 0) this.dropRemote(gatewayId);
    }
    return touched;
  }

  /** Lines of a gateway other nodes hold, optionally of one role. */
  remoteLines(gatewayId: string, role?: CloudLine['role']): RemoteLine[] {
    const lines = this.remote.get(gatewayId)?.lines.values() ?? [];
    return [...lines].filter((l) => !role || l.role === role);
  }

  /** Gateways of a site with a line on another node (and none here). */
  remoteAtSite(siteKey: string): RemoteGateway[] {
    const out: RemoteGateway[] = [];
    for (const id of this.remoteSites.get(siteKey) ?? []) {
      const entry = this.remote.get(id);
      if (entry && !this.hasOpenLine(id)) out.push(entry.gateway);
    }
    return out;
  }

  private dropRemote(gatewayId: string): void {
    const entry = this.remote.get(gatewayId);
    if (!entry) return;
    this.remote.delete(gatewayId);
    this.remoteSites.get(entry.gateway.siteKey)?.delete(gatewayId);
  }
}

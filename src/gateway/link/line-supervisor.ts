import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import {
  type Advice,
  type DeviceReport,
  type GatewayLoadReport,
  type Hello,
  type LostLine,
  PROTOCOL_VERSION,
  type Push,
} from '../../protocol/messages.ts';
import type { TunnelTargetInput } from '../../protocol/tunnel/target.ts';
import { MemoryBudget } from '../../tunnel/memory-budget.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import type { SlowStart } from '../keepalive/keepalive-manager.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import { type LineContext, type LineStatus, PushLine } from './push-line.ts';

/** Most lost-line reports kept for the next hello. */
const MAX_LOST_REPORTS = 32;
/** Id of the first probe line; push lines are line-0, line-1, … */
export const PROBE_LINE_ID = 'probe';

/** Id of the i-th probe line: `probe`, then `probe-1`, `probe-2`, … (a cloud that asks for one sees `probe`). */
export function probeLineId(i: number): string {
  return i === 0 ? PROBE_LINE_ID : `${PROBE_LINE_ID}-${i}`;
}

/** Who the gateway is, as every hello tells the cloud. */
export interface LinkIdentity {
  gatewayId: string;
  clientId: string;
  /** The gateway's bearer token for the push endpoint. */
  token: string;
  /** `mfp-gateway/<version>`. */
  software: string;
}

/** Where the lines go, and through what. */
export interface LinkTransport {
  url: string;
  /** The site's HTTP proxy, if the lines go through one. */
  agent?: Agent;
  /** The CA of the cloud's certificate; none: the system's roots. */
  ca?: Buffer;
}

/** How many lines, and how each keeps alive and reconnects. */
export interface LinkLines {
  connections: number;
  /** Delay between opening one push line and the next. */
  staggerMs: number;
  /** Whether this gateway may open a probe line when the cloud picks it as its domain's representative. */
  probeAllowed: boolean;
  keepaliveDefaultMs: number;
  answerTimeoutMs: number;
  /** Push lines ramp their keep-alives up while the advice is not settled (absent: no ramp). */
  slowStart?: SlowStart;
  backoff: LineContext['backoff'];
}

/** What each hello reports beyond identity (read afresh for every hello). */
export interface HelloFacts {
  host: () => { domain: string; uptimeMs: number; cpuLoad: number };
  mode: () => PowerMode;
  /** The gateway's load now, carried by keep-alives. */
  load?: () => GatewayLoadReport;
  /** Devices reported to the cloud's registry. */
  devices?: () => DeviceReport[];
  /** Most tunnels this gateway relays at once (the cloud's scheduler keeps under it). */
  maxTunnels?: number;
  /** LAN devices whose push connections this gateway proxies. */
  proxiedDevices?: () => string[];
}

/** What the lines hand to the rest of the gateway. */
export interface LinkHandlers {
  /** Hands a push to the gateway (which deduplicates it); resolve to acknowledge it. */
  onPush: (push: Push) => Promise<void>;
  /** Decides on each tunnel the cloud opens on any line. */
  onTunnel?: LineContext['onTunnel'];
}

export interface SupervisorOptions {
  clock: Clock;
  logger: Logger;
  identity: LinkIdentity;
  transport: LinkTransport;
  lines: LinkLines;
  hello: HelloFacts;
  handlers: LinkHandlers;
  /** Bytes all lines' tunnels together may buffer (the sum of their receive windows); none: unbounded. */
  tunnelMemoryCap?: number;
  /** Whether the gateway was away (suspended, frozen) since a monotonic time (the clock watch). */
  awaySince?: (monotonicMs: number) => boolean;
}

/** The link's state for status pages, readiness and the API. */
export interface LinkStatus {
  lines: LineStatus[];
  linesUp: number;
  advice: Advice | null;
  representative: boolean;
  probing: boolean;
}

interface SupervisorEvents {
  change: [];
}

/** The upgrade request's credentials of a push line: the gateway's id and its bearer token. */
export function lineHeaders(gatewayId: string, token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'x-mfp-gateway': gatewayId };
}

/**
 * Owns the gateway's push lines (cloudflared's supervisor): starts them staggered,
 * restores the ones the cloud reports dead, opens and closes the probe line as the cloud
 * asks, and collects lost-line evidence for the next hello.
 */
export class LineSupervisor extends EventEmitter<SupervisorEvents> {
  private readonly lines: PushLine[] = [];
  /** The probe lines, started or stopped as the cloud asks (index i is probeLineId(i)). */
  private readonly probeLines: PushLine[] = [];
  /** Losses not yet reported in a welcomed hello, with when each was observed (monotonic). */
  private readonly lost: Array<{ report: Omit<LostLine, 'agoMs'>; observedAt: number }> = [];
  /** The copy a hello carried → the loss it reports, so a welcome can clear exactly those. */
  private readonly inHello = new WeakMap<LostLine, { report: Omit<LostLine, 'agoMs'>; observedAt: number }>();
  private readonly startTimers: TimerHandle[] = [];
  private advice: Advice | null = null;
  /** How many probe lines the cloud wants open now (0: not probing). */
  private probing = 0;
  private stopped = false;
  private readonly options: SupervisorOptions;
  private readonly ctx: LineContext;

  constructor(options: SupervisorOptions) {
    super();
    this.options = options;
    const log = options.logger.child({ part: 'link' });
    const { identity, transport, lines, hello } = options;
    this.ctx = {
      clock: options.clock,
      logger: log,
      url: transport.url,
      headers: lineHeaders(identity.gatewayId, identity.token),
      agent: transport.agent,
      ca: transport.ca,
      keepaliveDefaultMs: lines.keepaliveDefaultMs,
      answerTimeoutMs: lines.answerTimeoutMs,
      ...(lines.slowStart ? { slowStart: lines.slowStart } : {}),
      openTimeoutMs: Math.max(lines.answerTimeoutMs, 5000),
      backoff: lines.backoff,
      mode: hello.mode,
      ...(hello.load ? { load: hello.load } : {}),
      hello: (connectionId, role, keepaliveMs, policyLimited) =>
        this.hello(connectionId, role, keepaliveMs, policyLimited),
      lostReported: (reported) => {
        for (const r of reported) {
          const entry = this.inHello.get(r);
          const i = entry ? this.lost.indexOf(entry) : -1;
          if (i >= 0) this.lost.splice(i, 1);
        }
      },
      reportLost: (report, observedAt) => {
        this.lost.push({ report, observedAt });
        if (this.lost.length > MAX_LOST_REPORTS) this.lost.shift();
      },
      onPush: (push) => this.options.handlers.onPush(push),
      onAdvice: (advice, probe, _from, probeLines) => this.adviceArrived(advice, probe, probeLines),
      onRestore: (ids, reason) => this.restore(ids, reason),
      onTunnel: options.handlers.onTunnel,
      tunnelBudget: options.tunnelMemoryCap ? new MemoryBudget(options.tunnelMemoryCap) : undefined,
      onStateChange: () => this.emit('change'),
      ...(options.awaySince ? { awaySince: options.awaySince } : {}),
    };
    for (let i = 0; i < lines.connections; i++) this.lines.push(new PushLine(`line-${i}`, 'push', this.ctx));
  }

  /** Opens the push lines, one every staggerMs, so they do not share a fate (or a keep-alive phase). */
  start(): void {
    this.stopped = false;
    this.lines.forEach((line, i) => {
      if (i === 0) line.start();
      else
        this.startTimers.push(
          this.options.clock.setTimeout(() => line.start(), i * this.options.lines.staggerMs),
        );
    });
  }

  /** Closes every line. */
  stop(): void {
    this.stopped = true;
    for (const t of this.startTimers) this.options.clock.clearTimeout(t);
    for (const line of this.lines) line.stop();
    for (const line of this.probeLines) line.stop();
  }

  /** Applies a new power mode to every push line. */
  setMode(mode: PowerMode): void {
    for (const line of this.lines) line.setMode(mode);
  }

  /** Sends the gateway's load on every push line that carries tunnels; false when none does. */
  reportLoad(load: GatewayLoadReport): boolean {
    let sent = false;
    for (const line of this.lines) sent = line.reportLoad(load) || sent;
    return sent;
  }

  status(): LinkStatus {
    const probes = this.probeLines.slice(0, this.probing);
    return {
      lines: [...this.lines, ...probes].map((l) => l.status()),
      linesUp: this.lines.filter((l) => l.isOpen).length,
      advice: this.advice,
      representative: this.probing > 0,
      probing: probes.some((l) => l.isOpen),
    };
  }

  private hello(
    connectionId: string,
    role: Hello['role'],
    keepaliveMs: number,
    policyLimited: boolean,
  ): Hello {
    const { identity, hello } = this.options;
    const host = hello.host();
    const now = this.options.clock.monotonic();
    return {
      type: 'hello',
      v: PROTOCOL_VERSION,
      gatewayId: identity.gatewayId,
      clientId: identity.clientId,
      connectionId,
      role,
      domain: host.domain,
      uptimeMs: host.uptimeMs,
      cpuLoad: host.cpuLoad,
      powerMode: hello.mode().name,
      keepaliveMs,
      policyLimited,
      software: identity.software,
      lost: this.lost.map((entry) => {
        const copy: LostLine = { ...entry.report, agoMs: Math.max(0, Math.round(now - entry.observedAt)) };
        this.inHello.set(copy, entry);
        return copy;
      }),
      ...(hello.devices ? { devices: hello.devices() } : {}),
      ...(hello.maxTunnels ? { maxTunnels: hello.maxTunnels } : {}),
      ...(hello.proxiedDevices ? { proxiedDevices: hello.proxiedDevices() } : {}),
    };
  }

  private adviceArrived(advice: Advice, probe: boolean, probeLines = 1): void {
    this.advice = advice;
    const want = probe && this.options.lines.probeAllowed && !this.stopped ? probeLines : 0;
    if (want === this.probing) return;
    const before = this.probing;
    this.probing = want;
    if (want > before) {
      this.ctx.logger.info(
        { probeLines: want },
        'this gateway is its domain’s representative: opening probe lines',
      );
      for (let i = before; i < want; i++) {
        this.probeLines[i] ??= new PushLine(probeLineId(i), 'probe', this.ctx);
        this.probeLines[i]?.start();
      }
    } else {
      this.ctx.logger.info({ probeLines: want }, 'probing finished: closing probe lines');
      for (let i = want; i < before; i++) this.probeLines[i]?.stop('probing finished');
    }
    this.emit('change');
  }

  /**
   * Opens a tunnel stream to the cloud on the open push line carrying the fewest streams
   * (the gateway's side of a stream it starts, e.g. a proxied device's); undefined when no
   * push line is open: wait for a 'change'.
   */
  openStream(target: TunnelTargetInput): { line: string; stream: Promise<TunnelStream> } | undefined {
    const open = this.lines.filter((l) => l.isOpen).sort((a, b) => a.streamCount - b.streamCount);
    for (const line of open) {
      const stream = line.openStream(target);
      if (stream) return { line: line.id, stream };
    }
    return undefined;
  }

  /** Reopens the named lines now (all push lines when ids is undefined); returns the ids restored. */
  restore(ids: string[] | undefined, reason: string): string[] {
    const restored: string[] = [];
    for (const line of [...this.lines, ...this.probeLines.slice(0, this.probing)]) {
      if (ids ? ids.includes(line.id) : line.role === 'push') {
        line.restore(reason);
        restored.push(line.id);
      }
    }
    return restored;
  }
}

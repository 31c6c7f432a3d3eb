import type { Clock, TimerHandle } from '../../src/clock/clock.ts';

/**
 * What the middlebox does when it forgets a flow: nothing ('silent': the next packet in either
 * direction just vanishes), answer that next packet with a TCP reset ('rst'), or close the flow
 * at once ('close': a proxy timing a tunnel out closes both legs, so both ends see a FIN at the
 * moment of expiry, with no traffic needed).
 */
export type OnExpiry = 'silent' | 'rst' | 'close';

/** One connection through the middlebox. */
interface Flow {
  openedAt: number;
  lastPacketAt: number;
  /** The flow dies at this instant unless a packet passes first. */
  idleDeadline: number;
  /** Set when the middlebox flushed the flow for another reason. */
  killedAt: number | null;
  /** 'close' only: told once when the middlebox closes the flow; null once it has. */
  onClose: (() => void) | null;
  /** 'close' only: wakes at the flow's death (lazily re-armed when traffic moved it on). */
  timer: TimerHandle | undefined;
}

/** How the simulated middlebox treats connections. */
export interface FirewallOptions {
  /** A flow idle this long is dropped, silently (T). */
  idleTimeoutMs: number;
  /** A flow this old is dropped whatever its traffic (C), silently; null: no cap. */
  lifetimeCapMs?: number | null;
  /**
   * What a forgotten flow gets: nothing ('silent', the sender waits for an answer that never
   * comes), a TCP reset for its next packet ('rst', the sender learns at once), or a close at
   * the moment it expires ('close', both ends learn with no packet sent). Default 'silent'.
   */
  onExpiry?: OnExpiry;
  /** The clock on which a 'close' middlebox closes expired flows (required for 'close'). */
  clock?: Clock;
}

/**
 * A middlebox that forgets connections: idle for T, or older than the cap C. A silent one tells
 * nobody; the next packet in either direction just vanishes. A resetting one answers that packet
 * with a reset. A closing one (a proxy) closes the flow at its deadline and tells both ends then,
 * through the callback given to open. Packets at the deadline are lost.
 */
export class Firewall {
  private idleTimeout: number;
  private readonly lifetimeCap: number | null;
  /**
   * True when a packet of a forgotten flow fails at once: a reset answers it, or the flow is
   * already closed (a socket that saw its FIN).
   */
  readonly resets: boolean;
  /** True when the middlebox closes a flow at its deadline and tells both ends. */
  readonly closes: boolean;
  private readonly clock: Clock | null;
  private readonly flows = new Map<number, Flow>();
  private nextId = 1;

  constructor(options: FirewallOptions) {
    this.idleTimeout = options.idleTimeoutMs;
    this.lifetimeCap = options.lifetimeCapMs ?? null;
    this.closes = options.onExpiry === 'close';
    this.resets = options.onExpiry === 'rst' || this.closes;
    this.clock = options.clock ?? null;
    if (this.closes && this.clock === null) throw new Error("a 'close' middlebox needs a clock");
  }

  /**
   * A new connection through the middlebox; the handshake itself always passes. onClose is
   * called once if a closing middlebox closes the flow (never for a silent or resetting one,
   * nor after an endpoint closed it).
   */
  open(now: number, onClose?: () => void): number {
    const id = this.nextId++;
    const flow: Flow = {
      openedAt: now,
      lastPacketAt: now,
      idleDeadline: now + this.idleTimeout,
      killedAt: null,
      onClose: this.closes ? (onClose ?? null) : null,
      timer: undefined,
    };
    this.flows.set(id, flow);
    this.watch(flow);
    return id;
  }

  /** A packet on the flow at now: true (and the flow is refreshed) when the flow is still alive. */
  pass(id: number, now: number): boolean {
    const flow = this.flows.get(id);
    if (!flow || now >= this.deathOf(flow)) return false;
    flow.lastPacketAt = now;
    flow.idleDeadline = now + this.idleTimeout;
    return true;
  }

  /** When the flow died or will die if nothing passes; undefined for a closed flow. */
  deathAt(id: number): number | undefined {
    const flow = this.flows.get(id);
    return flow ? this.deathOf(flow) : undefined;
  }

  /** An endpoint closed the connection. */
  close(id: number): void {
    const flow = this.flows.get(id);
    if (flow) this.clock?.clearTimeout(flow.timer);
    this.flows.delete(id);
  }

  /** Flushes one flow (a rule reload): silently, or for a closing middlebox with a close now. */
  kill(id: number, now: number): void {
    const flow = this.flows.get(id);
    if (flow && flow.killedAt === null && now < this.deathOf(flow)) {
      flow.killedAt = now;
      this.watch(flow);
    }
  }

  /**
   * Forgets every flow at once (a proxy restart); returns the flows it cut. Nobody is told here,
   * whatever the mode: the caller tells every endpoint (SimGateway.pathCut).
   */
  restart(now: number): number[] {
    const cut: number[] = [];
    for (const [id, flow] of this.flows) {
      if (now >= this.deathOf(flow)) continue;
      flow.killedAt = now;
      cut.push(id);
    }
    return cut;
  }

  /** Changes the idle timeout; existing flows idle longer than the new value die at once. */
  setIdleTimeout(ms: number, now: number): void {
    this.idleTimeout = ms;
    for (const flow of this.flows.values()) {
      if (now < this.deathOf(flow)) {
        flow.idleDeadline = Math.max(now, flow.lastPacketAt + ms);
        this.watch(flow);
      }
    }
  }

  /**
   * A closing middlebox: (re)arms the flow's one timer at its death. Traffic only moves the
   * deadline on; when the timer fires early it sleeps again, so a busy flow costs no timer churn.
   * The closed flow stays known (deathAt says when it died) until an endpoint closes it.
   */
  private watch(flow: Flow): void {
    const { clock } = this;
    if (clock === null || flow.onClose === null) return;
    clock.clearTimeout(flow.timer);
    flow.timer = clock.setTimeout(() => {
      flow.timer = undefined;
      if (flow.onClose === null) return;
      if (clock.now() < this.deathOf(flow)) {
        this.watch(flow);
        return;
      }
      const tell = flow.onClose;
      flow.onClose = null;
      tell();
    }, this.deathOf(flow) - clock.now());
  }

  private deathOf(flow: Flow): number {
    let death = flow.idleDeadline;
    if (this.lifetimeCap !== null) death = Math.min(death, flow.openedAt + this.lifetimeCap);
    if (flow.killedAt !== null) death = Math.min(death, flow.killedAt);
    return death;
  }
}

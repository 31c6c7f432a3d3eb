/** One connection through the middlebox. */
interface Flow {
  openedAt: number;
  lastPacketAt: number;
  /** The flow dies at this instant unless a packet passes first. */
  idleDeadline: number;
  /** Set when the middlebox flushed the flow for another reason. */
  killedAt: number | null;
}

/** How the simulated middlebox treats connections. */
export interface FirewallOptions {
  /** A flow idle this long is dropped, silently (T). */
  idleTimeoutMs: number;
  /** A flow this old is dropped whatever its traffic (C), silently; null: no cap. */
  lifetimeCapMs?: number | null;
  /**
   * What a packet of a forgotten flow gets: nothing ('silent', the sender waits for an answer
   * that never comes) or a TCP reset ('rst', the sender learns at once). Default 'silent'.
   */
  onExpiry?: 'silent' | 'rst';
}

/**
 * A middlebox that silently forgets connections: idle for T, or older than the cap C. Nobody is
 * told; the next packet in either direction just vanishes. Packets at the deadline are lost.
 */
export class Firewall {
  private idleTimeout: number;
  private readonly lifetimeCap: number | null;
  /** True when a packet of a forgotten flow is answered with a reset. */
  readonly resets: boolean;
  private readonly flows = new Map<number, Flow>();
  private nextId = 1;

  constructor(options: FirewallOptions) {
    this.idleTimeout = options.idleTimeoutMs;
    this.lifetimeCap = options.lifetimeCapMs ?? null;
    this.resets = options.onExpiry === 'rst';
  }

  /** A new connection through the middlebox; the handshake itself always passes. */
  open(now: number): number {
    const id = this.nextId++;
    this.flows.set(id, {
      openedAt: now,
      lastPacketAt: now,
      idleDeadline: now + this.idleTimeout,
      killedAt: null,
    });
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
    this.flows.delete(id);
  }

  /** Flushes one flow silently (a middlebox restart, a rule reload). */
  kill(id: number, now: number): void {
    const flow = this.flows.get(id);
    if (flow && flow.killedAt === null && now < this.deathOf(flow)) flow.killedAt = now;
  }

  /** Forgets every flow at once (a proxy restart); returns the flows it cut. */
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
      if (now < this.deathOf(flow)) flow.idleDeadline = Math.max(now, flow.lastPacketAt + ms);
    }
  }

  private deathOf(flow: Flow): number {
    let death = flow.idleDeadline;
    if (this.lifetimeCap !== null) death = Math.min(death, flow.openedAt + this.lifetimeCap);
    if (flow.killedAt !== null) death = Math.min(death, flow.killedAt);
    return death;
  }
}

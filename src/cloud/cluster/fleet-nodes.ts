/** What a node knows of another: which run of it, how far its presence events went, when it was heard. */
interface NodeState {
  instance: string;
  /** The last presence event (or snapshot) applied; null until its snapshot came. */
  seq: number | null;
  heardAt: number;
  syncAskedAt: number | null;
}

/** What to do about a message from another node. */
export interface Verdict {
  /** The node is new, or restarted: forget the lines it held. */
  forget: boolean;
  /** Ask it for all its lines (new, restarted, or events were missed). */
  sync: boolean;
}

/** A sync request not answered within this is asked again. */
const SYNC_RETRY_MS = 2_000;

/**
 * The other nodes of the fleet as heard over NATS: the pure part of presence. Every node
 * numbers its presence events; a gap, a new instance or an unknown node asks for a snapshot,
 * so a node that joins or missed messages converges on what the others hold.
 */
export class FleetNodes {
  private readonly nodes = new Map<string, NodeState>();

  /** A heartbeat: the node is alive, and its events went up to `seq`. */
  heartbeat(node: string, instance: string, seq: number, now: number): Verdict {
    const state = this.nodes.get(node);
    if (!state || state.instance !== instance) {
      this.nodes.set(node, { instance, seq: null, heardAt: now, syncAskedAt: now });
      return { forget: state !== undefined, sync: true };
    }
    state.heardAt = now;
    const behind = state.seq === null || state.seq < seq;
    return { forget: false, sync: behind && this.askAgain(state, now) };
  }

  /** A presence event numbered `seq`: apply it; a gap asks for a snapshot. */
  event(node: string, instance: string, seq: number, now: number): Verdict {
    const state = this.nodes.get(node);
    if (!state || state.instance !== instance) {
      this.nodes.set(node, { instance, seq: null, heardAt: now, syncAskedAt: now });
      return { forget: state !== undefined, sync: true };
    }
    state.heardAt = now;
    if (state.seq === null) return { forget: false, sync: false };
    const gap = seq !== state.seq + 1;
    state.seq = seq;
    return { forget: false, sync: gap && this.askAgain(state, now) };
  }

  /** A snapshot of the node's lines as of `seq` was applied. */
  synced(node: string, instance: string, seq: number): void {
    const state = this.nodes.get(node);
    if (state?.instance !== instance) return;
    state.seq = seq;
    state.syncAskedAt = null;
  }

  /** Nodes not heard from since `before`; they are forgotten. */
  expire(before: number): string[] {
    const gone: string[] = [];
    for (const [node, state] of this.nodes) {
      if (state.heardAt >= before) continue;
      this.nodes.delete(node);
      gone.push(node);
    }
    return gone;
  }

  /** A node said it leaves. */
  remove(node: string): boolean {
    return this.nodes.delete(node);
  }

  /** Counts every node as heard now (this node was cut off from NATS and is back). */
  heardAll(now: number): void {
    for (const state of this.nodes.values()) state.heardAt = now;
  }

  alive(): string[] {
    return [...this.nodes.keys()];
  }

  private askAgain(state: NodeState, now: number): boolean {
    if (state.syncAskedAt !== null && now - state.syncAskedAt < SYNC_RETRY_MS) return false;
    state.syncAskedAt = now;
    return true;
  }
}

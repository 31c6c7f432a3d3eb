import type { Clock } from '../../clock/clock.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';

/** The keep-alive in force at one instant: what the cloud advised and what the lines use. */
export interface IntervalPoint {
  seq: number;
  at: number;
  /** The cloud's advice (null until the first welcome). */
  adviceMs: number | null;
  source: string | null;
  /** The interval the push lines actually keep (advice, raised by the power policy). */
  effectiveMs: number | null;
  limitedByPolicy: boolean;
}

/**
 * A line that went down after being up. A probe line's drop (`role: 'probe'`) is planned:
 * the probe idles it until the firewall cuts it, to measure the timeout; it is no outage.
 */
export interface Drop {
  seq: number;
  at: number;
  line: string;
  role: string;
  reason: string | null;
}

/** Points and drops kept; at one change a minute that is more than a day. */
const CAPACITY = 2000;

/**
 * The history behind the keep-alive chart: a point whenever the advised or effective
 * interval changes, a drop whenever a line that was up goes down (not when it is stopped).
 * Fed from the link's change events; bounded.
 */
export class KeepaliveHistory {
  private readonly clock: Clock;
  private readonly points: IntervalPoint[] = [];
  private readonly drops: Drop[] = [];
  private readonly lineStates = new Map<string, string>();
  private seq = 0;
  private dropCount = 0;
  private probeDropCount = 0;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Looks at the link now and records what changed since the last look. */
  observe(link: LinkStatus): void {
    const at = this.clock.now();
    for (const line of link.lines) {
      const before = this.lineStates.get(line.id);
      this.lineStates.set(line.id, line.state);
      if (before === 'open' && line.state !== 'open' && line.state !== 'stopped') {
        if (line.role === 'probe') this.probeDropCount++;
        else this.dropCount++;
        push(this.drops, { seq: ++this.seq, at, line: line.id, role: line.role, reason: line.lastError });
      }
    }
    const push0 = link.lines.filter((l) => l.role === 'push');
    const effectiveMs = push0.find((l) => l.state === 'open')?.keepaliveMs ?? push0[0]?.keepaliveMs ?? null;
    const next = {
      adviceMs: link.advice?.intervalMs ?? null,
      source: link.advice?.source ?? null,
      effectiveMs,
      limitedByPolicy: push0.some((l) => l.limitedByPolicy),
    };
    const last = this.points.at(-1);
    if (
      last &&
      last.adviceMs === next.adviceMs &&
      last.source === next.source &&
      last.effectiveMs === next.effectiveMs &&
      last.limitedByPolicy === next.limitedByPolicy
    )
      return;
    push(this.points, { seq: ++this.seq, at, ...next });
  }

  /** Points and drops with a sequence number above afterSeq. */
  since(afterSeq = 0): { points: IntervalPoint[]; drops: Drop[] } {
    return {
      points: this.points.filter((p) => p.seq > afterSeq),
      drops: this.drops.filter((d) => d.seq > afterSeq),
    };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Drops of push lines since start (not only those still kept): real outages of a line. */
  get totalDrops(): number {
    return this.dropCount;
  }

  /** Probe lines cut since start: planned, each one a measurement of the firewall's timeout. */
  get probeDrops(): number {
    return this.probeDropCount;
  }
}

function push<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > CAPACITY) list.shift();
}

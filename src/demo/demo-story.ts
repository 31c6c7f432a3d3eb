import type { LinkStatus } from '../gateway/link/line-supervisor.ts';

/** How long a new advice may wait for the lines to take it up before it is told anyway. */
const TAKE_UP_MS = 5000;

/** What the story reads of the gateway each second. */
export type GatewayView = Pick<LinkStatus, 'lines' | 'advice' | 'probing'>;

/** "+02:58": time since the demo started, for milestones. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `+${mm}:${ss}`;
}

/** "19.7 s", "5 s", "250 ms": durations as people read them. */
export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
}

/** The keep-alive interval the open push lines use now (not the probe line, not the advice). */
export function intervalInUse(view: GatewayView): number | null {
  const used = view.lines
    .filter((l) => l.role === 'push' && l.state === 'open' && l.keepaliveMs !== null)
    .map((l) => l.keepaliveMs as number);
  return used.length > 0 ? Math.min(...used) : null;
}

function between(lower: number | null, upper: number | null): string {
  if (lower !== null && upper !== null) return `between ${seconds(lower)} and ${seconds(upper)}`;
  if (upper !== null) return `at most ${seconds(upper)}`;
  return lower !== null ? `above ${seconds(lower)}` : 'unknown';
}

/**
 * The demo's story of the keep-alive learning, told as `+mm:ss` milestones from what the
 * gateway shows each second: the interval the lines start with, the first failure, the
 * bounds as they narrow, the probe's end; and the numbers for the summary. Pure: it is fed
 * views and times, it prints through `say`.
 */
export class DemoStory {
  private readonly say: (line: string) => void;
  private readonly startedAt: number;
  private inUse: number | null = null;
  private firstInUse: number | null = null;
  private upper: number | null = null;
  private lower: number | null = null;
  private wasProbing = false;
  private finishedAt: number | null = null;
  /** The last progress line told, and since when a different one waits for the lines. */
  private told = '';
  private pendingSince: number | null = null;

  constructor(startedAt: number, say: (line: string) => void) {
    this.startedAt = startedAt;
    this.say = say;
  }

  /** Prints a milestone line stamped with the time since the start. */
  milestone(now: number, text: string): void {
    this.say(`${elapsed(now - this.startedAt)} ${text}`);
  }

  /** Reads one view of the gateway; prints what changed that matters to the story. */
  observe(now: number, view: GatewayView): void {
    const advice = view.advice;
    const inUse = intervalInUse(view);
    if (inUse !== null && this.firstInUse === null) {
      this.firstInUse = inUse;
      this.milestone(
        now,
        `push lines up; keep-alive every ${seconds(inUse)} until the cloud has learned the firewall's timeout`,
      );
    }
    if (inUse !== null) this.inUse = inUse;
    if (view.probing && !this.wasProbing && this.finishedAt === null) {
      this.milestone(
        now,
        'the cloud opened probe lines: they stay idle for longer and longer until the firewall drops them',
      );
    }
    const finishing = !view.probing && this.wasProbing;
    this.wasProbing = view.probing;
    if (advice) {
      if (advice.upperBoundMs !== null && this.upper === null) {
        this.milestone(
          now,
          `first failure: a line idle for ${seconds(advice.upperBoundMs)} died → the firewall forgets idle connections within ${seconds(advice.upperBoundMs)}`,
        );
      }
      this.lower = advice.lowerBoundMs;
      this.upper = advice.upperBoundMs;
    }
    if (finishing) {
      this.finishedAt = now;
      const final = seconds(advice?.intervalMs ?? inUse ?? 0);
      this.milestone(now, `probe finished: timeout ${between(this.lower, this.upper)} → keep-alive ${final}`);
      // Said just now: not again as progress once the lines use it.
      this.told = `timeout ${between(this.lower, this.upper)} → keep-alive every ${final}`;
      return;
    }
    this.tellProgress(now, advice?.intervalMs ?? null, inUse);
  }

  /**
   * "timeout between 15 s and 20.7 s → keep-alive every 14.2 s", with the interval the lines
   * use: told once they have taken up the new advice (they do at their next keep-alive), or
   * after a few seconds if they do not (a power mode's floor), and only when its words change.
   */
  private tellProgress(now: number, advised: number | null, inUse: number | null): void {
    if ((this.lower === null && this.upper === null) || inUse === null || advised === null) return;
    const text = `timeout ${between(this.lower, this.upper)} → keep-alive every ${seconds(inUse)}`;
    if (text === this.told) {
      this.pendingSince = null;
      return;
    }
    this.pendingSince ??= now;
    if (seconds(inUse) === seconds(advised) || now - this.pendingSince >= TAKE_UP_MS) {
      this.told = text;
      this.pendingSince = null;
      this.milestone(now, text);
    }
  }

  /** Whether the probe has finished (the learning converged). */
  get probeFinished(): boolean {
    return this.finishedAt !== null;
  }

  /** The summary's keep-alive lines. */
  summary(now: number): string[] {
    const learned =
      this.finishedAt !== null
        ? `learned in ${elapsed(this.finishedAt - this.startedAt).slice(1)} (mm:ss)`
        : `still learning after ${elapsed(now - this.startedAt).slice(1)} (mm:ss); it takes about a minute with a 20 s firewall`;
    return [
      `firewall timeout  ${between(this.lower, this.upper)}`,
      `keep-alive        ${this.inUse === null ? 'no line was up' : `every ${seconds(this.inUse)}`} (started at ${this.firstInUse === null ? '-' : seconds(this.firstInUse)}); ${learned}`,
    ];
  }
}

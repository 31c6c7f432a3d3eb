/** How far back a rate looks: long enough to smooth a bursty tunnel, short enough to follow a stall. */
const WINDOW_MS = 5_000;
/** Samples kept per tunnel, however often the page asks. */
const MAX_SAMPLES = 32;

interface Sample {
  at: number;
  bytes: number;
}

/**
 * Bytes per second of each open tunnel over the last few seconds, from the byte counts the
 * page samples whenever it builds its state (at most once a second while someone watches).
 * Pure: time comes in with each sample.
 */
export class TransferRates {
  private readonly samples = new Map<string, Sample[]>();

  /**
   * Records a tunnel's byte count at `now` and returns its rate over the window; before a
   * second sample exists, its average since it opened.
   */
  sample(id: string, now: number, bytes: number, openedAt: number): number {
    let list = this.samples.get(id);
    if (!list) {
      list = [];
      this.samples.set(id, list);
    }
    list.push({ at: now, bytes });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (list.length > 2 && (list[1] as Sample).at <= now - WINDOW_MS) list.shift();
    if (list.length > MAX_SAMPLES) list.splice(1, list.length - MAX_SAMPLES);
    const first = list[0] as Sample;
    if (now - first.at > 0) return Math.round(((bytes - first.bytes) * 1000) / (now - first.at));
    return now > openedAt ? Math.round((bytes * 1000) / (now - openedAt)) : 0;
  }

  /** Forgets the tunnels that are no longer open. */
  retain(open: ReadonlySet<string>): void {
    for (const id of this.samples.keys()) if (!open.has(id)) this.samples.delete(id);
  }
}

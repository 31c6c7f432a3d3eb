import { INITIAL_WINDOW } from '../protocol/tunnel/frame-types.ts';

/**
 * The sending half of a stream's flow control. The peer's WINDOW_UPDATE says how far it
 * has consumed and how many bytes beyond that it will buffer; we send up to that limit.
 */
export class SendCredit {
  /** DATA bytes sent. */
  sent = 0;
  /** Bytes the peer's reader has consumed (its latest WINDOW_UPDATE). */
  acknowledged = 0;
  /** Offset we may send up to. Never decreases. */
  limit: number;

  constructor(initialWindow = INITIAL_WINDOW) {
    this.limit = initialWindow;
  }

  /** Bytes we may send now. */
  get available(): number {
    return Math.max(0, this.limit - this.sent);
  }

  /** Records n bytes sent; callers send at most `available`. */
  spend(n: number): void {
    this.sent += n;
  }

  /**
   * Applies a WINDOW_UPDATE. Returns an explanation when it is impossible: acknowledging
   * bytes never sent, or going backwards.
   */
  update(consumed: number, window: number): string | undefined {
    if (consumed > this.sent) return `acknowledges ${consumed} bytes but only ${this.sent} were sent`;
    if (consumed < this.acknowledged) return `acknowledges ${consumed} bytes after ${this.acknowledged}`;
    this.acknowledged = consumed;
    this.limit = Math.max(this.limit, consumed + window);
    return undefined;
  }
}

/** The receiving half: what the peer may still send, and when to tell it more. */
export class ReceiveWindow {
  /** DATA bytes received. */
  received = 0;
  /** Bytes the local reader has taken. */
  consumed = 0;
  /** Current window size: how far past `consumed` the peer may send. */
  window: number;
  private advertisedConsumed = 0;
  private advertisedWindow: number;
  private sampleBase = 0;

  constructor(initialWindow = INITIAL_WINDOW) {
    this.window = initialWindow;
    this.advertisedWindow = initialWindow;
  }

  /** Offset the peer may send up to, as last advertised. */
  get limit(): number {
    return this.advertisedConsumed + this.advertisedWindow;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.received - this.consumed;
  }

  /** Records n bytes of DATA; false when they go past the advertised limit. */
  receive(n: number): boolean {
    if (this.received + n > this.limit) return false;
    this.received += n;
    return true;
  }

  /** Sets how many bytes the reader has taken in total. */
  consume(total: number): void {
    this.consumed = Math.min(this.received, Math.max(this.consumed, total));
  }

  /**
   * A WINDOW_UPDATE is due once half the window has been consumed since the last one, or
   * the window grew (waiting would leave the sender idle for no reason).
   */
  updateDue(): boolean {
    return this.consumed - this.advertisedConsumed >= this.window / 2 || this.window > this.advertisedWindow;
  }

  /** True when everything received has been consumed and advertised: nothing left to tell. */
  fullyAdvertised(): boolean {
    return this.advertisedConsumed === this.received && this.consumed === this.received;
  }

  /** Values for the next WINDOW_UPDATE; records them as advertised. */
  takeUpdate(): { consumed: number; window: number } {
    this.advertisedConsumed = this.consumed;
    this.advertisedWindow = this.window;
    return { consumed: this.consumed, window: this.window };
  }

  /**
   * Starts a BDP sample: bytes consumed from now until the PING answer. Consumed, not
   * received: a slow reader is what limits its stream, and a larger window would only
   * buffer more.
   */
  startSample(): void {
    this.sampleBase = this.consumed;
  }

  /** Ends a BDP sample: bytes consumed since startSample. */
  takeSample(): number {
    const sample = this.consumed - this.sampleBase;
    this.sampleBase = this.consumed;
    return sample;
  }

  /** Enlarges the window by n bytes (already reserved from the memory budget). */
  grow(n: number): void {
    this.window += n;
  }
}

/**
 * BDP rule, as in HTTP/2 implementations: a PING measures how many bytes the active
 * streams delivered to their readers in one round trip. When that reaches two thirds of their windows,
 * the windows (not the line) hold the streams back, so the smallest window doubles, up
 * to maxWindow, and every stream is raised to it. Judging the streams together keeps
 * growth from favouring those that happened to be busy during the sample; with many
 * streams the line, not the windows, is the limit, and nothing grows.
 */
export function nextStreamWindow(
  current: number,
  sample: { bytes: number; activeWindows: number },
  maxWindow: number,
): number {
  if (sample.activeWindows === 0 || sample.bytes * 3 < sample.activeWindows * 2) return current;
  return Math.min(maxWindow, current * 2);
}

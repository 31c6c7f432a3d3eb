import type { TunnelTransport } from '../../src/tunnel/transport.ts';

/**
 * One end of an in-memory transport pair: messages reach the peer on a later turn of the
 * event loop, like a socket; canSend() turns false above a high-water mark of bytes not
 * yet delivered, and delivery can be held to simulate a peer that does not read.
 */
export class MemoryTransport implements TunnelTransport {
  peer: MemoryTransport | undefined;
  /** Every message sent, for tests that inspect the wire. */
  readonly sent: Buffer[] = [];
  /** Largest number of undelivered bytes seen. */
  maxUndelivered = 0;
  /** Messages sent while canSend() was false. */
  sendsWhileBlocked = 0;
  closedWith: { error: Error | undefined } | undefined;
  private undelivered = 0;
  private held: Buffer[] = [];
  private holding = false;
  private blocked = false;
  private readonly highWaterMark: number;
  private readonly drainCbs: (() => void)[] = [];
  private readonly frameCbs: ((frames: Buffer) => void)[] = [];
  private readonly closeCbs: ((reason: string) => void)[] = [];
  private isClosed = false;
  /** Messages in flight are lost (cut), not delivered (close). */
  private dropped = false;

  constructor(highWaterMark = 256 * 1024) {
    this.highWaterMark = highWaterMark;
  }

  send(frames: Buffer): void {
    if (this.isClosed) return;
    if (!this.canSend()) this.sendsWhileBlocked += 1;
    this.sent.push(frames);
    this.undelivered += frames.length;
    this.maxUndelivered = Math.max(this.maxUndelivered, this.undelivered);
    if (this.undelivered >= this.highWaterMark) this.blocked = true;
    if (this.holding) this.held.push(frames);
    else setImmediate(() => this.deliver(frames));
  }

  canSend(): boolean {
    return !this.isClosed && this.undelivered < this.highWaterMark;
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  onFrames(cb: (frames: Buffer) => void): void {
    this.frameCbs.push(cb);
  }

  onClose(cb: (reason: string) => void): void {
    this.closeCbs.push(cb);
  }

  /** Closes like a socket: what was sent still arrives, then the peer learns of the close. */
  close(error?: Error): void {
    if (this.isClosed) return;
    this.closedWith = { error };
    this.shutdown(error ? `closed: ${error.message}` : 'closed');
    const peer = this.peer;
    setImmediate(() => peer?.shutdown('closed by the peer'));
  }

  /** Cuts the line as a dead network would: both ends learn it, nothing more is delivered. */
  cut(): void {
    this.dropped = true;
    this.shutdown('line cut');
    this.peer?.shutdown('line cut');
  }

  /** Stops delivering this end's messages to the peer until release(). */
  hold(): void {
    this.holding = true;
  }

  /** Delivers held messages and resumes normal delivery. */
  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const frames of held) setImmediate(() => this.deliver(frames));
  }

  /** Feeds raw bytes to this end as if the peer had sent them (for a hand-written peer). */
  inject(frames: Buffer): void {
    if (!this.isClosed) for (const cb of this.frameCbs) cb(frames);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private deliver(frames: Buffer): void {
    if (this.dropped) return;
    this.undelivered -= frames.length;
    this.peer?.inject(frames);
    if (this.blocked && this.undelivered < this.highWaterMark) {
      this.blocked = false;
      for (const cb of this.drainCbs) cb();
    }
  }

  private shutdown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const cb of this.closeCbs) cb(reason);
  }
}

/** Two connected in-memory ends. */
export function transportPair(highWaterMark?: number): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(highWaterMark);
  const b = new MemoryTransport(highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

import type { FrameBatch } from '../protocol/tunnel/frame-encoder.ts';
import {
  FRAME_HEADER_BYTES,
  type TunnelFrame,
  WINDOW_UPDATE_PAYLOAD_BYTES,
} from '../protocol/tunnel/frame-types.ts';
import type { ReceiveWindow, SendCredit } from './credit-window.ts';

/** What the outbox needs of a stream: its credit each way and the chunk its writer handed over. */
export interface OutboundStream {
  readonly id: number;
  readonly send: SendCredit;
  readonly recv: ReceiveWindow;
  /** The chunk being sent, from pendingAt on; its writer's callback runs once it is all out. */
  pending: Buffer | undefined;
  pendingAt: number;
  pendingDone: ((error?: Error | null) => void) | undefined;
}

interface ControlItem {
  frame: TunnelFrame;
  sent: (() => void) | undefined;
}

/**
 * Everything waiting to be sent on one connection, and the order it goes out in: a PING
 * answer, control frames (FIFO), due WINDOW_UPDATEs, then DATA round-robin across the
 * streams that have both data and credit, one frame of at most maxDataFrame per turn.
 * Pure: it fills batches, the multiplexer hands them to the transport.
 */
export class Outbox {
  private readonly maxDataFrame: number;
  private readonly maxQueuedControl: number;
  private readonly control: ControlItem[] = [];
  private pingAnswer: Buffer | undefined;
  private readonly updates = new Set<OutboundStream>();
  /** Set insertion order makes this a round-robin queue: a stream served goes to the back. */
  private readonly ready = new Set<OutboundStream>();

  constructor(options: { maxDataFrame: number; maxQueuedControl: number }) {
    this.maxDataFrame = options.maxDataFrame;
    this.maxQueuedControl = options.maxQueuedControl;
  }

  /**
   * Queues a control frame; `sent` runs once it is in a sent batch. Returns false, queuing
   * nothing, when maxQueuedControl frames already wait: the peer is not reading.
   */
  queueControl(frame: TunnelFrame, sent?: () => void): boolean {
    if (this.control.length >= this.maxQueuedControl) return false;
    this.control.push({ frame, sent });
    return true;
  }

  /** Answers a PING; a newer one replaces an answer not yet sent. */
  answerPing(opaque: Buffer): void {
    this.pingAnswer = opaque;
  }

  /** Sends the stream's current consumed offset and window in the next batch. */
  updateWindow(stream: OutboundStream): void {
    this.updates.add(stream);
  }

  /** Withdraws an update not sent yet (a final one went out as a control frame). */
  cancelUpdate(stream: OutboundStream): void {
    this.updates.delete(stream);
  }

  /** Puts the stream in the round-robin if it has data and credit. */
  offerData(stream: OutboundStream): void {
    if (stream.pending && stream.send.available > 0) this.ready.add(stream);
  }

  /** Drops a stream's pending updates and data turns (its queued control frames stay). */
  forget(stream: OutboundStream): void {
    this.ready.delete(stream);
    this.updates.delete(stream);
  }

  /** Drops everything. */
  clear(): void {
    this.control.length = 0;
    this.pingAnswer = undefined;
    this.updates.clear();
    this.ready.clear();
  }

  /** Fills a batch; returns the callbacks to run once it has been sent. */
  fill(batch: FrameBatch): (() => void)[] {
    const sent: (() => void)[] = [];
    if (this.fillControl(batch, sent)) this.fillData(batch, sent);
    return sent;
  }

  /** Returns whether all control frames fit. */
  private fillControl(batch: FrameBatch, sent: (() => void)[]): boolean {
    if (this.pingAnswer) {
      if (!batch.add({ type: 'ping', ack: true, opaque: this.pingAnswer })) return false;
      this.pingAnswer = undefined;
    }
    while (this.control.length > 0) {
      const item = this.control[0] as ControlItem;
      if (!batch.add(item.frame)) return false;
      this.control.shift();
      if (item.sent) sent.push(item.sent);
    }
    for (const stream of this.updates) {
      if (batch.room < FRAME_HEADER_BYTES + WINDOW_UPDATE_PAYLOAD_BYTES) return false;
      batch.add({ type: 'window-update', streamId: stream.id, ...stream.recv.takeUpdate() });
      this.updates.delete(stream);
    }
    return true;
  }

  private fillData(batch: FrameBatch, sent: (() => void)[]): void {
    while (this.ready.size > 0 && batch.room > FRAME_HEADER_BYTES) {
      const stream = this.ready.values().next().value as OutboundStream;
      this.ready.delete(stream);
      const chunk = stream.pending as Buffer;
      const at = stream.pendingAt;
      const room = batch.room - FRAME_HEADER_BYTES;
      const n = Math.min(chunk.length - at, stream.send.available, this.maxDataFrame, room);
      batch.add({ type: 'data', streamId: stream.id, payload: chunk.subarray(at, at + n) });
      stream.send.spend(n);
      stream.pendingAt = at + n;
      if (stream.pendingAt === chunk.length) {
        sent.push(stream.pendingDone as () => void);
        stream.pending = undefined;
        stream.pendingDone = undefined;
      } else {
        this.offerData(stream);
      }
    }
  }
}

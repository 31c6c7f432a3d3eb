import type { Clock, TimerHandle } from '../clock/clock.ts';
import { TunnelFrameError } from '../protocol/tunnel/errors.ts';
import { TunnelFrameDecoder } from '../protocol/tunnel/frame-decoder.ts';
import { encodeFrame, FrameBatch } from '../protocol/tunnel/frame-encoder.ts';
import {
  DEFAULT_MAX_FRAME_PAYLOAD,
  FRAME_HEADER_BYTES,
  INITIAL_WINDOW,
  MAX_OPEN_PAYLOAD,
  MAX_REASON_BYTES,
  MAX_WINDOW,
  PING_PAYLOAD_BYTES,
  type StreamFrame,
  type TunnelFrame,
} from '../protocol/tunnel/frame-types.ts';
import {
  encodeTarget,
  type TunnelTarget,
  type TunnelTargetInput,
  tunnelTargetSchema,
} from '../protocol/tunnel/target.ts';
import { TunnelCode, type TunnelCodeName, tunnelCodeName } from '../protocol/tunnel/tunnel-codes.ts';
import { nextStreamWindow, ReceiveWindow, SendCredit } from './credit-window.ts';
import { MemoryBudget } from './memory-budget.ts';
import { type OutboundStream, Outbox } from './outbox.ts';
import { inboundViolation, type StreamState } from './stream-state.ts';
import type { TunnelTransport } from './transport.ts';
import { type StreamOffsets, TunnelError } from './tunnel-error.ts';
import { type StreamHost, TunnelStream } from './tunnel-stream.ts';

export interface TunnelMuxOptions {
  transport: TunnelTransport;
  clock: Clock;
  /** WebSocket side of the line: the client (gateway) opens odd stream ids, the server (cloud) even ones. */
  side: 'client' | 'server';
  /** Largest frame payload accepted from the peer (default 64 KiB, the least every peer must accept). */
  maxFramePayload?: number;
  /** Largest DATA payload sent (default 32 KiB): the round-robin quantum between streams. */
  maxDataFrame?: number;
  /** Largest transport message sent; frames of many streams are batched up to it (default 256 KiB). */
  maxMessageBytes?: number;
  /** Largest receive window a stream grows to (default 4 MiB). */
  maxWindow?: number;
  /** Sum of all receive windows (default 32 MiB): the most a peer can make us buffer. */
  memoryCap?: number;
  /**
   * A budget shared with other connections (instead of memoryCap): the gateway caps what
   * all its lines together may make it buffer, not each line.
   */
  budget?: MemoryBudget;
  /** Buffer of each stream's Duplex, each way (default 64 KiB). */
  streamHighWaterMark?: number;
  /** How long openStream waits for OPEN_OK before it gives up (default 30 s). */
  openTimeoutMs?: number;
  /** Control frames queued while the line is congested before the peer is deemed abusive. */
  maxQueuedControlFrames?: number;
}

/** An OPEN from the peer, waiting for the acceptor's decision. */
export interface StreamRequest {
  readonly streamId: number;
  readonly target: TunnelTarget;
  /** Aborted (with the TunnelError) when the peer cancels or the connection dies before a decision. */
  readonly signal: AbortSignal;
  /** Accepts: sends OPEN_OK and returns the stream. */
  accept(): TunnelStream;
  /** Refuses with a wire code (e.g. 'NOT_ALLOWED', 'UNREACHABLE') and a reason the peer will see. */
  refuse(code: TunnelCodeName, reason?: string): void;
}

/** A snapshot for status pages, logs and tests. */
export interface TunnelMuxStats {
  streams: number;
  /** Receive window bytes promised (≤ memoryCap); with a shared budget, by every connection sharing it. */
  memoryReserved: number;
  memoryCap: number;
  /** Bytes received and not yet consumed by readers. */
  bufferedInbound: number;
  /** Bytes accepted from writers and not yet sent (pending chunks only; Duplex buffers excluded). */
  pendingOutbound: number;
}

interface Entry extends OutboundStream {
  readonly stream: TunnelStream;
  readonly state: StreamState;
  /** Budget bytes this stream holds. */
  reserved: number;
  finSent: boolean;
  finalDone: ((error?: Error | null) => void) | undefined;
  /** Our FIN went out and the peer consumed every byte before it. */
  localDone: boolean;
  /** The peer's FIN arrived and our reader consumed every byte before it. */
  remoteDone: boolean;
  opening:
    | { resolve: (s: TunnelStream) => void; reject: (e: TunnelError) => void; timer: TimerHandle }
    | undefined;
  abort: AbortController | undefined;
  /** Set when an undecided OPEN was cancelled: accept() then hands back a failed stream. */
  cancelled: TunnelError | undefined;
}

const KIB = 1024;

/**
 * Largest binary message a line accepts (its WebSocket maxPayload): what every peer MUST
 * take (docs/tunnel-frames.md), more than this implementation sends.
 */
export const TUNNEL_LINE_MAX_MESSAGE = 256 * KIB;

/**
 * Defaults of the TunnelMux options. Batches of 64 KiB (one full-size DATA frame) fit one
 * socket read at the far end, so the WebSocket layer never glues a message together from
 * several reads; that and fewer writes per byte took the gateway from 5.1 to 3.4 CPU
 * seconds per GiB relayed (bench:tunnel).
 */
export const TUNNEL_MUX_DEFAULTS = {
  maxDataFrame: 64 * KIB - 64,
  maxMessageBytes: 64 * KIB,
  maxWindow: 4 * KIB * KIB,
  memoryCap: 32 * KIB * KIB,
  streamHighWaterMark: 64 * KIB,
  openTimeoutMs: 30_000,
};

function describe(target: TunnelTarget): string {
  const to = target.deviceId ?? `${target.host}:${target.port}`;
  return `job ${target.jobId} to ${to}`;
}

function intIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/**
 * Streams multiplexed over one transport (a push line) with per-stream credit-based
 * flow control and a connection-wide memory cap (docs/tunnel-frames.md). Sending is
 * round-robin across streams, frames are batched into transport messages, and nothing is
 * sent while the transport reports backpressure. Any protocol violation by the peer is a
 * connection error: GOAWAY, every stream fails, the transport is closed.
 */
export class TunnelMux {
  private readonly transport: TunnelTransport;
  private readonly clock: Clock;
  private readonly side: 'client' | 'server';
  private readonly maxMessageBytes: number;
  private readonly maxWindow: number;
  private readonly streamHighWaterMark: number;
  private readonly openTimeoutMs: number;
  private readonly decoder: TunnelFrameDecoder;
  private readonly budget: MemoryBudget;
  private readonly entries = new Map<number, Entry>();
  private readonly byStream = new WeakMap<TunnelStream, Entry>();
  private readonly outbox: Outbox;
  private readonly bdp = { outstanding: false, seq: 0, opaque: Buffer.alloc(PING_PAYLOAD_BYTES) };
  private nextLocalId: number;
  private maxPeerId = 0;
  private flushState: 'idle' | 'scheduled' | 'flushing' = 'idle';
  private failure: TunnelError | undefined;
  private streamHandler: ((request: StreamRequest) => void) | undefined;
  private readonly closeHandlers: ((error: TunnelError) => void)[] = [];
  private readonly host: StreamHost = {
    write: (stream, chunk, done) => this.streamWrite(stream, chunk, done),
    final: (stream, done) => this.streamFinal(stream, done),
    read: (stream) => {
      const entry = this.live(stream);
      if (entry) this.noteConsumed(entry);
    },
    destroy: (stream, error) =>
      this.resetStream(stream, error ? 'INTERNAL' : 'CANCEL', error ? error.message : 'stream destroyed'),
    reset: (stream, code, reason) => {
      this.resetStream(stream, code, reason);
      stream.destroy();
    },
    offsets: (stream) => {
      const entry = this.byStream.get(stream) as Entry;
      if (this.live(stream)) this.syncConsumed(entry);
      return this.offsetsOf(entry);
    },
  };

  constructor(options: TunnelMuxOptions) {
    this.transport = options.transport;
    this.clock = options.clock;
    this.side = options.side;
    const maxDataFrame = intIn(
      'maxDataFrame',
      options.maxDataFrame ?? TUNNEL_MUX_DEFAULTS.maxDataFrame,
      1,
      DEFAULT_MAX_FRAME_PAYLOAD,
    );
    // Every control frame must fit a message, the largest being an OPEN.
    this.maxMessageBytes = intIn(
      'maxMessageBytes',
      options.maxMessageBytes ?? TUNNEL_MUX_DEFAULTS.maxMessageBytes,
      FRAME_HEADER_BYTES + Math.max(MAX_OPEN_PAYLOAD, 2 + MAX_REASON_BYTES),
      0xffff_ffff,
    );
    this.maxWindow = intIn(
      'maxWindow',
      options.maxWindow ?? TUNNEL_MUX_DEFAULTS.maxWindow,
      INITIAL_WINDOW,
      MAX_WINDOW,
    );
    this.budget =
      options.budget ??
      new MemoryBudget(
        intIn('memoryCap', options.memoryCap ?? TUNNEL_MUX_DEFAULTS.memoryCap, INITIAL_WINDOW, 2 ** 40),
      );
    const memoryCap = this.budget.cap;
    this.streamHighWaterMark = options.streamHighWaterMark ?? TUNNEL_MUX_DEFAULTS.streamHighWaterMark;
    this.openTimeoutMs = options.openTimeoutMs ?? TUNNEL_MUX_DEFAULTS.openTimeoutMs;
    // Each stream queues at most a few control frames (OPEN or OPEN_OK, FIN, RESET, its refusal).
    const maxQueuedControl =
      options.maxQueuedControlFrames ?? Math.max(1024, 4 * (memoryCap / INITIAL_WINDOW));
    this.outbox = new Outbox({ maxDataFrame, maxQueuedControl });
    this.decoder = new TunnelFrameDecoder({
      maxFramePayload: options.maxFramePayload ?? DEFAULT_MAX_FRAME_PAYLOAD,
    });
    this.nextLocalId = this.side === 'client' ? 1 : 2;
    this.transport.onFrames((frames) => this.receive(frames));
    this.transport.onDrain(() => this.scheduleFlush());
    this.transport.onClose((reason) =>
      this.terminate(
        new TunnelError(
          'MFP_TUN_ERR_TRANSPORT_CLOSED',
          `the line carrying the tunnel closed (${reason}): resume from the acknowledged offset on another line`,
        ),
        null,
      ),
    );
  }

  /** True once the connection has ended, for whatever reason. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Opens a stream to a target through the peer; resolves on OPEN_OK. */
  openStream(input: TunnelTargetInput): Promise<TunnelStream> {
    if (this.failure) return Promise.reject(this.failure);
    const parsed = tunnelTargetSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Promise.reject(
        new TunnelError(
          'MFP_TUN_ERR_BAD_TARGET',
          `invalid tunnel target: ${issue?.path.join('.')}: ${issue?.message}`,
        ),
      );
    }
    const target = parsed.data;
    if (encodeTarget(target).length > MAX_OPEN_PAYLOAD) {
      return Promise.reject(
        new TunnelError('MFP_TUN_ERR_BAD_TARGET', `tunnel target exceeds ${MAX_OPEN_PAYLOAD} bytes`),
      );
    }
    if (this.nextLocalId > 0xffff_ffff) {
      return Promise.reject(
        new TunnelError('MFP_TUN_ERR_LIMIT', 'stream ids of this connection are used up: open a new line'),
      );
    }
    if (!this.budget.tryReserve(INITIAL_WINDOW)) {
      return Promise.reject(
        new TunnelError(
          'MFP_TUN_ERR_LIMIT',
          `tunnel memory cap of ${this.budget.cap} bytes reached: close streams first`,
        ),
      );
    }
    const id = this.nextLocalId;
    this.nextLocalId += 2;
    const entry = this.createEntry(id, target, 'opening-out');
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => this.openTimedOut(entry), this.openTimeoutMs);
      entry.opening = { resolve, reject, timer };
      this.queueControl({ type: 'open', streamId: id, target });
    });
  }

  /** Sets who decides on the peer's OPENs. Without a handler every OPEN is refused (deny by default). */
  onStream(handler: (request: StreamRequest) => void): void {
    this.streamHandler = handler;
  }

  /** Calls cb once when the connection ends, with the reason every stream failed with. */
  onClose(cb: (error: TunnelError) => void): void {
    this.closeHandlers.push(cb);
  }

  /** Ends the connection: GOAWAY to the peer, every stream fails with MFP_TUN_ERR_MUX_CLOSED. */
  close(reason = 'closed by this end'): void {
    if (this.failure) return;
    this.sendGoaway(TunnelCode.NO_ERROR, reason);
    this.terminate(
      new TunnelError('MFP_TUN_ERR_MUX_CLOSED', `tunnel connection closed: ${reason}`),
      undefined,
    );
  }

  /** Counters for status pages and tests. */
  stats(): TunnelMuxStats {
    let bufferedInbound = 0;
    let pendingOutbound = 0;
    for (const entry of this.entries.values()) {
      bufferedInbound += entry.recv.buffered;
      if (entry.pending) pendingOutbound += entry.pending.length - entry.pendingAt;
    }
    return {
      streams: this.entries.size,
      memoryReserved: this.budget.reserved,
      memoryCap: this.budget.cap,
      bufferedInbound,
      pendingOutbound,
    };
  }

  // ---- receiving ----

  private receive(message: Buffer): void {
    if (this.failure) return;
    this.decoder.push(message);
    for (;;) {
      const frame = this.decoder.next();
      if (frame === undefined) break;
      if (frame instanceof TunnelFrameError) {
        this.violation(frame);
        return;
      }
      this.handle(frame);
      if (this.failure) return;
    }
    const truncated = this.decoder.end();
    if (truncated) this.violation(truncated);
  }

  private handle(frame: TunnelFrame): void {
    switch (frame.type) {
      case 'ping':
        this.onPing(frame.ack, frame.opaque);
        return;
      case 'goaway': {
        const remoteCode = tunnelCodeName(frame.code);
        const message = `the peer ended the tunnel connection (${remoteCode}): ${frame.reason}`;
        this.terminate(new TunnelError('MFP_TUN_ERR_GOAWAY', message, { remoteCode }), undefined);
        return;
      }
      case 'open':
        this.onOpen(frame.streamId, frame.target);
        return;
    }
    const entry = this.entries.get(frame.streamId);
    if (!entry) {
      // Frames that crossed our RESET or the stream's end on the wire.
      if (this.wasUsed(frame.streamId)) return;
      this.protocolError(`${frame.type.toUpperCase()} for stream ${frame.streamId}, which was never opened`);
      return;
    }
    const why = inboundViolation(entry.state, frame.type);
    if (why) {
      this.protocolError(`stream ${entry.id}: ${why}`);
      return;
    }
    this.onStreamFrame(entry, frame);
  }

  private onStreamFrame(entry: Entry, frame: StreamFrame): void {
    switch (frame.type) {
      case 'open-ok': {
        const opening = entry.opening as NonNullable<Entry['opening']>;
        entry.opening = undefined;
        this.clock.clearTimeout(opening.timer);
        entry.state.phase = 'open';
        opening.resolve(entry.stream);
        break;
      }
      case 'open-refused': {
        const remoteCode = tunnelCodeName(frame.code);
        const why = frame.reason ? `${remoteCode}: ${frame.reason}` : remoteCode;
        const message = `the peer refused the tunnel for ${describe(entry.stream.target)} (${why})`;
        this.fail(entry, new TunnelError('MFP_TUN_ERR_OPEN_REFUSED', message, { remoteCode }));
        break;
      }
      case 'reset': {
        const remoteCode = tunnelCodeName(frame.code);
        const why = frame.reason ? `${remoteCode}: ${frame.reason}` : remoteCode;
        const message = `the peer reset tunnel stream ${entry.id} (${why})`;
        this.fail(entry, new TunnelError('MFP_TUN_ERR_STREAM_RESET', message, { remoteCode }));
        break;
      }
      case 'data':
        this.onData(entry, frame.payload);
        break;
      case 'window-update':
        this.onWindowUpdate(entry, frame.consumed, frame.window);
        break;
      case 'fin':
        entry.state.remoteEnded = true;
        entry.stream.push(null);
        this.noteConsumed(entry);
        break;
    }
  }

  private onWindowUpdate(entry: Entry, consumed: number, window: number): void {
    const why = entry.send.update(consumed, window);
    if (why) {
      this.protocolError(`stream ${entry.id}: WINDOW_UPDATE ${why}`);
      return;
    }
    this.outbox.offerData(entry);
    this.scheduleFlush();
    this.checkLocalDone(entry);
  }

  private onOpen(id: number, target: TunnelTarget): void {
    if (this.isLocalId(id) || id <= this.maxPeerId) {
      this.protocolError(`OPEN with stream id ${id}: the peer's ids must have its parity and increase`);
      return;
    }
    this.maxPeerId = id;
    if (!this.budget.tryReserve(INITIAL_WINDOW)) {
      const reason = `tunnel memory cap of ${this.budget.cap} bytes reached`;
      this.queueControl({ type: 'open-refused', streamId: id, code: TunnelCode.LIMIT, reason });
      return;
    }
    const entry = this.createEntry(id, target, 'opening-in');
    const abort = new AbortController();
    entry.abort = abort;
    let decided = false;
    const decide = () => {
      if (decided) throw new Error(`tunnel stream ${id} was already accepted or refused`);
      decided = true;
    };
    const request: StreamRequest = {
      streamId: id,
      target,
      signal: abort.signal,
      accept: () => {
        decide();
        return this.accept(entry);
      },
      refuse: (code, reason = '') => {
        decide();
        this.refuse(entry, code, reason);
      },
    };
    const handler = this.streamHandler;
    if (!handler) {
      request.refuse('NOT_ALLOWED', 'this end accepts no tunnels');
      return;
    }
    try {
      handler(request);
    } catch (error) {
      if (!decided) request.refuse('INTERNAL', `acceptor failed: ${(error as Error).message}`);
    }
  }

  private accept(entry: Entry): TunnelStream {
    if (entry.cancelled) {
      entry.stream.destroy(entry.cancelled);
    } else if (this.entries.get(entry.id) === entry) {
      entry.state.phase = 'open';
      entry.abort = undefined;
      this.queueControl({ type: 'open-ok', streamId: entry.id });
    }
    return entry.stream;
  }

  private refuse(entry: Entry, code: TunnelCodeName, reason: string): void {
    if (this.entries.get(entry.id) !== entry) return;
    this.remove(entry);
    this.queueControl({ type: 'open-refused', streamId: entry.id, code: TunnelCode[code], reason });
  }

  private onData(entry: Entry, payload: Buffer): void {
    const { recv } = entry;
    if (!recv.receive(payload.length)) {
      const error = new TunnelFrameError(
        'MFP_TUN_ERR_WINDOW_EXCEEDED',
        `stream ${entry.id}: ${payload.length} bytes of DATA at offset ${recv.received} pass the window limit ${recv.limit}`,
      );
      this.violation(error);
      return;
    }
    entry.stream.push(payload);
    this.noteConsumed(entry);
    if (this.entries.get(entry.id) === entry) this.maybeStartBdpSample(entry);
  }

  private onPing(ack: boolean, opaque: Buffer): void {
    if (!ack) {
      // One answer pending at most: a peer flooding PINGs gets the latest answered.
      this.outbox.answerPing(opaque);
      this.scheduleFlush();
    } else if (this.bdp.outstanding && opaque.equals(this.bdp.opaque)) {
      this.bdp.outstanding = false;
      this.growWindowsFromSample();
    }
  }

  /** Ends a BDP sample: raises every stream's window if the readers outran them (nextStreamWindow). */
  private growWindowsFromSample(): void {
    const receiving: Entry[] = [];
    let bytes = 0;
    let activeWindows = 0;
    let smallest = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) {
      this.syncConsumed(entry);
      const sampled = entry.recv.takeSample();
      if (entry.state.remoteEnded) continue;
      receiving.push(entry);
      smallest = Math.min(smallest, entry.recv.window);
      if (sampled > 0) {
        bytes += sampled;
        activeWindows += entry.recv.window;
      }
    }
    const next = nextStreamWindow(smallest, { bytes, activeWindows }, this.maxWindow);
    if (next > smallest) this.raiseWindows(next, receiving);
  }

  /**
   * Raises every receiving stream to at least `next`, or none: raising only those that
   * fit the budget would favour them over the rest.
   */
  private raiseWindows(next: number, entries: Entry[]): void {
    let needed = 0;
    for (const entry of entries) needed += Math.max(0, next - entry.recv.window);
    if (!this.budget.tryReserve(needed)) return;
    for (const entry of entries) {
      const delta = next - entry.recv.window;
      if (delta <= 0) continue;
      entry.recv.grow(delta);
      entry.reserved += delta;
      this.outbox.updateWindow(entry);
    }
    this.scheduleFlush();
  }

  /**
   * BDP estimation as in HTTP/2 implementations: a PING sent when data arrives measures
   * how many bytes the streams' readers take in one round trip (see nextStreamWindow).
   */
  private maybeStartBdpSample(entry: Entry): void {
    if (this.bdp.outstanding || entry.recv.window >= this.maxWindow || this.budget.available === 0) return;
    this.bdp.outstanding = true;
    this.bdp.seq += 1;
    this.bdp.opaque.writeUInt32BE(this.bdp.seq >>> 0, 4);
    for (const e of this.entries.values()) {
      this.syncConsumed(e);
      e.recv.startSample();
    }
    this.queueControl({ type: 'ping', ack: false, opaque: Buffer.from(this.bdp.opaque) });
  }

  /** Brings `consumed` up to date and tells the peer when a WINDOW_UPDATE is due. */
  private noteConsumed(entry: Entry): void {
    // The reader may have destroyed the stream, or closed the mux, from a 'data' handler.
    if (this.entries.get(entry.id) !== entry) return;
    this.syncConsumed(entry);
    const { recv, state } = entry;
    if (!state.remoteEnded) {
      if (recv.updateDue()) {
        this.outbox.updateWindow(entry);
        this.scheduleFlush();
      }
      return;
    }
    if (entry.remoteDone || recv.consumed !== recv.received) return;
    // Everything up to FIN consumed: a last WINDOW_UPDATE gives the sender an exact receipt.
    entry.remoteDone = true;
    this.outbox.cancelUpdate(entry);
    if (!recv.fullyAdvertised()) {
      this.queueControl({ type: 'window-update', streamId: entry.id, ...recv.takeUpdate() });
    }
    this.budget.release(entry.reserved);
    entry.reserved = 0;
    this.closeIfDone(entry);
  }

  private syncConsumed(entry: Entry): void {
    entry.recv.consume(entry.recv.received - entry.stream.readableLength);
  }

  // ---- sending ----

  private streamWrite(stream: TunnelStream, chunk: Buffer, done: (error?: Error | null) => void): void {
    const entry = this.live(stream);
    if (!entry) {
      done(this.closedError(stream));
      return;
    }
    entry.pending = chunk;
    entry.pendingAt = 0;
    entry.pendingDone = done;
    this.outbox.offerData(entry);
    this.scheduleFlush();
  }

  private streamFinal(stream: TunnelStream, done: (error?: Error | null) => void): void {
    const entry = this.live(stream);
    if (!entry) {
      done(this.closedError(stream));
      return;
    }
    entry.finalDone = done;
    this.queueControl({ type: 'fin', streamId: entry.id }, () => {
      entry.finSent = true;
      this.checkLocalDone(entry);
    });
  }

  /** 'finish' waits for the peer's receipt of every byte, so it means delivered, not just sent. */
  private checkLocalDone(entry: Entry): void {
    if (entry.localDone || !entry.finSent || entry.send.acknowledged !== entry.send.sent) return;
    if (this.entries.get(entry.id) !== entry) return;
    entry.localDone = true;
    const done = entry.finalDone;
    entry.finalDone = undefined;
    this.closeIfDone(entry);
    done?.();
  }

  private closeIfDone(entry: Entry): void {
    if (entry.localDone && entry.remoteDone) this.remove(entry);
  }

  private resetStream(stream: TunnelStream, code: TunnelCodeName, reason: string): void {
    const entry = this.live(stream);
    if (!entry) return;
    this.remove(entry);
    this.queueControl({ type: 'reset', streamId: entry.id, code: TunnelCode[code], reason });
  }

  private queueControl(frame: TunnelFrame, sent?: () => void): void {
    if (this.failure) return;
    if (!this.outbox.queueControl(frame, sent)) {
      const message = 'too many control frames queued: the peer opens streams faster than it reads';
      this.violation(new TunnelFrameError('MFP_TUN_ERR_CONTROL_FLOOD', message));
      return;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushState !== 'idle' || this.failure) return;
    this.flushState = 'scheduled';
    queueMicrotask(() => this.flush());
  }

  /** Sends batches from the outbox while the transport takes them. */
  private flush(): void {
    this.flushState = 'flushing';
    try {
      while (!this.failure && this.transport.canSend()) {
        const batch = new FrameBatch(this.maxMessageBytes);
        const sent = this.outbox.fill(batch);
        if (batch.frameCount === 0) break;
        this.transport.send(batch.toBuffer());
        for (const cb of sent) cb();
      }
    } finally {
      this.flushState = 'idle';
    }
  }

  // ---- lifecycle ----

  private createEntry(id: number, target: TunnelTarget, phase: StreamState['phase']): Entry {
    const stream = new TunnelStream(id, target, this.host, this.streamHighWaterMark);
    const entry: Entry = {
      id,
      stream,
      state: { phase, remoteEnded: false },
      send: new SendCredit(),
      recv: new ReceiveWindow(),
      reserved: INITIAL_WINDOW,
      pending: undefined,
      pendingAt: 0,
      pendingDone: undefined,
      finSent: false,
      finalDone: undefined,
      localDone: false,
      remoteDone: false,
      opening: undefined,
      abort: undefined,
      cancelled: undefined,
    };
    this.entries.set(id, entry);
    this.byStream.set(stream, entry);
    return entry;
  }

  private openTimedOut(entry: Entry): void {
    if (this.entries.get(entry.id) !== entry) return;
    const seconds = this.openTimeoutMs / 1000;
    this.queueControl({
      type: 'reset',
      streamId: entry.id,
      code: TunnelCode.CANCEL,
      reason: 'open timed out',
    });
    this.fail(
      entry,
      new TunnelError(
        'MFP_TUN_ERR_OPEN_TIMEOUT',
        `no answer to the tunnel OPEN for ${describe(entry.stream.target)} in ${seconds} s`,
      ),
    );
  }

  /** Forgets a stream: no more frames for it are sent or accepted. */
  private remove(entry: Entry): void {
    this.entries.delete(entry.id);
    this.outbox.forget(entry);
    this.budget.release(entry.reserved);
    entry.reserved = 0;
    if (entry.opening) this.clock.clearTimeout(entry.opening.timer);
  }

  /** Fails one stream; streams the application has not seen yet fail through their promise or request. */
  private fail(entry: Entry, error: TunnelError): void {
    this.remove(entry);
    this.syncConsumed(entry);
    const streamError = error.forStream(this.offsetsOf(entry));
    if (entry.opening) {
      entry.opening.reject(streamError);
      entry.opening = undefined;
    } else if (entry.state.phase === 'opening-in') {
      entry.cancelled = streamError;
      entry.abort?.abort(streamError);
    } else {
      entry.stream.destroy(streamError);
    }
  }

  private violation(error: TunnelFrameError): void {
    if (this.failure) return;
    this.sendGoaway(error.wireCode, error.message);
    this.terminate(
      new TunnelError(error.code, `tunnel protocol violation by the peer: ${error.message}`, {
        cause: error,
      }),
      error,
    );
  }

  private protocolError(message: string): void {
    this.violation(new TunnelFrameError('MFP_TUN_ERR_PROTOCOL', message));
  }

  private sendGoaway(code: number, reason: string): void {
    this.transport.send(encodeFrame({ type: 'goaway', code, reason }));
  }

  /**
   * Ends the connection once: every stream fails with `error`. `closeWith` is the error
   * the transport is closed with (undefined: orderly), or null when it is already gone.
   */
  private terminate(error: TunnelError, closeWith: Error | undefined | null): void {
    if (this.failure) return;
    this.failure = error;
    for (const entry of [...this.entries.values()]) this.fail(entry, error);
    this.outbox.clear();
    if (closeWith !== null) this.transport.close(closeWith);
    for (const cb of this.closeHandlers) cb(error);
  }

  private live(stream: TunnelStream): Entry | undefined {
    const entry = this.byStream.get(stream);
    return entry && this.entries.get(entry.id) === entry ? entry : undefined;
  }

  private closedError(stream: TunnelStream): TunnelError {
    const offsets = this.host.offsets(stream);
    if (this.failure) return this.failure.forStream(offsets);
    return new TunnelError('MFP_TUN_ERR_STREAM_RESET', `tunnel stream ${stream.id} is closed`, { offsets });
  }

  private offsetsOf(entry: Entry): StreamOffsets {
    return {
      sent: entry.send.sent,
      acknowledged: entry.send.acknowledged,
      received: entry.recv.received,
      delivered: entry.recv.consumed,
    };
  }

  private isLocalId(id: number): boolean {
    return (id % 2 === 1) === (this.side === 'client');
  }

  private wasUsed(id: number): boolean {
    return this.isLocalId(id) ? id < this.nextLocalId : id <= this.maxPeerId;
  }
}

import { Duplex } from 'node:stream';
import type { TunnelTarget } from '../protocol/tunnel/target.ts';
import type { TunnelCodeName } from '../protocol/tunnel/tunnel-codes.ts';
import type { StreamOffsets } from './tunnel-error.ts';

/** What a stream asks of the multiplexer that owns it. */
export interface StreamHost {
  write(stream: TunnelStream, chunk: Buffer, done: (error?: Error | null) => void): void;
  final(stream: TunnelStream, done: (error?: Error | null) => void): void;
  read(stream: TunnelStream): void;
  destroy(stream: TunnelStream, error: Error | null): void;
  reset(stream: TunnelStream, code: TunnelCodeName, reason: string): void;
  offsets(stream: TunnelStream): StreamOffsets;
}

/**
 * One tunnel stream as a Node Duplex, so `pipeline(stream, socket)` carries the peer's
 * backpressure: write() returns false when the peer's window and our buffer are full,
 * and 'drain' follows its WINDOW_UPDATE. end() sends FIN; 'finish' fires once the
 * peer's reader has consumed every byte. destroy() without an error sends RESET CANCEL,
 * with one RESET INTERNAL; a peer's RESET or a dead line destroys it with a TunnelError.
 */
export class TunnelStream extends Duplex {
  readonly id: number;
  readonly target: TunnelTarget;
  private readonly host: StreamHost;

  constructor(id: number, target: TunnelTarget, host: StreamHost, highWaterMark: number) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: highWaterMark,
      writableHighWaterMark: highWaterMark,
    });
    this.id = id;
    this.target = target;
    this.host = host;
    // _read is not called again once the peer's FIN is queued; 'end' says the reader took the rest.
    this.once('end', () => host.read(this));
  }

  /** Byte positions: sent, acknowledged by the peer's reader, received, delivered to ours. */
  get offsets(): StreamOffsets {
    return this.host.offsets(this);
  }

  /** Aborts the stream with a wire code the peer will see (e.g. 'TARGET_ERROR'). */
  reset(code: TunnelCodeName = 'CANCEL', reason = ''): void {
    this.host.reset(this, code, reason);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.host.write(this, chunk, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.host.final(this, done);
  }

  override _read(): void {
    this.host.read(this);
  }

  /**
   * Every chunk a reader takes leaves through read() (flowing mode, pipe and async
   * iteration included), so the mux hears of each one after it has left the buffer. _read
   * alone is not enough: it runs before the chunk is taken, and not again until the next
   * push — a reader draining a full window would never earn the WINDOW_UPDATE that brings it.
   */
  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null;
    if (chunk !== null) this.host.read(this);
    return chunk;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.host.destroy(this, error);
    done(error);
  }
}

import type { Decoded } from '../protocol/codec.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { JsonLineReader } from '../protocol/json-lines.ts';
import type { TunnelStream } from './tunnel-stream.ts';

/** Invalid lines tolerated before the stream is reset as misbehaving (as on a push line). */
const MAX_INVALID_LINES = 10;
/** Bytes written and not yet taken by the peer past which the peer is deemed stuck (default). */
const DEFAULT_MAX_UNSENT = 1024 * 1024;

export interface JsonLineChannelOptions<In> {
  stream: TunnelStream;
  decode: (line: Buffer) => Decoded<In>;
  /** Longest line taken; a longer one ends the stream. */
  maxLineBytes: number;
  /** Bytes queued for a peer that does not read, before the stream is reset (default 1 MiB). */
  maxUnsentBytes?: number;
}

/**
 * Messages as JSON lines on one tunnel stream, both ways, with the stream's credit flow
 * control: the writer queues at most maxUnsentBytes for a peer that stopped reading, then
 * resets the stream instead of buffering without bound. A malformed line is reported and
 * skipped; a line over the size limit or too many bad ones end the stream.
 */
export class JsonLineChannel<In, Out> {
  readonly stream: TunnelStream;
  onMessage: (message: In) => void = () => {};
  onInvalid: (error: ProtocolError) => void = () => {};
  /** Called once when the stream is gone, with its error when it failed. */
  onClose: (error?: Error) => void = () => {};
  private readonly reader: JsonLineReader;
  private readonly decode: (line: Buffer) => Decoded<In>;
  private readonly maxUnsent: number;
  private invalid = 0;
  private closed = false;
  private bytesReceived = 0;
  private bytesSent = 0;

  constructor(options: JsonLineChannelOptions<In>) {
    this.stream = options.stream;
    this.decode = options.decode;
    this.maxUnsent = options.maxUnsentBytes ?? DEFAULT_MAX_UNSENT;
    this.reader = new JsonLineReader(options.maxLineBytes);
    const stream = options.stream;
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('end', () => stream.end());
    stream.on('error', (err) => this.finish(err));
    stream.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed && !this.stream.destroyed && this.stream.writable;
  }

  /** Bytes of lines received and sent on this stream. */
  get bytes(): { in: number; out: number } {
    return { in: this.bytesReceived, out: this.bytesSent };
  }

  /** Queues a message; false when the stream is gone (or was just reset for not reading). */
  send(message: Out): boolean {
    if (!this.isOpen) return false;
    if (this.stream.writableLength > this.maxUnsent) {
      this.stream.reset('FLOW_CONTROL', `peer read nothing of ${this.stream.writableLength} queued bytes`);
      return false;
    }
    const line = Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
    this.bytesSent += line.length;
    this.stream.write(line);
    return true;
  }

  /** Ends our direction politely (FIN); the peer's lines may still arrive. */
  end(): void {
    if (this.isOpen) this.stream.end();
  }

  /** Aborts the stream both ways. */
  destroy(): void {
    this.stream.destroy();
  }

  private receive(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const lines = this.reader.push(chunk);
    if (!Array.isArray(lines)) {
      this.onInvalid(lines);
      this.stream.reset('PROTOCOL', lines.message);
      return;
    }
    for (const line of lines) {
      if (this.closed) return;
      const decoded = this.decode(line);
      if (decoded.ok) {
        this.onMessage(decoded.message);
        continue;
      }
      this.onInvalid(decoded.error);
      if (++this.invalid >= MAX_INVALID_LINES) {
        this.stream.reset('PROTOCOL', `${this.invalid} invalid messages`);
        return;
      }
    }
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(error);
  }
}

import { ProtocolError } from './errors.ts';

/**
 * Splits a byte stream into newline-terminated lines, refusing (once, for good) a line
 * longer than the limit as soon as it is known, before buffering more of it.
 */
export class JsonLineReader {
  private readonly maxBytes: number;
  private parts: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Feeds bytes; returns the complete lines (without newline), or the error that ends the stream. */
  push(chunk: Buffer): Buffer[] | ProtocolError {
    if (this.failed) return this.tooLong();
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      const tail = chunk.subarray(start, nl);
      if (this.buffered + tail.length > this.maxBytes) return this.tooLong();
      lines.push(this.parts.length ? Buffer.concat([...this.parts, tail]) : Buffer.from(tail));
      this.parts = [];
      this.buffered = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.buffered + rest.length > this.maxBytes) return this.tooLong();
    if (rest.length > 0) {
      this.parts.push(Buffer.from(rest));
      this.buffered += rest.length;
    }
    return lines;
  }

  /** Bytes of an unfinished line. */
  get pending(): number {
    return this.buffered;
  }

  private tooLong(): ProtocolError {
    this.failed = true;
    this.parts = [];
    this.buffered = 0;
    return new ProtocolError(
      'MFP_ERR_FRAME_TOO_LARGE',
      `a message line exceeds the limit of ${this.maxBytes} bytes`,
      1009,
    );
  }
}

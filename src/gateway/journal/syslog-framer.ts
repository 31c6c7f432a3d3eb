/** Stable codes for what a sender can get wrong in syslog's TCP framing (RFC 6587). */
export type SyslogFrameErrorCode =
  | 'MFP_SYSLOG_ERR_BAD_FRAME'
  | 'MFP_SYSLOG_ERR_FRAME_TOO_LARGE'
  | 'MFP_SYSLOG_ERR_TRUNCATED';

/** A framing problem; `fatal` ones leave the stream unsynchronised, so the connection is closed. */
export class SyslogFrameError extends Error {
  readonly code: SyslogFrameErrorCode;
  readonly fatal: boolean;

  constructor(code: SyslogFrameErrorCode, message: string, fatal: boolean) {
    super(message);
    this.name = 'SyslogFrameError';
    this.code = code;
    this.fatal = fatal;
  }
}

/** What the framer found in the bytes pushed so far: whole messages and dropped ones. */
export type FramedItem = Buffer | SyslogFrameError;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const LT = 0x3c;
/** MSG-LEN digits accepted; more means garbage, not a big message. */
const MAX_LENGTH_DIGITS = 9;

type State =
  | { kind: 'start' }
  | { kind: 'length'; digits: number; value: number }
  | { kind: 'counted'; remaining: number; skip: boolean }
  | { kind: 'line'; skip: boolean }
  | { kind: 'failed' };

/**
 * Splits a TCP byte stream into syslog messages, frame by frame: a frame that starts with a
 * digit is octet-counted ("MSG-LEN SP MSG", RFC 6587 section 3.4.1), one that starts with "<"
 * runs to the next LF (non-transparent framing, section 3.4.2; a CR before the LF is dropped).
 * Nothing is buffered beyond maxMessageBytes: a longer message is skipped and reported.
 */
export class SyslogFramer {
  private state: State = { kind: 'start' };
  private readonly parts: Buffer[] = [];
  private partBytes = 0;
  private readonly maxMessageBytes: number;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Takes the next chunk of the stream; returns what it completed, in order. */
  push(chunk: Buffer): FramedItem[] {
    const out: FramedItem[] = [];
    let i = 0;
    while (i < chunk.length) {
      const state = this.state;
      switch (state.kind) {
        case 'failed':
          return out;
        case 'start': {
          const byte = chunk[i] ?? 0;
          if (byte === LF || byte === CR || byte === 0) i++;
          else if (byte >= 0x31 && byte <= 0x39) this.state = { kind: 'length', digits: 0, value: 0 };
          else if (byte === LT) this.state = { kind: 'line', skip: false };
          else out.push(this.fail('a frame must start with a message length or "<"'));
          break;
        }
        case 'length': {
          const byte = chunk[i++] ?? 0;
          if (byte === SP) {
            const skip = state.value > this.maxMessageBytes;
            if (skip) out.push(tooLarge(state.value, this.maxMessageBytes));
            this.state = { kind: 'counted', remaining: state.value, skip };
          } else if (byte >= 0x30 && byte <= 0x39 && state.digits < MAX_LENGTH_DIGITS) {
            state.digits++;
            state.value = state.value * 10 + (byte - 0x30);
          } else {
            out.push(this.fail('MSG-LEN must be digits followed by a space'));
          }
          break;
        }
        case 'counted': {
          const take = Math.min(state.remaining, chunk.length - i);
          if (!state.skip) this.keep(chunk.subarray(i, i + take));
          i += take;
          state.remaining -= take;
          if (state.remaining === 0) {
            if (!state.skip) out.push(this.take());
            this.state = { kind: 'start' };
          }
          break;
        }
        case 'line': {
          const lf = chunk.indexOf(LF, i);
          const end = lf === -1 ? chunk.length : lf;
          if (!state.skip) {
            if (this.partBytes + (end - i) > this.maxMessageBytes + 1) {
              out.push(tooLarge(this.partBytes + (end - i), this.maxMessageBytes));
              this.take();
              state.skip = true;
            } else {
              this.keep(chunk.subarray(i, end));
            }
          }
          i = end;
          if (lf !== -1) {
            i++;
            if (!state.skip) out.push(withoutCr(this.take()));
            this.state = { kind: 'start' };
          }
          break;
        }
      }
    }
    return out;
  }

  /** The stream ended: a last LF-framed line without its LF still counts; a cut counted frame does not. */
  end(): FramedItem[] {
    const state = this.state;
    this.state = { kind: 'failed' };
    if (state.kind === 'line' && !state.skip && this.partBytes > 0) return [withoutCr(this.take())];
    if (state.kind === 'length' || (state.kind === 'counted' && !state.skip)) {
      this.take();
      return [
        new SyslogFrameError('MFP_SYSLOG_ERR_TRUNCATED', 'the connection ended inside a message', false),
      ];
    }
    return [];
  }

  /** Bytes held for an unfinished message. */
  get bufferedBytes(): number {
    return this.partBytes;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // A copy, so a partial message does not pin the whole socket chunk it came in.
    this.parts.push(Buffer.from(bytes));
    this.partBytes += bytes.length;
  }

  private take(): Buffer {
    const whole = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts.length = 0;
    this.partBytes = 0;
    return whole;
  }

  private fail(why: string): SyslogFrameError {
    this.state = { kind: 'failed' };
    this.take();
    return new SyslogFrameError('MFP_SYSLOG_ERR_BAD_FRAME', why, true);
  }
}

function tooLarge(size: number, max: number): SyslogFrameError {
  return new SyslogFrameError(
    'MFP_SYSLOG_ERR_FRAME_TOO_LARGE',
    `a message of ${size} bytes is over the limit of ${max}; skipped`,
    false,
  );
}

function withoutCr(line: Buffer): Buffer {
  return line.at(-1) === CR ? line.subarray(0, -1) : line;
}

import { TunnelFrameError } from './errors.ts';
import {
  DEFAULT_MAX_FRAME_PAYLOAD,
  FLAG_ACK,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_OPEN_PAYLOAD,
  MAX_REASON_BYTES,
  MAX_WINDOW,
  PING_PAYLOAD_BYTES,
  TUNNEL_FRAME_VERSION,
  type TunnelFrame,
  WINDOW_UPDATE_PAYLOAD_BYTES,
} from './frame-types.ts';
import { decodeTarget } from './target.ts';

export interface FrameDecoderOptions {
  /** Largest payload accepted, bytes; larger frames fail before any payload is buffered. */
  maxFramePayload?: number;
}

interface Header {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

/** [min, max] payload length allowed per frame type; DATA's max is the decoder's limit. */
const LENGTHS: Record<number, readonly [number, number]> = {
  [FrameType.DATA]: [1, Number.POSITIVE_INFINITY],
  [FrameType.OPEN]: [1, MAX_OPEN_PAYLOAD],
  [FrameType.OPEN_OK]: [0, 0],
  [FrameType.OPEN_REFUSED]: [2, 2 + MAX_REASON_BYTES],
  [FrameType.WINDOW_UPDATE]: [WINDOW_UPDATE_PAYLOAD_BYTES, WINDOW_UPDATE_PAYLOAD_BYTES],
  [FrameType.FIN]: [0, 0],
  [FrameType.RESET]: [2, 2 + MAX_REASON_BYTES],
  [FrameType.PING]: [PING_PAYLOAD_BYTES, PING_PAYLOAD_BYTES],
  [FrameType.GOAWAY]: [2, 2 + MAX_REASON_BYTES],
};

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FrameType).map(([name, type]) => [type, name]),
);

/**
 * Streaming decoder of tunnel frames: a two-state machine (header, payload) over bytes
 * that may arrive split or merged arbitrarily. The caller pushes bytes and pulls frames;
 * the first error is final and returned by every later call. A header is validated in
 * full before any payload byte is buffered, so no allocation exceeds maxFramePayload.
 */
export class TunnelFrameDecoder {
  private readonly maxFramePayload: number;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private header: Header | undefined;
  private failure: TunnelFrameError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFramePayload ?? DEFAULT_MAX_FRAME_PAYLOAD;
    if (!Number.isInteger(max) || max < MAX_OPEN_PAYLOAD || max > 0xffff_ffff) {
      throw new RangeError(
        `maxFramePayload must be an integer in [${MAX_OPEN_PAYLOAD}, 2^32 - 1], got ${max}`,
      );
    }
    this.maxFramePayload = max;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Appends received bytes; frames are taken out with next(). */
  push(chunk: Uint8Array): void {
    if (this.failure || chunk.length === 0) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.chunks.push(buf);
    this.buffered += buf.length;
  }

  /** The next whole frame, the error that stopped decoding, or undefined when more bytes are needed. */
  next(): TunnelFrame | TunnelFrameError | undefined {
    if (this.failure) return this.failure;
    if (!this.header) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const header = this.parseHeader(this.take(FRAME_HEADER_BYTES));
      if (header instanceof TunnelFrameError) return this.fail(header);
      this.header = header;
    }
    if (this.buffered < this.header.length) return undefined;
    const header = this.header;
    this.header = undefined;
    const payload = this.takePayload(header.length);
    const frame = parsePayload(header, payload);
    return frame instanceof TunnelFrameError ? this.fail(frame) : frame;
  }

  /**
   * Marks the end of a transport message. Frames never span messages, so bytes left
   * over are a truncated frame.
   */
  end(): TunnelFrameError | undefined {
    if (this.failure) return this.failure;
    if (this.header || this.buffered > 0) {
      const have = this.buffered;
      const need = this.header
        ? `a ${this.header.length}-byte payload`
        : `a ${FRAME_HEADER_BYTES}-byte header`;
      return this.fail(
        new TunnelFrameError('MFP_TUN_ERR_TRUNCATED', `message ended with ${have} bytes of ${need}`),
      );
    }
    return undefined;
  }

  private fail(error: TunnelFrameError): TunnelFrameError {
    this.failure = error;
    this.chunks.length = 0;
    this.buffered = 0;
    this.header = undefined;
    return error;
  }

  private parseHeader(b: Buffer): Header | TunnelFrameError {
    const version = b[0] as number;
    const type = b[1] as number;
    const flags = b[2] as number;
    const reserved = b[3] as number;
    const streamId = b.readUInt32BE(4);
    const length = b.readUInt32BE(8);
    if (version !== TUNNEL_FRAME_VERSION) {
      return new TunnelFrameError('MFP_TUN_ERR_BAD_VERSION', `unsupported tunnel frame version ${version}`);
    }
    const lengths = LENGTHS[type];
    if (!lengths)
      return new TunnelFrameError('MFP_TUN_ERR_BAD_TYPE', `unknown tunnel frame type 0x${type.toString(16)}`);
    const name = TYPE_NAMES[type];
    const allowedFlags = type === FrameType.PING ? FLAG_ACK : 0;
    if (reserved !== 0 || (flags & ~allowedFlags) !== 0) {
      return new TunnelFrameError(
        'MFP_TUN_ERR_BAD_FLAGS',
        `${name} frame with flags 0x${flags.toString(16)}`,
      );
    }
    const connectionLevel = type === FrameType.PING || type === FrameType.GOAWAY;
    if (connectionLevel !== (streamId === 0)) {
      const want = connectionLevel ? 'stream id 0' : 'a stream id other than 0';
      return new TunnelFrameError(
        'MFP_TUN_ERR_BAD_STREAM_ID',
        `${name} frame on stream ${streamId}; needs ${want}`,
      );
    }
    if (length > this.maxFramePayload) {
      return new TunnelFrameError(
        'MFP_TUN_ERR_FRAME_TOO_LARGE',
        `${name} frame of ${length} bytes exceeds the limit of ${this.maxFramePayload}`,
      );
    }
    const [min, max] = lengths;
    if (length < min || length > max) {
      const want = min === max ? `${min}` : `${min}..${Math.min(max, this.maxFramePayload)}`;
      return new TunnelFrameError(
        'MFP_TUN_ERR_BAD_LENGTH',
        `${name} frame of ${length} bytes; expected ${want}`,
      );
    }
    return { type, flags, streamId, length };
  }

  /** Removes n bytes from the front; copies only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }

  /**
   * Like take, but a payload that would pin a much larger received buffer is copied, so
   * memory held by queued payloads stays within twice their length.
   */
  private takePayload(n: number): Buffer {
    if (n === 0) return EMPTY;
    const payload = this.take(n);
    if (payload.length * 2 >= payload.buffer.byteLength) return payload;
    const copy = Buffer.allocUnsafe(n);
    payload.copy(copy);
    return copy;
  }
}

const EMPTY = Buffer.alloc(0);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Adds the code (u16) and UTF-8 reason of OPEN_REFUSED, RESET and GOAWAY payloads to a frame. */
function withReason<T extends object>(
  frame: T,
  payload: Buffer,
): (T & { code: number; reason: string }) | TunnelFrameError {
  let reason: string;
  try {
    reason = utf8.decode(payload.subarray(2));
  } catch {
    return new TunnelFrameError('MFP_TUN_ERR_BAD_PAYLOAD', 'reason text is not UTF-8');
  }
  return { ...frame, code: payload.readUInt16BE(0), reason };
}

function parsePayload(header: Header, payload: Buffer): TunnelFrame | TunnelFrameError {
  const { streamId } = header;
  switch (header.type) {
    case FrameType.DATA:
      return { type: 'data', streamId, payload };
    case FrameType.OPEN: {
      const target = decodeTarget(payload);
      return target instanceof TunnelFrameError ? target : { type: 'open', streamId, target };
    }
    case FrameType.OPEN_OK:
      return { type: 'open-ok', streamId };
    case FrameType.OPEN_REFUSED:
      return withReason({ type: 'open-refused' as const, streamId }, payload);
    case FrameType.WINDOW_UPDATE: {
      const high = payload.readUInt32BE(0);
      if (high > 0x1f_ffff) {
        return new TunnelFrameError(
          'MFP_TUN_ERR_BAD_PAYLOAD',
          'WINDOW_UPDATE consumed offset beyond 2^53 - 1',
        );
      }
      const consumed = high * 0x1_0000_0000 + payload.readUInt32BE(4);
      const window = payload.readUInt32BE(8);
      if (window > MAX_WINDOW) {
        return new TunnelFrameError(
          'MFP_TUN_ERR_BAD_PAYLOAD',
          `WINDOW_UPDATE window ${window} beyond 2^31 - 1`,
        );
      }
      return { type: 'window-update', streamId, consumed, window };
    }
    case FrameType.FIN:
      return { type: 'fin', streamId };
    case FrameType.RESET:
      return withReason({ type: 'reset' as const, streamId }, payload);
    case FrameType.PING:
      return { type: 'ping', ack: (header.flags & FLAG_ACK) !== 0, opaque: Buffer.from(payload) };
    default:
      // GOAWAY: parseHeader lets no other type through.
      return withReason({ type: 'goaway' as const }, payload);
  }
}

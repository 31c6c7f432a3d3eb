import {
  FLAG_ACK,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_OPEN_PAYLOAD,
  MAX_REASON_BYTES,
  TUNNEL_FRAME_VERSION,
  type TunnelFrame,
  WINDOW_UPDATE_PAYLOAD_BYTES,
} from './frame-types.ts';
import { encodeTarget } from './target.ts';

const TYPE_NUMBERS: Record<TunnelFrame['type'], number> = {
  data: FrameType.DATA,
  open: FrameType.OPEN,
  'open-ok': FrameType.OPEN_OK,
  'open-refused': FrameType.OPEN_REFUSED,
  'window-update': FrameType.WINDOW_UPDATE,
  fin: FrameType.FIN,
  reset: FrameType.RESET,
  ping: FrameType.PING,
  goaway: FrameType.GOAWAY,
};

const EMPTY = Buffer.alloc(0);

/** UTF-8 of a reason, cut to MAX_REASON_BYTES at a character boundary. */
function reasonBytes(reason: string): Buffer {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_REASON_BYTES) return bytes;
  let end = MAX_REASON_BYTES;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function codeAndReason(code: number, reason: string): Buffer {
  const text = reasonBytes(reason);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

/** The payload bytes of a frame. DATA payloads are returned as they are, not copied. */
function payloadOf(frame: TunnelFrame): Buffer {
  switch (frame.type) {
    case 'data':
      return frame.payload;
    case 'open': {
      const json = encodeTarget(frame.target);
      if (json.length > MAX_OPEN_PAYLOAD) {
        throw new RangeError(`OPEN target of ${json.length} bytes exceeds ${MAX_OPEN_PAYLOAD}`);
      }
      return json;
    }
    case 'open-refused':
    case 'reset':
    case 'goaway':
      return codeAndReason(frame.code, frame.reason);
    case 'window-update': {
      const out = Buffer.allocUnsafe(WINDOW_UPDATE_PAYLOAD_BYTES);
      out.writeUInt32BE(Math.floor(frame.consumed / 0x1_0000_0000), 0);
      out.writeUInt32BE(frame.consumed % 0x1_0000_0000, 4);
      out.writeUInt32BE(frame.window, 8);
      return out;
    }
    case 'ping':
      return frame.opaque;
    default:
      return EMPTY;
  }
}

/**
 * Frames gathered into one transport message: one allocation and one copy for the lot.
 * `add` refuses a frame that would push the message past its byte budget.
 */
export class FrameBatch {
  private readonly maxBytes: number;
  private readonly frames: { frame: TunnelFrame; payload: Buffer }[] = [];
  private bytes = 0;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    this.maxBytes = maxBytes;
  }

  /** Bytes the encoded message will have. */
  get byteLength(): number {
    return this.bytes;
  }

  /** Number of frames added. */
  get frameCount(): number {
    return this.frames.length;
  }

  /** Bytes still free for one more frame, header included. */
  get room(): number {
    return this.maxBytes - this.bytes;
  }

  /** Adds a frame if it fits; returns false (and adds nothing) when it does not. */
  add(frame: TunnelFrame): boolean {
    const payload = payloadOf(frame);
    const size = FRAME_HEADER_BYTES + payload.length;
    if (this.bytes + size > this.maxBytes) return false;
    this.frames.push({ frame, payload });
    this.bytes += size;
    return true;
  }

  /** Encodes every frame added, in order, into one buffer. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (const { frame, payload } of this.frames) {
      out[at] = TUNNEL_FRAME_VERSION;
      out[at + 1] = TYPE_NUMBERS[frame.type];
      out[at + 2] = frame.type === 'ping' && frame.ack ? FLAG_ACK : 0;
      out[at + 3] = 0;
      out.writeUInt32BE(frame.type === 'ping' || frame.type === 'goaway' ? 0 : frame.streamId, at + 4);
      out.writeUInt32BE(payload.length, at + 8);
      payload.copy(out, at + FRAME_HEADER_BYTES);
      at += FRAME_HEADER_BYTES + payload.length;
    }
    return out;
  }
}

/** Encodes one frame. */
export function encodeFrame(frame: TunnelFrame): Buffer {
  const batch = new FrameBatch();
  batch.add(frame);
  return batch.toBuffer();
}

/** Encodes frames, in order, into one buffer (one transport message). */
export function encodeFrames(frames: Iterable<TunnelFrame>): Buffer {
  const batch = new FrameBatch();
  for (const frame of frames) batch.add(frame);
  return batch.toBuffer();
}

import type { TunnelTarget } from './target.ts';

/**
 * Tunnel frames, version 1: the binary half of a push line (docs/tunnel-frames.md).
 * Every frame is a 12-byte header followed by `length` payload bytes.
 */
export const TUNNEL_FRAME_VERSION = 1;

/** Bytes in every frame header: version, type, flags, reserved, stream id, length. */
export const FRAME_HEADER_BYTES = 12;

/** Payload size every implementation must accept; the default decoder limit. */
export const DEFAULT_MAX_FRAME_PAYLOAD = 64 * 1024;

/** Largest OPEN target descriptor (UTF-8 JSON). */
export const MAX_OPEN_PAYLOAD = 4096;

/** Largest reason text after the code in OPEN_REFUSED, RESET and GOAWAY. */
export const MAX_REASON_BYTES = 256;

/** Per-stream window each direction starts with, before any WINDOW_UPDATE. */
export const INITIAL_WINDOW = 256 * 1024;

/** Largest window a WINDOW_UPDATE may advertise (2^31 - 1, as in HTTP/2). */
export const MAX_WINDOW = 0x7fff_ffff;

/** Largest byte offset a WINDOW_UPDATE may carry: offsets stay exact JavaScript integers. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** Wire numbers of the frame types. */
export const FrameType = {
  DATA: 0x0,
  OPEN: 0x1,
  OPEN_OK: 0x2,
  OPEN_REFUSED: 0x3,
  WINDOW_UPDATE: 0x4,
  FIN: 0x5,
  RESET: 0x6,
  PING: 0x7,
  GOAWAY: 0x8,
} as const;

/** The only flag of version 1: on PING, marks the answer. */
export const FLAG_ACK = 0x1;

/**
 * Codes carried by OPEN_REFUSED, RESET and GOAWAY (u16). Receivers keep unknown codes
 * as numbers and treat them like INTERNAL.
 */
export const TunnelCode = {
  /** GOAWAY: orderly shutdown. */
  NO_ERROR: 0,
  /** The peer broke a rule of the stream or connection state machine. */
  PROTOCOL: 1,
  /** A bug or unexpected failure on the sending side. */
  INTERNAL: 2,
  /** The peer sent DATA beyond the window it was given. */
  FLOW_CONTROL: 3,
  /** A malformed frame (bad version, type, flags, length, payload). */
  FRAME: 4,
  /** The stream is no longer wanted (local destroy, open timeout). */
  CANCEL: 5,
  /** OPEN_REFUSED: the target is not on the acceptor's allow-list. */
  NOT_ALLOWED: 6,
  /** OPEN_REFUSED: the acceptor could not connect to the target. */
  UNREACHABLE: 7,
  /** The target or the acceptor did not answer in time. */
  TIMEOUT: 8,
  /** OPEN_REFUSED: too many streams or no memory budget left. */
  LIMIT: 9,
  /** OPEN_REFUSED: the target descriptor names nothing the acceptor knows. */
  BAD_TARGET: 10,
  /** The target (LAN device, cloud job) failed the stream. */
  TARGET_ERROR: 11,
  /** GOAWAY: the sender is shutting down. */
  SHUTDOWN: 12,
} as const;

export type TunnelCodeName = keyof typeof TunnelCode;

const CODE_NAMES = new Map<number, TunnelCodeName>(
  Object.entries(TunnelCode).map(([name, code]) => [code, name as TunnelCodeName]),
);

/** Name of a wire code for logs and errors; unknown codes read as `CODE_<n>`. */
export function tunnelCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `CODE_${code}`;
}

/** Frames that belong to one stream (stream id ≠ 0). */
export type StreamFrame =
  | { type: 'open'; streamId: number; target: TunnelTarget }
  | { type: 'open-ok'; streamId: number }
  | { type: 'open-refused'; streamId: number; code: number; reason: string }
  | { type: 'data'; streamId: number; payload: Buffer }
  | { type: 'window-update'; streamId: number; consumed: number; window: number }
  | { type: 'fin'; streamId: number }
  | { type: 'reset'; streamId: number; code: number; reason: string };

/** Frames that belong to the connection (stream id 0). */
export type ConnectionFrame =
  | { type: 'ping'; ack: boolean; opaque: Buffer }
  | { type: 'goaway'; code: number; reason: string };

/** One decoded tunnel frame. */
export type TunnelFrame = StreamFrame | ConnectionFrame;

/** Bytes of a PING payload. */
export const PING_PAYLOAD_BYTES = 8;

/** Bytes of a WINDOW_UPDATE payload: consumed offset (u64) and window (u32). */
export const WINDOW_UPDATE_PAYLOAD_BYTES = 12;

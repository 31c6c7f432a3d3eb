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

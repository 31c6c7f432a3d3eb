import type { TunnelFrameErrorCode } from '../protocol/tunnel/errors.ts';

/**
 * Why a stream or a whole multiplexer failed. The frame codes mean the peer broke the
 * protocol (we sent GOAWAY); the others:
 * - TRANSPORT_CLOSED: the line under the tunnel died; resume on another line;
 * - MUX_CLOSED: closed on this side (mux.close());
 * - GOAWAY: the peer ended the connection (remoteCode says why);
 * - STREAM_RESET: the peer aborted this stream (remoteCode says why);
 * - OPEN_REFUSED: the acceptor refused the OPEN (remoteCode says why);
 * - OPEN_TIMEOUT: no answer to OPEN in time;
 * - LIMIT: no memory budget or stream id left to open a stream here;
 * - BAD_TARGET: the target descriptor given to openStream is invalid.
 */
export type TunnelErrorCode =
  | TunnelFrameErrorCode
  | 'MFP_TUN_ERR_TRANSPORT_CLOSED'
  | 'MFP_TUN_ERR_MUX_CLOSED'
  | 'MFP_TUN_ERR_GOAWAY'
  | 'MFP_TUN_ERR_STREAM_RESET'
  | 'MFP_TUN_ERR_OPEN_REFUSED'
  | 'MFP_TUN_ERR_OPEN_TIMEOUT'
  | 'MFP_TUN_ERR_LIMIT'
  | 'MFP_TUN_ERR_BAD_TARGET';

/** Byte positions of one stream, for the tunnel log and for resuming a job. */
export interface StreamOffsets {
  /** DATA bytes we sent. */
  sent: number;
  /** Bytes of ours the peer's reader has consumed: a job resumes from here. */
  acknowledged: number;
  /** DATA bytes we received. */
  received: number;
  /** Bytes our reader has consumed (what we told the peer, or will). */
  delivered: number;
}

export interface TunnelErrorDetails {
  /** Name of the peer's wire code (TunnelCode), for GOAWAY, RESET and OPEN_REFUSED. */
  remoteCode?: string;
  /** The stream's offsets when it failed. */
  offsets?: StreamOffsets;
  cause?: unknown;
}

/** A stream or multiplexer failure with a stable code; a value for the job layer to act on. */
export class TunnelError extends Error {
  readonly code: TunnelErrorCode;
  readonly remoteCode: string | undefined;
  readonly offsets: StreamOffsets | undefined;

  constructor(code: TunnelErrorCode, message: string, details: TunnelErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TunnelError';
    this.code = code;
    this.remoteCode = details.remoteCode;
    this.offsets = details.offsets;
  }

  /** The same failure, as seen by one stream at the given offsets. */
  forStream(offsets: StreamOffsets): TunnelError {
    return new TunnelError(this.code, this.message, {
      remoteCode: this.remoteCode,
      offsets,
      cause: this.cause,
    });
  }
}

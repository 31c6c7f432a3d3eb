import { TunnelCode } from './tunnel-codes.ts';

/**
 * Stable codes for everything a peer can get wrong in tunnel frames. The first group is
 * found by the decoder alone; the last three by the multiplexer's state machine.
 */
export type TunnelFrameErrorCode =
  | 'MFP_TUN_ERR_BAD_VERSION'
  | 'MFP_TUN_ERR_BAD_TYPE'
  | 'MFP_TUN_ERR_BAD_FLAGS'
  | 'MFP_TUN_ERR_BAD_STREAM_ID'
  | 'MFP_TUN_ERR_BAD_LENGTH'
  | 'MFP_TUN_ERR_FRAME_TOO_LARGE'
  | 'MFP_TUN_ERR_BAD_PAYLOAD'
  | 'MFP_TUN_ERR_TRUNCATED'
  | 'MFP_TUN_ERR_WINDOW_EXCEEDED'
  | 'MFP_TUN_ERR_PROTOCOL'
  | 'MFP_TUN_ERR_CONTROL_FLOOD';

const WIRE_CODES: Record<TunnelFrameErrorCode, number> = {
  MFP_TUN_ERR_BAD_VERSION: TunnelCode.FRAME,
  MFP_TUN_ERR_BAD_TYPE: TunnelCode.FRAME,
  MFP_TUN_ERR_BAD_FLAGS: TunnelCode.FRAME,
  MFP_TUN_ERR_BAD_STREAM_ID: TunnelCode.FRAME,
  MFP_TUN_ERR_BAD_LENGTH: TunnelCode.FRAME,
  MFP_TUN_ERR_FRAME_TOO_LARGE: TunnelCode.FRAME,
  MFP_TUN_ERR_BAD_PAYLOAD: TunnelCode.FRAME,
  MFP_TUN_ERR_TRUNCATED: TunnelCode.FRAME,
  MFP_TUN_ERR_WINDOW_EXCEEDED: TunnelCode.FLOW_CONTROL,
  MFP_TUN_ERR_PROTOCOL: TunnelCode.PROTOCOL,
  MFP_TUN_ERR_CONTROL_FLOOD: TunnelCode.PROTOCOL,
};

/**
 * A malformed frame or a broken tunnel rule from the peer: a value, never a crash. It is
 * always a connection error: the receiver sends GOAWAY with `wireCode` and stops.
 */
export class TunnelFrameError extends Error {
  readonly code: TunnelFrameErrorCode;
  /** Code to send in the GOAWAY that ends the connection. */
  readonly wireCode: number;

  constructor(code: TunnelFrameErrorCode, message: string) {
    super(message);
    this.name = 'TunnelFrameError';
    this.code = code;
    this.wireCode = WIRE_CODES[code];
  }
}

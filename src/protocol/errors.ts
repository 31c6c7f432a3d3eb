/** Stable codes for everything a peer can get wrong on the wire. */
export type ProtocolErrorCode =
  | 'MFP_ERR_FRAME_TOO_LARGE'
  | 'MFP_ERR_BINARY_UNEXPECTED'
  | 'MFP_ERR_INVALID_JSON'
  | 'MFP_ERR_UNKNOWN_TYPE'
  | 'MFP_ERR_INVALID_MESSAGE'
  | 'MFP_ERR_UNSUPPORTED_VERSION'
  /** A hello names another gateway than the credentials the line was opened with. */
  | 'MFP_ERR_GATEWAY_MISMATCH'
  | 'MFP_ERR_UNEXPECTED_MESSAGE';

/** A malformed or unexpected message from a peer; a value, never a crash. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  /** WebSocket close code to use if the connection cannot go on. */
  readonly closeCode: number;

  constructor(code: ProtocolErrorCode, message: string, closeCode = 1008) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

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

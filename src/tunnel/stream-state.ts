import type { StreamFrame } from '../protocol/tunnel/frame-types.ts';

/**
 * Where a stream is in its life, as seen by one end:
 * - `opening-out`: we sent OPEN and wait for OPEN_OK or OPEN_REFUSED;
 * - `opening-in`: the peer sent OPEN and our acceptor has not decided yet;
 * - `open`: DATA flows; each direction ends on its own with FIN.
 * RESET, OPEN_REFUSED or both directions finished remove the stream.
 */
export type StreamPhase = 'opening-out' | 'opening-in' | 'open';

/** What the state machine needs to judge a frame from the peer. */
export interface StreamState {
  phase: StreamPhase;
  /** The peer sent FIN. */
  remoteEnded: boolean;
}

/**
 * Judges a frame the peer sent on a known stream. Returns why it breaks the protocol,
 * or undefined when it is allowed. OPEN is never allowed here: the stream exists.
 */
export function inboundViolation(state: StreamState, type: StreamFrame['type']): string | undefined {
  const { phase, remoteEnded } = state;
  switch (type) {
    case 'reset':
    case 'window-update':
      return undefined;
    case 'open-ok':
    case 'open-refused':
      return phase === 'opening-out'
        ? undefined
        : `${type.toUpperCase()} for a stream that is not being opened`;
    case 'data':
    case 'fin':
      if (phase === 'opening-out') return `${type.toUpperCase()} before OPEN_OK`;
      if (phase === 'opening-in') return `${type.toUpperCase()} before the stream was accepted`;
      return remoteEnded ? `${type.toUpperCase()} after FIN` : undefined;
    case 'open':
      return 'OPEN for a stream id already in use';
  }
}

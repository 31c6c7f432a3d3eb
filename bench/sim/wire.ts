import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import type { Candidate } from '../../src/cloud/learning/representative.ts';

/** The two safe push lines every gateway keeps. */
export type PushLineName = 'line-0' | 'line-1';
/** The representative's probe lines. */
export type ProbeLineName = `probe-${number}`;
/** A push line, or one of the representative's probe lines. */
export type LineName = PushLineName | ProbeLineName;

export const PUSH_LINES: readonly PushLineName[] = ['line-0', 'line-1'];

/** True for the representative's probe lines. */
export function isProbeLine(line: LineName): line is ProbeLineName {
  return line.startsWith('probe-');
}

/** What the cloud sends down a line. Every message carries the current advice, as every reply does. */
export interface DownMessage {
  kind: 'push' | 'probe' | 'advice' | 'probe-open' | 'probe-close';
  advice: KeepaliveAdvice;
  /** Lines the cloud saw die (or wants afresh): reconnect them at once (plural connections). */
  restore: readonly LineName[];
  /** For probe-open and probe-close: which probe lines. */
  probeLines?: readonly ProbeLineName[];
}

/** How a message down a line fared: acknowledged, lost in silence, or answered by a reset. */
export type Delivery = 'delivered' | 'silent' | 'reset';

/**
 * What a gateway says about the line it lost, when it reconnects it (a hello's `lost` entry):
 * an unanswered keep-alive, or the connection dropped under it ('error': a reset, or a close
 * with no WebSocket close frame, as a proxy's idle close), which the cloud logs as a reset.
 */
export interface DeathReport {
  reason: 'keepalive-timeout' | 'error';
  idleBeforeMs: number;
  connectionAgeMs: number;
  limitedByPolicy: boolean;
  /** When the loss was observed (the unanswered keep-alive left, or the connection dropped). */
  at: number;
  /** The connection that died: one death per session. */
  sessionId: string;
}

/** The cloud's handle on a gateway. */
export interface GatewayPort {
  readonly id: string;
  readonly siteKey: string;
  /** Uptime and load, for the representative election. */
  candidate(now: number): Candidate;
  /** Sends a message down a line. */
  deliver(line: LineName, message: DownMessage): Delivery;
}

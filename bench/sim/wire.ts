import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import type { Candidate } from '../../src/cloud/learning/representative.ts';

/** The two safe push lines every gateway keeps. */
export type PushLineName = 'line-0' | 'line-1';
/** A push line, or the representative's probe line. */
export type LineName = PushLineName | 'probe';

export const PUSH_LINES: readonly PushLineName[] = ['line-0', 'line-1'];

/** What the cloud sends down a line. Every message carries the current advice, as every reply does. */
export interface DownMessage {
  kind: 'push' | 'probe' | 'probe-open' | 'probe-close';
  advice: KeepaliveAdvice;
  /** Push lines the cloud saw die: reconnect them at once (plural connections). */
  restore: readonly PushLineName[];
}

/** What a gateway says about the line it lost, when it reconnects it. */
export interface DeathReport {
  idleBeforeMs: number;
  connectionAgeMs: number;
  limitedByPolicy: boolean;
  /** When the loss was observed (the unanswered keep-alive left). */
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
  /** Sends a message down a line: true when it crossed the middlebox and was acknowledged. */
  deliver(line: LineName, message: DownMessage): boolean;
}

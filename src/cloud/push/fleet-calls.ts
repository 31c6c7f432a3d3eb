import type { RemoteLine } from './gateway-directory.ts';

/** How a push on another node's line ended, as that node tells it. */
export type RemotePushOutcome = { ok: true; idleBeforeMs: number } | { ok: false; failure: string };

/**
 * What this node asks of the node that holds a gateway's line (docs/fleet.md): implemented
 * over NATS request/reply by `cluster/`, absent on a single node.
 */
export interface FleetCalls {
  /**
   * Sends a push on a line another node holds. That node records the outcome and, when the
   * line failed, closes it and has the gateway restore it; never rejects.
   */
  push(
    line: RemoteLine,
    push: { pushId: string; dataType: string; payload: unknown },
    ackTimeoutMs: number,
  ): Promise<RemotePushOutcome>;
  /** Asks the gateway, over a line another node holds, to reopen lines; false when not sent. */
  restore(line: RemoteLine, connectionIds: string[], reason: string): Promise<boolean>;
}

/** Which line of a gateway a record was taken on. */
export type LineRole = 'push' | 'probe';

/** What was exchanged: a cloud push, a gateway keep-alive, or a probe of a candidate gap. */
export type DataType = 'push' | 'keepalive' | 'probe';

/** How an exchange failed, when it did. */
export type FailureKind =
  | 'ack-timeout' // the cloud sent, no acknowledgement within the deadline
  | 'reset' // the connection was reset while or before sending
  | 'write-error' // the socket refused the write
  | 'keepalive-timeout' // reported by the gateway: its keep-alive got no answer
  | 'cloud-late'; // the cloud itself was late (event-loop lag, queueing): not the network's doing

/**
 * One row of the communication status log (seed 000): what happened on one push
 * connection, and for how long the connection had been idle before it.
 */
export interface StatusRecord {
  /** Store-assigned sequence number. */
  id: number;
  /**
   * When the exchange ended (success) or the loss was observed (the close or reset, or when
   * the unanswered keep-alive or probe left), ms since epoch: a lost line is dated at its
   * death, not at the hello that reports it.
   */
  time: number;
  /** The gateway's configured id. */
  gatewayId: string;
  /** The gateway's client UUID, stable across its connections. */
  clientId: string;
  /** The line (connection slot) within the gateway, e.g. "line-0" or "probe". */
  connectionId: string;
  /** The session (one connection of the line) the record was taken on, when known: one death per session. */
  sessionId?: string;
  role: LineRole;
  dataType: DataType;
  status: 'OK' | 'NG';
  /** Idle time of the connection before this exchange, in ms. */
  idleBeforeMs: number;
  /** Age of the connection at the time of the exchange, in ms. */
  connectionAgeMs: number;
  failure?: FailureKind;
  /**
   * True when the gateway was keeping alive less often than advised because of its
   * power policy: such a failure says nothing about the network and is not evidence.
   */
  policyLimited: boolean;
}

import type { Evidence, EvidenceRecord } from '../learning/evidence.ts';
import type { StatusRecord } from '../learning/status-record.ts';

/** What the cloud remembers of a gateway between its connections, from its latest hello. */
export interface GatewayInfo {
  gatewayId: string;
  clientId: string;
  domain: string;
  egressAddress: string | null;
  siteKey: string;
  lastHelloAt: number;
}

/** A status-log row before the store numbered it. */
export type NewRecord = Omit<StatusRecord, 'id'>;

/**
 * The pure step that turns a gateway's evidence and new records into its next evidence
 * (learning/evidence.ts foldRecords). It returns the same object when nothing changed, and may
 * be called more than once per record() (a store that retries on a concurrent update).
 */
export type EvidenceFold = (current: Evidence | null, records: readonly EvidenceRecord[]) => Evidence;

/** What one record() did. */
export interface Recorded {
  records: StatusRecord[];
  evidence: Evidence;
  /** False when the fold left the evidence as it was (nothing was written but the log rows). */
  changed: boolean;
}

/** A gateway of a site and what it has learned. */
export interface SiteMember {
  gatewayId: string;
  evidence: Evidence | null;
}

/** How much of the status log to keep. */
export interface RetentionPolicy {
  /** Rows older than this are deleted, ms since epoch. */
  before: number;
  /** At most this many newest rows are kept per gateway. */
  maxPerGateway: number;
  /** Most rows one call deletes (the job calls again until nothing is left), so no call blocks for long. */
  batch: number;
}

/** What one prune() call did. */
export interface PruneStep {
  deleted: number;
  /** True when the sweep is complete; the next call starts a new one. */
  done: boolean;
}

/**
 * Everything the keep-alive learning persists: the communication status log (seed 000), each
 * gateway's evidence (folded incrementally, one small document per gateway), and the gateways'
 * sites. Every method is async so the store can live in PostgreSQL as well as in SQLite.
 *
 * Per exchange the cloud calls record() once: one log row appended and, only when the fold
 * changed it, the evidence written, atomically. Two cloud nodes may record for one gateway at
 * once (its two lines on different nodes): an implementation must serialise them per gateway
 * (SQLite: one transaction; PostgreSQL: SELECT … FOR UPDATE on the gateway's evidence row, or
 * an optimistic version check that re-runs the fold on the newer evidence).
 */
export interface LearningStore {
  /** True when no other node writes this store: what this node read of it stays true until it writes. */
  readonly soleWriter: boolean;
  /** Appends the records to the log and folds them into the gateway's evidence, atomically. */
  record(gatewayId: string, records: readonly NewRecord[], fold: EvidenceFold): Promise<Recorded>;
  /**
   * record() done at once, for a store that can: when the fold leaves the evidence as it was
   * and nothing must be written before the answer (the common keep-alive). Undefined: nothing
   * was done, call record(). Optional; a store without it is always asked through record().
   */
  recordUnchanged?(
    gatewayId: string,
    records: readonly NewRecord[],
    fold: EvidenceFold,
  ): Recorded | undefined;
  /** A gateway's evidence (null: nothing recorded yet). */
  evidence(gatewayId: string): Promise<Evidence | null>;
  /** Every gateway seen at a site and its evidence, from an index on the site (no scan of all gateways). */
  siteMembers(siteKey: string): Promise<SiteMember[]>;
  /** Remembers a gateway's identity and site from its hello. */
  saveGateway(info: GatewayInfo): Promise<void>;
  /** The last known identity of a gateway. */
  gateway(gatewayId: string): Promise<GatewayInfo | undefined>;
  /** The newest records of a gateway since a time, oldest first, at most limit. */
  recent(gatewayId: string, since: number, limit: number): Promise<StatusRecord[]>;
  /** Appends rows to the log only (history imports, benchmarks): no evidence is folded. */
  appendMany(records: readonly NewRecord[]): Promise<void>;
  /**
   * Deletes rows past the policy, at most about policy.batch per call; call again until done
   * (one sweep: everything older than policy.before, then each gateway's excess over the cap).
   */
  prune(policy: RetentionPolicy): Promise<PruneStep>;
  close(): Promise<void>;
}

/** The messages between bench:cloud and its load workers (child processes, over IPC). */
import type { FleetStats } from './sim-gateway.ts';

/** Which server a fleet of simulated gateways talks to: the cloud, or the bare ws reference. */
export type Target = 'cloud' | 'ref';

export interface WorkerSetup {
  /** This worker's gateways: indexes from (inclusive) to (exclusive). */
  from: number;
  to: number;
  runSecret: string;
  siteSize: number;
  linesPerGateway: number;
  defaultKeepaliveMs: number;
  answerTimeoutMs: number;
  /** Opening handshakes in flight at once in this worker. */
  openConcurrency: number;
}

export type ToWorker =
  | ({ type: 'setup' } & WorkerSetup)
  /** Open every gateway's lines to these push endpoints (one per node). */
  | { type: 'connect'; target: Target; urls: string[] }
  /** Start counting afresh (the measurement window opens). */
  | { type: 'reset' }
  | { type: 'report' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'connected'; target: Target }
  | {
      type: 'report';
      stats: Record<Target, FleetStats>;
      /** The keep-alive interval of each open line (the latest advice), ms. */
      intervalsMs: Record<Target, number[]>;
      /** The worker's own worst event-loop lag since the last reset, ms: it delays what it measures. */
      lagMaxMs: number;
    };

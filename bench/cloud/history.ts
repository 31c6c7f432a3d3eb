/**
 * A simulated week (or any number of days) of a fleet's communication status log, written
 * into the cloud's own store before the cloud starts. Every gateway kept its two push lines
 * up all along and kept each alive after `keepaliveMs` of idle, every exchange succeeded, and
 * pushes arrived at random (one per 20 min per gateway on average) on its freshest line — the
 * log of a path that holds at least `keepaliveMs`, so the cloud keeps advising that interval
 * and the benchmark's keep-alive rate stays what the history says. Records of all gateways are
 * interleaved in time, as a live cloud writes them (a gateway's rows scattered over the file).
 */
import { domainOf } from '../../src/cloud/learning/domain.ts';
import { type Evidence, emptyEvidence, foldRecord } from '../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG } from '../../src/cloud/learning/learning-config.ts';
import type { StatusRecord } from '../../src/cloud/learning/status-record.ts';
import type { LearningStore } from '../../src/cloud/status/learning-store.ts';
import { Prng } from '../sim/prng.ts';
import { DAY_MS, PUSH_MEAN_GAP_MS } from '../sim/week.ts';
import { SIM_EGRESS_ADDRESS, type SimGatewayIdentity, simSiteKey } from './fleet-plan.ts';

type NewRecord = Omit<StatusRecord, 'id'>;

/** How late a gateway's keep-alive timer fires after the interval, at most, ms. */
const TIMER_JITTER_MS = 200;
/** The delay between opening a gateway's successive lines (the gateway's cloud.stagger). */
const LINE_STAGGER_MS = 2000;
/** Records are generated and written in slices of this much simulated time. */
const SLICE_MS = 10 * 60_000;

export interface HistoryOptions {
  /** The end of the history (the cloud starts right after), ms since epoch. */
  now: number;
  days: number;
  keepaliveMs: number;
  lines: number;
  seed: number;
  pushMeanGapMs?: number;
}

interface LineState {
  connectionId: string;
  connectedAt: number;
  lastTrafficAt: number;
  /** When its keep-alive timer fires next. */
  dueAt: number;
}

/** One gateway's log, produced in time order a slice at a time. */
export class GatewayHistory {
  private readonly lines: LineState[];
  private nextPushAt: number;
  private readonly prng: Prng;
  private readonly gateway: SimGatewayIdentity;
  private readonly options: HistoryOptions;

  constructor(gateway: SimGatewayIdentity, options: HistoryOptions) {
    this.gateway = gateway;
    this.options = options;
    this.prng = new Prng(options.seed ^ (gateway.index * 2_654_435_761));
    const start = options.now - options.days * DAY_MS;
    this.lines = Array.from({ length: options.lines }, (_, i) => {
      const connectedAt = start + i * LINE_STAGGER_MS;
      return { connectionId: `line-${i}`, connectedAt, lastTrafficAt: connectedAt, dueAt: 0 };
    });
    for (const line of this.lines) line.dueAt = this.nextDue(line);
    this.nextPushAt = start + this.prng.exponential(this.pushMeanGapMs());
  }

  /** The records of every exchange before `until`, oldest first, from where the last call stopped. */
  recordsBefore(until: number): NewRecord[] {
    const records: NewRecord[] = [];
    for (;;) {
      const line = this.lines.reduce((a, b) => (b.dueAt < a.dueAt ? b : a));
      const at = Math.min(line.dueAt, this.nextPushAt);
      if (at >= until) return records;
      if (this.nextPushAt <= line.dueAt) {
        // The cloud pushes on the line with the least idle time.
        const freshest = this.lines.reduce((a, b) => (b.lastTrafficAt > a.lastTrafficAt ? b : a));
        records.push(this.record(freshest, 'push', at));
        this.nextPushAt = at + this.prng.exponential(this.pushMeanGapMs());
      } else {
        records.push(this.record(line, 'keepalive', at));
      }
    }
  }

  private record(line: LineState, dataType: 'push' | 'keepalive', at: number): NewRecord {
    const record: NewRecord = {
      time: at,
      gatewayId: this.gateway.id,
      clientId: this.gateway.clientId,
      connectionId: line.connectionId,
      role: 'push',
      dataType,
      status: 'OK',
      idleBeforeMs: at - line.lastTrafficAt,
      connectionAgeMs: at - line.connectedAt,
      policyLimited: false,
    };
    line.lastTrafficAt = at;
    line.dueAt = this.nextDue(line);
    return record;
  }

  private nextDue(line: LineState): number {
    return line.lastTrafficAt + this.options.keepaliveMs + this.prng.next() * TIMER_JITTER_MS;
  }

  private pushMeanGapMs(): number {
    return this.options.pushMeanGapMs ?? PUSH_MEAN_GAP_MS;
  }
}

/**
 * Every gateway's records before `now`, merged in time order, one slice of simulated time
 * per yielded batch.
 */
export function* fleetHistory(
  gateways: readonly SimGatewayIdentity[],
  options: HistoryOptions,
): Generator<NewRecord[]> {
  const histories = gateways.map((g) => new GatewayHistory(g, options));
  for (let until = options.now - options.days * DAY_MS + SLICE_MS; ; until += SLICE_MS) {
    const end = Math.min(until, options.now);
    const batch = histories.flatMap((h) => h.recordsBefore(end));
    yield batch.sort((a, b) => a.time - b.time);
    if (end >= options.now) return;
  }
}

/**
 * Writes the fleet's history into the cloud's learning store: each gateway's identity as its
 * last hello left it, its log, and the evidence the cloud would have folded from it (the
 * cloud never reads the log back to advise). Returns how many records were written.
 */
export async function fillHistory(
  store: LearningStore,
  gateways: readonly SimGatewayIdentity[],
  options: HistoryOptions,
): Promise<number> {
  for (const gateway of gateways) {
    await store.saveGateway({
      gatewayId: gateway.id,
      clientId: gateway.clientId,
      domain: domainOf(gateway.domain),
      egressAddress: SIM_EGRESS_ADDRESS,
      siteKey: simSiteKey(gateway),
      lastHelloAt: options.now,
    });
  }
  const evidence = new Map<string, Evidence>();
  const ctx = { config: DEFAULT_LEARNING_CONFIG };
  let written = 0;
  for (const batch of fleetHistory(gateways, options)) {
    await store.appendMany(batch);
    written += batch.length;
    for (const r of batch)
      evidence.set(r.gatewayId, foldRecord(evidence.get(r.gatewayId) ?? emptyEvidence(), r, ctx));
  }
  // No new rows: the fold is the history's, done above in one pass.
  for (const [gatewayId, folded] of evidence) await store.record(gatewayId, [], () => folded);
  return written;
}

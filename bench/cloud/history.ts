/**
 * A simulated week (or any number of days) of a fleet's communication status log, written
 * into the cloud's own store before the cloud starts. Every gateway kept its two push lines
 * up all along and kept each alive after `keepaliveMs` of idle, every exchange succeeded, and
 * pushes arrived at random (one per 20 min per gateway on average) on its freshest line — the
 * log of a path that holds at least `keepaliveMs`, so the cloud keeps advising that interval
 * and the benchmark's keep-alive rate stays what the history says.
 *
 * The store gets what a cloud that ran that week would hold: each gateway's evidence folded
 * from every exchange, and of its log only what the retention job keeps (statusLog.keep and
 * maxPerGateway), the rows of all gateways interleaved in time as a live cloud writes them (a
 * gateway's rows scattered over the file). The week is generated twice, deterministically:
 * once per gateway to fold its evidence and find where its kept log begins, once for the
 * whole fleet in time order to write that log.
 */
import { domainOf } from '../../src/cloud/learning/domain.ts';
import { type Evidence, emptyEvidence, foldRecord } from '../../src/cloud/learning/evidence.ts';
import type { LearningConfig } from '../../src/cloud/learning/learning-config.ts';
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

/** What the cloud keeps of the log (its statusLog section), and how it folds evidence. */
export interface CloudKeeping {
  learning: LearningConfig;
  keepMs: number;
  maxPerGateway: number;
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
  private lines: LineState[];
  private nextPushAt: number;
  private prng: Prng;
  private readonly gateway: SimGatewayIdentity;
  private readonly options: HistoryOptions;

  constructor(gateway: SimGatewayIdentity, options: HistoryOptions) {
    this.gateway = gateway;
    this.options = options;
    this.prng = new Prng(options.seed ^ Math.imul(gateway.index, 2_654_435_761));
    const start = options.now - options.days * DAY_MS;
    this.lines = Array.from({ length: options.lines }, (_, i) => {
      const connectedAt = start + i * LINE_STAGGER_MS;
      return { connectionId: `line-${i}`, connectedAt, lastTrafficAt: connectedAt, dueAt: 0 };
    });
    for (const line of this.lines) line.dueAt = this.nextDue(line);
    this.nextPushAt = Math.round(start + this.prng.exponential(this.pushMeanGapMs()));
  }

  /** A history that goes on from where this one stands, apart from it. */
  clone(): GatewayHistory {
    const copy = Object.create(GatewayHistory.prototype) as GatewayHistory;
    Object.assign(copy, this, {
      lines: this.lines.map((line) => ({ ...line })),
      prng: this.prng.clone(),
    });
    return copy;
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
        this.nextPushAt = Math.round(at + this.prng.exponential(this.pushMeanGapMs()));
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
    // Whole ms, as the cloud's clock stamps them.
    return Math.round(line.lastTrafficAt + this.options.keepaliveMs + this.prng.next() * TIMER_JITTER_MS);
  }

  private pushMeanGapMs(): number {
    return this.options.pushMeanGapMs ?? PUSH_MEAN_GAP_MS;
  }
}

/** One gateway's history as the cloud holds it after the week. */
interface Surveyed {
  evidence: Evidence;
  /** Positioned at the start of the day its kept log begins in. */
  history: GatewayHistory;
  /** Records of that day before the kept log begins. */
  skip: number;
}

/**
 * Generates one gateway's whole history a day at a time, folding every record into its
 * evidence, and finds where the part of its log the retention job keeps begins.
 */
export function surveyGateway(
  gateway: SimGatewayIdentity,
  options: HistoryOptions,
  keeping: CloudKeeping,
): Surveyed {
  const history = new GatewayHistory(gateway, options);
  const keepFrom = options.now - keeping.keepMs;
  const days: Array<{ index: number; history: GatewayHistory }> = [];
  let evidence = emptyEvidence();
  let count = 0;
  let old = 0;
  for (let until = options.now - options.days * DAY_MS; until < options.now; ) {
    until = Math.min(until + DAY_MS, options.now);
    days.push({ index: count, history: history.clone() });
    for (const record of history.recordsBefore(until)) {
      evidence = foldRecord(evidence, record, { config: keeping.learning });
      if (record.time < keepFrom) old++;
      count++;
    }
  }
  const first = Math.max(old, count - keeping.maxPerGateway);
  const day = days.findLast((d) => d.index <= first) ?? { index: 0, history };
  return { evidence, history: day.history, skip: first - day.index };
}

/**
 * The kept log of every surveyed gateway, merged in time order, one slice of simulated time
 * per yielded batch.
 */
export function* fleetLog(surveyed: readonly Surveyed[], options: HistoryOptions): Generator<NewRecord[]> {
  const skip = surveyed.map((s) => s.skip);
  for (let until = options.now - options.days * DAY_MS + SLICE_MS; ; until += SLICE_MS) {
    const end = Math.min(until, options.now);
    const batch = surveyed.flatMap((s, i) => {
      const records = s.history.recordsBefore(end);
      const skipped = Math.min(skip[i] as number, records.length);
      skip[i] = (skip[i] as number) - skipped;
      return skipped === 0 ? records : records.slice(skipped);
    });
    yield batch.sort((a, b) => a.time - b.time);
    if (end >= options.now) return;
  }
}

/** How far a fill has got, for a long one. */
export type FillProgress = (done: { gateways: number; records: number }) => void;

/**
 * Writes the fleet's history into the cloud's learning store: each gateway's identity as its
 * last hello left it, its evidence (the cloud never reads the log back to advise) and its kept
 * log. Returns how many log records were written.
 */
export async function fillHistory(
  store: LearningStore,
  gateways: readonly SimGatewayIdentity[],
  options: HistoryOptions,
  keeping: CloudKeeping,
  progress?: FillProgress,
): Promise<number> {
  const surveyed: Surveyed[] = [];
  for (const gateway of gateways) {
    await store.saveGateway({
      gatewayId: gateway.id,
      clientId: gateway.clientId,
      domain: domainOf(gateway.domain),
      egressAddress: SIM_EGRESS_ADDRESS,
      siteKey: simSiteKey(gateway),
      lastHelloAt: options.now,
    });
    const survey = surveyGateway(gateway, options, keeping);
    // No new rows: the fold is the week's, done in the survey.
    await store.record(gateway.id, [], () => survey.evidence);
    surveyed.push(survey);
    progress?.({ gateways: surveyed.length, records: 0 });
  }
  let written = 0;
  for (const batch of fleetLog(surveyed, options)) {
    await store.appendMany(batch);
    written += batch.length;
    progress?.({ gateways: surveyed.length, records: written });
  }
  return written;
}

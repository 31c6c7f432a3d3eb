import {
  EVIDENCE_DEATH_MEMORY,
  EVIDENCE_SESSION_MEMORY,
  EVIDENCE_WINDOW_SLICES,
  LENIENCY_CONFIRMATIONS,
  type LearningConfig,
  LIFETIME_MAX_IDLE_FRACTION,
  OUTAGE_REPEAT_FRACTION,
  OUTAGE_WINDOW_MS,
} from './learning-config.ts';
import { detectLifetimeCap } from './lifetime-cap.ts';
import type { LineRole, StatusRecord } from './status-record.ts';

/** What the evidence says about the middlebox in front of one gateway (or one site). */
export interface Bounds {
  /** L: longest idle gap after which an exchange still succeeded (not contradicted since), ms. */
  lowerMs: number | null;
  /** U: shortest idle gap after which a line died of idleness (not contradicted since), ms. */
  upperMs: number | null;
  /** Detected connection lifetime cap (conservative estimate), ms. */
  lifetimeCapMs: number | null;
  /** The line role of the record that set L. */
  lowerFrom: LineRole | null;
}

/** The longest (good) or shortest (failed) idle gap seen in one slice of the window, and when. */
export interface GapMark {
  slice: number;
  gapMs: number;
  at: number;
  role: LineRole;
  /** For a settled death: the line's age then, so a lifetime cap found later still explains it, ms. */
  ageMs?: number;
}

/**
 * A detected lifetime cap, kept as state: its deaths leave the bounded death list, the cap does
 * not. Only a line succeeding well past the age the deaths showed refutes it (or the window).
 */
export interface CapState {
  /** The cap (conservative estimate), ms. */
  ms: number;
  /** The newest death supporting it: the cap leaves the window with it. */
  at: number;
  /** Youngest age at death of the deaths that showed it; absent in evidence stored before, ms. */
  youngestDeathAgeMs?: number;
  /** Oldest connection age of a success since it was detected; absent means none, ms. */
  okAgeMs?: number;
}

/** What a recorded death of a line turned out to say. */
export type DeathVerdict =
  /** Died of idleness: bounds the idle timeout from above (U). */
  | 'idle'
  /** Lines of the gateway died at one moment after different gaps: the path went down (a proxy restart). */
  | 'outage'
  /** The cloud itself answered too late (event-loop lag, queueing): nothing about the network. */
  | 'cloud-late'
  /** Explained by a connection lifetime cap (the gateway's own or its site's). */
  | 'lifetime-cap'
  /** The power policy kept alive less often than advised. */
  | 'policy'
  /** After a gap under the evidence floor: a reset under traffic, not an idle timeout. */
  | 'too-short'
  /** Retired by LENIENCY_CONFIRMATIONS later successes past it: the middlebox got more lenient. */
  | 'outdated';

/** One recorded death of a line, kept so that later evidence can still explain it otherwise. */
export interface Death {
  /** When the loss was observed (close, reset, or the unanswered keep-alive or probe left), ms since epoch. */
  at: number;
  gapMs: number;
  ageMs: number;
  line: string;
  role: LineRole;
  verdict: DeathVerdict;
  /** Successes this death made stale; they come back if the death is explained otherwise. */
  wiped?: { good: GapMark[]; aboveU: GapMark[] };
  /** Oldest connection age of a success after this death (capped where it no longer matters), ms. */
  okAgeAfterMs: number;
  /**
   * Found by a probe the cloud sent: dated when the cloud chose to send it, so two such deaths
   * at one moment are two probes scheduled together, not lines cut together.
   */
  probed?: true;
}

/**
 * Everything the cloud knows about one gateway's middlebox, kept incrementally: each exchange
 * is folded in once (O(1): bounded lists, never the log), and the result is persisted as one
 * small JSON document. The window (the seed's "recent log") is kept per slice of it: each slice
 * remembers its longest good gap, so a mark leaves the window with the record that made it.
 */
export interface Evidence {
  v: 1;
  /** Longest fresh success per slice, all below U. */
  good: GapMark[];
  /** Longest success per slice at or past U since the last failure (leniency candidates). */
  aboveU: GapMark[];
  /** Successes past U in a row with no failure between. */
  confirmations: number;
  /**
   * Idle failures that left the death list, per slice: those no other is shorter and younger
   * than (so a lifetime cap found later takes out exactly the ones at its age), at most
   * SETTLED_PER_SLICE per slice.
   */
  settled: GapMark[];
  /** Newest deaths, oldest first, at most EVIDENCE_DEATH_MEMORY. */
  deaths: Death[];
  /** Detected lifetime cap and the newest death supporting it. */
  lifetimeCap: CapState | null;
  /** Sessions whose death is recorded (one death per session, however often it is reported). */
  sessions: string[];
}

/** What a fold needs besides the record. */
export interface FoldContext {
  config: LearningConfig;
  /** A lifetime cap another gateway of the site has proven: it explains our deaths too. */
  siteCapMs?: number | null;
}

/** A record to fold: a status-log row, with the session it was taken on when known. */
export type EvidenceRecord = Omit<StatusRecord, 'id'>;

/** Evidence that knows nothing yet. */
export function emptyEvidence(): Evidence {
  return {
    v: 1,
    good: [],
    aboveU: [],
    confirmations: 0,
    settled: [],
    deaths: [],
    lifetimeCap: null,
    sessions: [],
  };
}

/**
 * Folds records, in order, into a gateway's evidence. Returns the same object when none of them
 * changed anything (most keep-alives: a gap no longer than L), so a store writes only real changes.
 */
export function foldRecords(
  evidence: Evidence | null,
  records: readonly EvidenceRecord[],
  ctx: FoldContext,
): Evidence {
  let current = evidence ?? emptyEvidence();
  for (const record of records) current = foldRecord(current, record, ctx);
  return current;
}

/** Folds one record into the evidence; the input is never mutated. */
export function foldRecord(evidence: Evidence, record: EvidenceRecord, ctx: FoldContext): Evidence {
  if (!informative(evidence, record, ctx)) return evidence;
  const draft = new Draft(structuredClone(evidence), ctx.config, record.time);
  draft.expire();
  if (record.status === 'OK') draft.success(record);
  else draft.failure(record);
  draft.explainBySiteCap(ctx.siteCapMs ?? null);
  draft.normalize();
  return draft.ev;
}

/**
 * The bounds last computed from each evidence and how long they hold: they change with time only
 * when a mark leaves the window, so the next keep-alives of the gateway and of its site's peers
 * (which read it at each of theirs) reuse them until then. Evidence is never mutated (a fold
 * makes a new one), so the object itself is the key.
 */
const boundsMemo = new WeakMap<
  Evidence,
  { config: LearningConfig; since: number; until: number; bounds: Bounds }
>();

/** The bounds of a gateway that knows nothing, one object for all (bounds are never mutated). */
const NO_BOUNDS: Bounds = Object.freeze({
  lowerMs: null,
  upperMs: null,
  lifetimeCapMs: null,
  lowerFrom: null,
});

/** L, U and the cap as of now (evidence older than the window no longer counts). */
export function boundsOf(evidence: Evidence | null, now: number, config: LearningConfig): Bounds {
  if (evidence === null) return NO_BOUNDS;
  const memo = boundsMemo.get(evidence);
  if (memo && memo.config === config && now >= memo.since && now <= memo.until) return memo.bounds;
  const from = now - config.windowMs;
  const upperMs = freshUpper(evidence, from, config);
  const lower = longestFresh(
    evidence.aboveU,
    from,
    upperMs,
    longestFresh(evidence.good, from, upperMs, null),
  );
  const cap = evidence.lifetimeCap;
  const bounds: Bounds = Object.freeze({
    lowerMs: lower?.gapMs ?? null,
    upperMs,
    lifetimeCapMs: cap !== null && cap.at >= from ? cap.ms : null,
    lowerFrom: lower?.role ?? null,
  });
  boundsMemo.set(evidence, {
    config,
    since: now,
    until: oldestFresh(evidence, from) + config.windowMs,
    bounds,
  });
  return bounds;
}

/** When the oldest mark still in the window was made (+∞ when none is): until it leaves, the bounds hold. */
function oldestFresh(evidence: Evidence, from: number): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const marks of [evidence.good, evidence.aboveU, evidence.settled, evidence.deaths])
    for (const mark of marks) if (mark.at >= from && mark.at < oldest) oldest = mark.at;
  const cap = evidence.lifetimeCap;
  if (cap !== null && cap.at >= from && cap.at < oldest) oldest = cap.at;
  return oldest;
}

/** The deaths still in the window that count as idle failures, newest last. */
export function idleDeaths(evidence: Evidence, now: number, config: LearningConfig): Death[] {
  return evidence.deaths.filter((d) => d.verdict === 'idle' && d.at >= now - config.windowMs);
}

/** Batch form of the fold, for tests and tools: the bounds a log leads to. */
export function deriveBounds(
  records: readonly EvidenceRecord[],
  now: number,
  config: LearningConfig,
  siteCapMs: number | null = null,
): Bounds {
  return boundsOf(foldRecords(null, records, { config, siteCapMs }), now, config);
}

/** The longest mark since `from` and below `upperMs` among `marks` and `best` (the first such when equal). */
function longestFresh(
  marks: readonly GapMark[],
  from: number,
  upperMs: number | null,
  best: GapMark | null,
): GapMark | null {
  let lower = best;
  for (const mark of marks) {
    if (mark.at < from || (upperMs !== null && mark.gapMs >= upperMs)) continue;
    if (lower === null || mark.gapMs > lower.gapMs) lower = mark;
  }
  return lower;
}

/**
 * U: the shortest idle failure still in the window. A settled death at the age of the detected
 * lifetime cap is no idle failure: the cap explains it as it explains deaths still remembered
 * one by one, however long ago it left the death list.
 */
function freshUpper(evidence: Evidence, from: number, config: LearningConfig): number | null {
  let upper: number | null = null;
  const capMs = evidence.lifetimeCap?.ms ?? null;
  for (const mark of evidence.settled) {
    if (mark.at < from || (upper !== null && mark.gapMs >= upper)) continue;
    if (capMs !== null && mark.ageMs !== undefined && capExplainsAge(mark.ageMs, capMs, config)) continue;
    upper = mark.gapMs;
  }
  for (const d of evidence.deaths) {
    if (d.verdict === 'idle' && d.at >= from && (upper === null || d.gapMs < upper)) upper = d.gapMs;
  }
  return upper;
}

/** The longest success a death made stale, or −∞. */
function longestWiped(death: Death): number {
  let longest = Number.NEGATIVE_INFINITY;
  for (const mark of [...(death.wiped?.good ?? []), ...(death.wiped?.aboveU ?? [])])
    longest = Math.max(longest, mark.gapMs);
  return longest;
}

function longestGood(evidence: Evidence): number {
  let longest = Number.NEGATIVE_INFINITY;
  for (const mark of evidence.good) longest = Math.max(longest, mark.gapMs);
  for (const mark of evidence.aboveU) longest = Math.max(longest, mark.gapMs);
  return longest;
}

/**
 * Whether a record can change the evidence. A success no longer than L, below U, that no
 * remembered death could be refuted by, changes nothing: the common keep-alive costs no write.
 */
function informative(evidence: Evidence, record: EvidenceRecord, ctx: FoldContext): boolean {
  if (record.status === 'NG') return true;
  const { config } = ctx;
  const from = record.time - config.windowMs;
  const upper = freshUpper(evidence, from, config);
  if (upper !== null && record.idleBeforeMs >= upper) return true;
  if (record.idleBeforeMs >= config.evidenceFloorMs) {
    const slice = sliceOf(record.time, config);
    const mark = evidence.good.find((m) => m.slice === slice);
    if (!mark || mark.at < from || record.idleBeforeMs > mark.gapMs) return true;
  }
  // A success at an older age than a remembered death, or than the cap, may refute a lifetime cap.
  const cap = evidence.lifetimeCap;
  if (cap !== null && record.time >= cap.at && capOkAge(cap, record, config) > (cap.okAgeMs ?? 0))
    return true;
  return evidence.deaths.some(
    (d) => d.at < record.time && Math.min(record.connectionAgeMs, okAgeCeiling(d, config)) > d.okAgeAfterMs,
  );
}

/** Past this age a success refutes any cap this death could support; older ages need no tracking. */
function okAgeCeiling(death: Death, config: LearningConfig): number {
  return death.ageMs * (1 + config.lifetimeAgeToleranceFraction);
}

/** Settled failures kept per slice of the window (older ages merge into a conservative mark). */
const SETTLED_PER_SLICE = 4;

/** A settled mark's age for the cap: unknown (stored before ages were) counts as young, never explained. */
const settledAge = (mark: GapMark): number => mark.ageMs ?? 0;

/**
 * Adds a settled failure, keeping per slice the marks no other is both shorter and younger than:
 * for any cap, the shortest failure younger than it is kept. Over SETTLED_PER_SLICE, the two
 * oldest merge into one with the shorter gap and the younger age (a cap explains it less
 * often, never more: safety first).
 */
function settle(settled: readonly GapMark[], mark: GapMark): GapMark[] {
  const dominates = (a: GapMark, b: GapMark) =>
    a.slice === b.slice && a.gapMs <= b.gapMs && settledAge(a) <= settledAge(b);
  if (settled.some((m) => dominates(m, mark))) return [...settled];
  const out = settled.filter((m) => !dominates(mark, m));
  out.push(mark);
  const slice = out.filter((m) => m.slice === mark.slice).sort((a, b) => settledAge(b) - settledAge(a));
  if (slice.length <= SETTLED_PER_SLICE) return out;
  const [a, b] = slice as [GapMark, GapMark];
  const merged: GapMark = {
    ...(a.gapMs <= b.gapMs ? a : b),
    at: Math.max(a.at, b.at),
    ageMs: Math.min(settledAge(a), settledAge(b)),
  };
  return [...out.filter((m) => m !== a && m !== b), merged];
}

/** Whether a lifetime cap explains a death at this age, whatever its idle gap. */
function capExplainsAge(ageMs: number, capMs: number, config: LearningConfig): boolean {
  return ageMs >= capMs * (1 - config.lifetimeAgeToleranceFraction);
}

/** Past this age a success refutes the cap; older ages need no tracking (no write per keep-alive). */
function capRefutingAge(cap: CapState, config: LearningConfig): number {
  return (cap.youngestDeathAgeMs ?? cap.ms) * (1 + config.lifetimeAgeToleranceFraction);
}

/** The age a success counts with towards refuting the cap. */
function capOkAge(cap: CapState, record: EvidenceRecord, config: LearningConfig): number {
  return Math.min(record.connectionAgeMs, capRefutingAge(cap, config));
}

/** Whether a line succeeded, since the cap was found, well past the ages its deaths showed. */
function capRefuted(cap: CapState, config: LearningConfig): boolean {
  return (cap.okAgeMs ?? 0) >= capRefutingAge(cap, config);
}

function sliceOf(time: number, config: LearningConfig): number {
  return Math.floor(time / (config.windowMs / EVIDENCE_WINDOW_SLICES));
}

/** Keeps the longer (or shorter) of two gaps per slice. */
function mergeMarks(into: GapMark[], marks: readonly GapMark[], keep: 'longest' | 'shortest'): GapMark[] {
  const out = [...into];
  for (const mark of marks) {
    const i = out.findIndex((m) => m.slice === mark.slice);
    if (i < 0) out.push(mark);
    else if (
      keep === 'longest' ? mark.gapMs > (out[i] as GapMark).gapMs : mark.gapMs < (out[i] as GapMark).gapMs
    )
      out[i] = mark;
  }
  return out;
}

/** A mutable copy of the evidence while one record is folded in. */
class Draft {
  readonly ev: Evidence;
  private readonly config: LearningConfig;
  private readonly now: number;

  constructor(ev: Evidence, config: LearningConfig, now: number) {
    this.ev = ev;
    this.config = config;
    this.now = now;
  }

  /** Drops what left the window. */
  expire(): void {
    const from = this.now - this.config.windowMs;
    const ev = this.ev;
    ev.good = ev.good.filter((m) => m.at >= from);
    ev.aboveU = ev.aboveU.filter((m) => m.at >= from);
    ev.settled = ev.settled.filter((m) => m.at >= from);
    ev.deaths = ev.deaths.filter((d) => d.at >= from);
    if (ev.lifetimeCap !== null && ev.lifetimeCap.at < from) ev.lifetimeCap = null;
  }

  success(record: EvidenceRecord): void {
    const ev = this.ev;
    for (const d of ev.deaths) {
      if (d.at < record.time)
        d.okAgeAfterMs = Math.max(
          d.okAgeAfterMs,
          Math.min(record.connectionAgeMs, okAgeCeiling(d, this.config)),
        );
    }
    const cap = ev.lifetimeCap;
    if (cap !== null && record.time >= cap.at)
      cap.okAgeMs = Math.max(cap.okAgeMs ?? 0, capOkAge(cap, record, this.config));
    // A gap under the floor (a push a millisecond after a reconnect) says nothing about idleness.
    if (record.idleBeforeMs >= this.config.evidenceFloorMs) {
      const mark = this.mark(record);
      const upper = freshUpper(ev, this.now - this.config.windowMs, this.config);
      if (upper === null || record.idleBeforeMs < upper) {
        ev.good = mergeMarks(ev.good, [mark], 'longest');
      } else {
        ev.aboveU = mergeMarks(ev.aboveU, [mark], 'longest');
        if (++ev.confirmations >= LENIENCY_CONFIRMATIONS) this.lenient();
      }
    }
    this.detectCap();
  }

  failure(record: EvidenceRecord): void {
    const ev = this.ev;
    const session = record.sessionId;
    if (session !== undefined) {
      if (ev.sessions.includes(session)) return;
      ev.sessions.push(session);
      if (ev.sessions.length > EVIDENCE_SESSION_MEMORY) ev.sessions.shift();
    }
    const death: Death = {
      at: record.time,
      gapMs: record.idleBeforeMs,
      ageMs: record.connectionAgeMs,
      line: record.connectionId,
      role: record.role,
      verdict: 'idle',
      okAgeAfterMs: 0,
      ...(record.dataType === 'probe' ? { probed: true as const } : {}),
    };
    death.verdict = this.firstVerdict(record);
    if (death.verdict === 'too-short') {
      // Too little idle for any middlebox: this line died of something else (a restart, a link
      // going down), and lines of the gateway that died at that moment died of it too.
      const partners = this.ev.deaths.filter((d) => d.verdict === 'idle' && this.diedWith(d, death));
      if (partners.length > 0) this.retract(partners, 'outage');
    } else if (death.verdict === 'idle') {
      const short = this.ev.deaths.some((d) => d.verdict === 'too-short' && this.diedWith(d, death));
      const partners = short ? [] : this.outagePartners(death);
      if (short || partners.length > 0) {
        death.verdict = 'outage';
        this.retract(partners, 'outage');
      }
    }
    if (death.verdict === 'idle') this.applyIdleFailure(death);
    ev.deaths.push(death);
    while (ev.deaths.length > EVIDENCE_DEATH_MEMORY) {
      const old = ev.deaths.shift() as Death;
      if (old.verdict === 'idle') ev.settled = settle(ev.settled, this.deathMark(old));
    }
    this.detectCap();
  }

  /** Deaths with a verdict a site's proven cap gives them. */
  explainBySiteCap(siteCapMs: number | null): void {
    if (siteCapMs === null || this.ev.lifetimeCap !== null) return;
    const explained = this.ev.deaths.filter((d) => d.verdict === 'idle' && this.capExplains(d, siteCapMs));
    this.retract(explained, 'lifetime-cap');
  }

  /** Keeps L < U: goods at or past U wait as leniency candidates, the rest are good. */
  normalize(): void {
    const ev = this.ev;
    const upper = freshUpper(ev, this.now - this.config.windowMs, this.config);
    const all = [...ev.good, ...ev.aboveU];
    ev.good = [];
    ev.aboveU = [];
    for (const mark of all) {
      if (upper === null || mark.gapMs < upper) ev.good = mergeMarks(ev.good, [mark], 'longest');
      else ev.aboveU = mergeMarks(ev.aboveU, [mark], 'longest');
    }
  }

  private firstVerdict(record: EvidenceRecord): DeathVerdict {
    if (record.failure === 'cloud-late') return 'cloud-late';
    if (record.policyLimited) return 'policy';
    if (record.idleBeforeMs < this.config.evidenceFloorMs) return 'too-short';
    const cap = this.ev.lifetimeCap?.ms ?? null;
    if (cap !== null && capExplainsAge(record.connectionAgeMs, cap, this.config)) return 'lifetime-cap';
    return 'idle';
  }

  /** Whether two deaths are of other lines of the gateway at the same moment (never two of the cloud's own probes). */
  private diedWith(d: Death, death: Death): boolean {
    return (
      d.line !== death.line && !(d.probed && death.probed) && Math.abs(d.at - death.at) <= OUTAGE_WINDOW_MS
    );
  }

  /**
   * Other lines of the gateway that died at the same moment as this one, when that says the
   * path went down (a proxy restart, a link going down) rather than a timeout:
   * - after clearly different idle gaps: a middlebox timing out idle lines kills each at its
   *   own gap, so lines it kills together sat about the same gap (within its timer's tick);
   * - or in phase (about the same gap) but every one shorter than a gap lines had just
   *   survived (L): a proxy restart catches lines that keep alive together at whatever gap
   *   they sat. A middlebox that got stricter kills them at that gap again, though — so when
   *   an earlier death was at about the same gap, the repeat is believed as a timeout.
   */
  private outagePartners(death: Death): Death[] {
    const together = this.ev.deaths.filter(
      (d) =>
        d.line !== death.line &&
        !(d.probed && death.probed) &&
        Math.abs(d.at - death.at) <= OUTAGE_WINDOW_MS &&
        (d.verdict === 'idle' || d.verdict === 'outage' || d.verdict === 'lifetime-cap'),
    );
    const apart = together.filter((d) => Math.abs(d.gapMs - death.gapMs) > OUTAGE_WINDOW_MS);
    if (apart.length > 0) return apart;
    if (together.length === 0) return [];
    let provenMs = longestGood(this.ev);
    for (const d of together) provenMs = Math.max(provenMs, longestWiped(d));
    if ([death, ...together].some((d) => d.gapMs >= provenMs)) return [];
    const repeated = this.ev.deaths.some(
      (d) =>
        d.at < death.at - OUTAGE_WINDOW_MS &&
        (d.verdict === 'idle' || d.verdict === 'outage') &&
        Math.abs(d.gapMs - death.gapMs) <= Math.max(OUTAGE_WINDOW_MS, death.gapMs * OUTAGE_REPEAT_FRACTION),
    );
    return repeated ? [] : together;
  }

  /**
   * A failure at gap g: successes at gaps ≥ g from before it are stale (the middlebox got
   * stricter; safety first, so every older success goes, not only the longer ones: one just
   * below g from before a tightening is no safer), and the leniency streak ends.
   */
  private applyIdleFailure(death: Death): void {
    const ev = this.ev;
    if (death.gapMs <= longestGood(ev)) {
      death.wiped = { good: ev.good, aboveU: ev.aboveU };
      ev.good = [];
      ev.aboveU = [];
    }
    ev.confirmations = 0;
  }

  /** LENIENCY_CONFIRMATIONS successes past U in a row: every older failure is stale. */
  private lenient(): void {
    const ev = this.ev;
    for (const d of ev.deaths) if (d.verdict === 'idle') d.verdict = 'outdated';
    ev.settled = [];
    ev.good = mergeMarks(ev.good, ev.aboveU, 'longest');
    ev.aboveU = [];
    ev.confirmations = 0;
  }

  /**
   * Explains deaths otherwise after the fact: they stop bounding U, and the successes they
   * made stale come back, unless a newer idle failure contradicts them too.
   */
  private retract(deaths: readonly Death[], verdict: DeathVerdict): void {
    const ev = this.ev;
    let restoredGood: GapMark[] = [];
    let restoredAbove: GapMark[] = [];
    let oldest = Number.POSITIVE_INFINITY;
    for (const d of deaths) {
      const wasIdle = d.verdict === 'idle';
      d.verdict = verdict;
      if (!wasIdle || !d.wiped) continue;
      restoredGood = mergeMarks(restoredGood, d.wiped.good, 'longest');
      restoredAbove = mergeMarks(restoredAbove, d.wiped.aboveU, 'longest');
      oldest = Math.min(oldest, d.at);
      delete d.wiped;
    }
    if (oldest === Number.POSITIVE_INFINITY) return;
    const stillStale = (mark: GapMark) =>
      ev.deaths.some((d) => d.verdict === 'idle' && d.at > mark.at && d.gapMs <= mark.gapMs);
    ev.good = mergeMarks(
      ev.good,
      restoredGood.filter((m) => !stillStale(m)),
      'longest',
    );
    ev.aboveU = mergeMarks(
      ev.aboveU,
      restoredAbove.filter((m) => !stillStale(m)),
      'longest',
    );
  }

  private detectCap(): void {
    const ev = this.ev;
    const maxIdle = this.config.lifetimeMaxIdleFraction ?? LIFETIME_MAX_IDLE_FRACTION;
    // Idleness cannot explain a death no longer than a gap that succeeded (stale ones included).
    let longest = longestGood(ev);
    for (const d of ev.deaths) longest = Math.max(longest, longestWiped(d));
    const candidates = ev.deaths.filter(
      (d) =>
        (d.verdict === 'idle' || d.verdict === 'lifetime-cap') &&
        d.ageMs > 0 &&
        d.gapMs <= longest &&
        d.gapMs <= d.ageMs * maxIdle,
    );
    const detected = detectLifetimeCap(candidates, this.config);
    const previous = ev.lifetimeCap;
    if (detected === null) {
      // Its deaths left the death list (or no longer pin an age): the cap stays until a line
      // outlives it, so the deaths it explained do not turn into idle failures for want of memory.
      if (previous === null || !capRefuted(previous, this.config)) return;
      ev.lifetimeCap = null;
      // The cap is refuted: what it explained counts as idleness again.
      for (const d of ev.deaths) if (d.verdict === 'lifetime-cap') d.verdict = 'idle';
      return;
    }
    ev.lifetimeCap = {
      ms: detected.capMs,
      at: detected.newestDeathAt,
      youngestDeathAgeMs: detected.youngestDeathAgeMs,
    };
    const explained = ev.deaths.filter((d) => d.verdict === 'idle' && this.capExplains(d, detected.capMs));
    this.retract(explained, 'lifetime-cap');
  }

  private capExplains(death: Death, capMs: number): boolean {
    return capExplainsAge(death.ageMs, capMs, this.config);
  }

  private mark(record: EvidenceRecord): GapMark {
    return {
      slice: sliceOf(record.time, this.config),
      gapMs: record.idleBeforeMs,
      at: record.time,
      role: record.role,
    };
  }

  private deathMark(death: Death): GapMark {
    return {
      slice: sliceOf(death.at, this.config),
      gapMs: death.gapMs,
      at: death.at,
      role: death.role,
      ageMs: death.ageMs,
    };
  }
}

import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { probeOverdueMs } from '../learning/probe-overdue.ts';
import type { ProbeAssignment, ProbeLineView } from '../learning/probe-planner.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';

/** Why a probe line is reopened: idle past the shortest failing gap, or past an overdue probe's gap. */
export type ReopenCause = 'failing-gap' | 'overdue-probe';

export interface ProbeRunnerOptions {
  clock: Clock;
  logger: Logger;
  ackTimeoutMs: number;
  /** A gateway's open probe lines. */
  linesOf: (gatewayId: string) => CloudLine[];
  /** What each of the given probe lines should do next; null: stop probing (converged, or not representative). */
  plan: (gatewayId: string, lines: readonly ProbeLineView[]) => Promise<ProbeAssignment[] | null>;
  /** Called with every probe outcome, to log it and update advice; the next plan waits for it. */
  onOutcome: (line: CloudLine, outcome: ExchangeOutcome) => Promise<void>;
  /**
   * A probe line to close and have the gateway open afresh: idle past the shortest failing gap,
   * or past the gap of a probe that is overdue.
   */
  onReopen: (line: CloudLine, cause: ReopenCause) => void;
  /**
   * Called when probing for a gateway is over (converged or no longer representative), with its
   * open probe lines that have no probe out (a line with one is handed over after its answer).
   */
  onDone: (gatewayId: string, idle: readonly CloudLine[]) => void;
}

/**
 * Tests candidate idle gaps on a representative's probe lines, several at once: each line sits
 * idle for the gap the planner gave it, then gets a probe. Every answer (and every new line)
 * re-plans all the gateway's lines, so pending probes move as the bounds narrow. Real pushes
 * never travel on probe lines, so a failed probe costs no push. A failed probe line is closed;
 * the caller asks the gateway to restore it.
 *
 * A probe unanswered well past the round trips its gateway's probe lines have shown is overdue
 * (probeOverdueMs): it will most likely fail, and then every line idle as long has failed with
 * it and would be reopened. They are reopened at once, so the narrowing that follows the failure
 * starts on fresh lines the answer wait sooner; nothing is recorded until the wait ends, and a
 * late answer costs only the idle time those lines had sat.
 */
export class ProbeRunner {
  private readonly timers = new Map<CloudLine, TimerHandle>();
  private readonly inFlight = new Set<CloudLine>();
  /** The slowest probe answer per gateway while it probes, ms: what an overdue probe is judged by. */
  private readonly slowestAnswerMs = new Map<string, number>();
  private readonly options: ProbeRunnerOptions;

  constructor(options: ProbeRunnerOptions) {
    this.options = options;
  }

  /** Starts testing on a freshly accepted probe line (and re-plans the gateway's others). */
  track(line: CloudLine): void {
    this.replan(line.gatewayId);
  }

  /** Stops testing on a line (closed or replaced). */
  untrack(line: CloudLine): void {
    this.clear(line);
    this.inFlight.delete(line);
  }

  stopAll(): void {
    for (const line of [...this.timers.keys()]) this.untrack(line);
  }

  private clear(line: CloudLine): void {
    this.options.clock.clearTimeout(this.timers.get(line));
    this.timers.delete(line);
  }

  /** Plans every idle probe line of a gateway afresh. */
  private replan(gatewayId: string): void {
    const { clock } = this.options;
    const lines = this.options.linesOf(gatewayId).filter((l) => l.isOpen && !this.inFlight.has(l));
    const views = lines.map((l) => ({ id: l.connectionId, idleMs: l.idleMs() }));
    this.options.plan(gatewayId, views).then(
      (plan) => {
        if (plan === null) {
          this.slowestAnswerMs.delete(gatewayId);
          for (const line of lines) this.clear(line);
          if (lines.length > 0) this.options.onDone(gatewayId, lines);
          return;
        }
        for (const step of plan) {
          const line = lines.find((l) => l.connectionId === step.id);
          if (!line?.isOpen || this.inFlight.has(line)) continue;
          this.clear(line);
          if ('reopen' in step) {
            this.options.onReopen(line, 'failing-gap');
            continue;
          }
          const delay = Math.max(0, line.lastPacketAt + step.gapMs - clock.now());
          this.timers.set(
            line,
            clock.setTimeout(() => void this.fire(line, step.gapMs), delay),
          );
        }
      },
      (err: Error) =>
        this.options.logger.error({ gateway: gatewayId, err: err.message }, 'cannot plan a probe'),
    );
  }

  /** The probe on `probed` is overdue: its gateway's lines idle at least its gap are reopened now. */
  private overdue(probed: CloudLine, gap: number): void {
    const idle = this.options
      .linesOf(probed.gatewayId)
      .filter((l) => l !== probed && l.isOpen && !this.inFlight.has(l) && l.idleMs() >= gap);
    if (idle.length === 0) return;
    this.options.logger.info(
      { gateway: probed.gatewayId, gapMs: gap, lines: idle.map((l) => l.connectionId) },
      'probe overdue: reopening the lines idle as long',
    );
    for (const line of idle) {
      this.clear(line);
      this.options.onReopen(line, 'overdue-probe');
    }
  }

  private async fire(line: CloudLine, gap: number): Promise<void> {
    this.timers.delete(line);
    if (!line.isOpen) return;
    if (line.idleMs() < gap) {
      this.replan(line.gatewayId);
      return;
    }
    const probeId = randomUUID();
    this.options.logger.info(
      { gateway: line.gatewayId, line: line.connectionId, gapMs: gap, idleMs: line.idleMs() },
      'probing idle gap',
    );
    this.inFlight.add(line);
    const { clock, ackTimeoutMs } = this.options;
    const sentAt = clock.now();
    const overdueMs = probeOverdueMs(this.slowestAnswerMs.get(line.gatewayId) ?? null, ackTimeoutMs);
    let answered = false;
    // Judged, like the answer wait, after the event loop's next read of the sockets: an answer
    // that arrived while the loop was busy is no overdue probe.
    const overdue =
      overdueMs === null
        ? undefined
        : clock.setTimeout(() => setImmediate(() => answered || this.overdue(line, gap)), overdueMs);
    const outcome = await line.exchange(
      `probe:${probeId}`,
      { type: 'probe', probeId, gapMs: gap },
      ackTimeoutMs,
    );
    answered = true;
    clock.clearTimeout(overdue);
    if (outcome.ok) {
      const answerMs = clock.now() - sentAt;
      this.slowestAnswerMs.set(
        line.gatewayId,
        Math.max(answerMs, this.slowestAnswerMs.get(line.gatewayId) ?? 0),
      );
    } else line.terminate(`probe of ${gap} ms idle failed (${outcome.failure})`);
    try {
      await this.options.onOutcome(line, outcome);
    } finally {
      this.inFlight.delete(line);
      this.replan(line.gatewayId);
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { ProbeAssignment, ProbeLineView } from '../learning/probe-planner.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';

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
  /** A probe line idle past the shortest failing gap: closed, the gateway should open it afresh. */
  onReopen: (line: CloudLine) => void;
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
 */
export class ProbeRunner {
  private readonly timers = new Map<CloudLine, TimerHandle>();
  private readonly inFlight = new Set<CloudLine>();
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
          for (const line of lines) this.clear(line);
          if (lines.length > 0) this.options.onDone(gatewayId, lines);
          return;
        }
        for (const step of plan) {
          const line = lines.find((l) => l.connectionId === step.id);
          if (!line?.isOpen || this.inFlight.has(line)) continue;
          this.clear(line);
          if ('reopen' in step) {
            this.options.onReopen(line);
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
    const outcome = await line.exchange(
      `probe:${probeId}`,
      { type: 'probe', probeId, gapMs: gap },
      this.options.ackTimeoutMs,
    );
    if (!outcome.ok) line.terminate(`probe of ${gap} ms idle failed (${outcome.failure})`);
    try {
      await this.options.onOutcome(line, outcome);
    } finally {
      this.inFlight.delete(line);
      this.replan(line.gatewayId);
    }
  }
}

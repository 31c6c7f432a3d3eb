import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';

export interface ProbeRunnerOptions {
  clock: Clock;
  logger: Logger;
  ackTimeoutMs: number;
  /** The candidate gap to test next on this gateway's probe line; null: stop probing. */
  planGap: (gatewayId: string) => Promise<number | null>;
  /** Called with every probe outcome, to log it and update advice. */
  onOutcome: (line: CloudLine, outcome: ExchangeOutcome) => void;
  /** Called when probing for a gateway is over (converged or no longer representative). */
  onDone: (line: CloudLine) => void;
}

/**
 * Tests candidate idle gaps on a representative's probe line: lets the line sit idle for
 * the gap, then sends a probe. Real pushes never travel on it, so a failed probe costs no
 * push. A failed probe line is closed; the caller asks the gateway to restore it.
 */
export class ProbeRunner {
  private readonly timers = new Map<CloudLine, TimerHandle>();
  private readonly options: ProbeRunnerOptions;

  constructor(options: ProbeRunnerOptions) {
    this.options = options;
  }

  /** Starts testing on a freshly accepted probe line. */
  track(line: CloudLine): void {
    this.schedule(line);
  }

  /** Stops testing on a line (closed or replaced). */
  untrack(line: CloudLine): void {
    this.options.clock.clearTimeout(this.timers.get(line));
    this.timers.delete(line);
  }

  stopAll(): void {
    for (const line of [...this.timers.keys()]) this.untrack(line);
  }

  private schedule(line: CloudLine): void {
    this.untrack(line);
    if (!line.isOpen) return;
    this.options.planGap(line.gatewayId).then(
      (gap) => this.scheduleAt(line, gap),
      (err: Error) =>
        this.options.logger.error({ gateway: line.gatewayId, err: err.message }, 'cannot plan a probe'),
    );
  }

  private scheduleAt(line: CloudLine, gap: number | null): void {
    if (!line.isOpen || this.timers.has(line)) return;
    if (gap === null) {
      this.options.onDone(line);
      return;
    }
    const delay = Math.max(0, line.lastPacketAt + gap - this.options.clock.now());
    this.timers.set(
      line,
      this.options.clock.setTimeout(() => void this.fire(line, gap), delay),
    );
  }

  private async fire(line: CloudLine, gap: number): Promise<void> {
    this.timers.delete(line);
    if (!line.isOpen) return;
    if (line.idleMs() < gap) {
      this.schedule(line);
      return;
    }
    const probeId = randomUUID();
    this.options.logger.info(
      { gateway: line.gatewayId, gapMs: gap, idleMs: line.idleMs() },
      'probing idle gap',
    );
    const outcome = await line.exchange(
      `probe:${probeId}`,
      { type: 'probe', probeId, gapMs: gap },
      this.options.ackTimeoutMs,
    );
    this.options.onOutcome(line, outcome);
    if (outcome.ok) this.schedule(line);
    else line.terminate(`probe of ${gap} ms idle failed (${outcome.failure})`);
  }
}

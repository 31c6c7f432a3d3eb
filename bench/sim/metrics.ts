import type { KeepaliveAdvice } from '../../src/cloud/learning/advice.ts';
import type { PushLineName } from './wire.ts';

/** One connection of one push line, from open to close: what crossed it. */
export interface LineLife {
  gatewayId: string;
  line: PushLineName;
  openedAt: number;
  closedAt: number | null;
  /** Real traffic: the connection itself and every message the cloud delivered. */
  traffic: number[];
  /** When keep-alives were sent. */
  keepalives: number[];
}

/** One change of what a gateway was told and what it does. */
export interface AdviceStep {
  time: number;
  advice: KeepaliveAdvice;
  /** The interval the gateway's lines use after the power policy. */
  intervalMs: number;
}

/** A line that was dead while believed alive. */
export interface DarkSpell {
  gatewayId: string;
  line: PushLineName;
  diedAt: number;
  endedAt: number;
}

/** Everything the simulated week observed, as raw events; reports are computed from it. */
export class SimMetrics {
  readonly lives: LineLife[] = [];
  readonly pushTimes: number[] = [];
  readonly lostPushTimes: number[] = [];
  readonly failedPushAttemptTimes: number[] = [];
  readonly probeTimes: number[] = [];
  readonly darkSpells: DarkSpell[] = [];
  /** Lines replaced before the lifetime cap (make-before-break). */
  readonly replacementTimes: number[] = [];
  /** Lines the gateway found dead by an unanswered keep-alive. */
  readonly keepaliveDeathTimes: number[] = [];
  /** Lines reopened because the cloud said over a live line that they died. */
  readonly restoreTimes: number[] = [];
  readonly adviceSteps = new Map<string, AdviceStep[]>();
  readonly convergedAt = new Map<string, number>();

  /** Starts the record of a new connection. */
  openLife(gatewayId: string, line: PushLineName, now: number): LineLife {
    const life: LineLife = { gatewayId, line, openedAt: now, closedAt: null, traffic: [now], keepalives: [] };
    this.lives.push(life);
    return life;
  }

  /** Remembers advice a gateway took, when it differs from the previous step. */
  noteAdvice(gatewayId: string, now: number, advice: KeepaliveAdvice, intervalMs: number): void {
    let steps = this.adviceSteps.get(gatewayId);
    if (!steps) {
      steps = [];
      this.adviceSteps.set(gatewayId, steps);
    }
    const last = steps.at(-1);
    const same =
      last !== undefined &&
      last.intervalMs === intervalMs &&
      last.advice.intervalMs === advice.intervalMs &&
      last.advice.source === advice.source &&
      last.advice.converged === advice.converged &&
      last.advice.reconnectBeforeAgeMs === advice.reconnectBeforeAgeMs;
    if (!same) steps.push({ time: now, advice, intervalMs });
    if (advice.converged && !this.convergedAt.has(gatewayId)) this.convergedAt.set(gatewayId, now);
  }
}

/** How many of the times fall in [from, to). */
export function countBetween(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of times) if (t >= from && t < to) n++;
  return n;
}

/**
 * Keep-alives a line would have sent in [from, to) with a fixed interval and the same real
 * traffic: one each time the line has been idle for intervalMs since the last traffic or
 * keep-alive. This is how the oracle (T × (1 − margin)) and the fixed 30 s / 60 s baselines
 * are counted on exactly our lines and pushes.
 */
export function keepalivesAtInterval(life: LineLife, intervalMs: number, from: number, to: number): number {
  const end = Math.min(life.closedAt ?? to, to);
  let count = 0;
  for (let i = 0; i < life.traffic.length; i++) {
    const start = life.traffic[i] as number;
    const next = Math.min(life.traffic[i + 1] ?? end, end);
    if (next <= from || start >= end) continue;
    const first = Math.max(1, Math.ceil((from - start) / intervalMs));
    const last = Math.ceil((next - start) / intervalMs) - 1;
    if (last >= first) count += last - first + 1;
  }
  return count;
}

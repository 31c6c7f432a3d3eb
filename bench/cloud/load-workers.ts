/** The bench's side of its load workers: forks them, drives them, gathers what they measured. */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { reapOnExit } from '../../test/support/reap-on-exit.ts';
import { emptyFleetStats, type FleetStats } from './sim-gateway.ts';
import type { FromWorker, Target, ToWorker, WorkerSetup } from './worker-protocol.ts';

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** Adds up the counters and joins the samples of several workers' fleets. */
export function mergeFleetStats(parts: readonly FleetStats[]): FleetStats {
  const merged = emptyFleetStats();
  for (const part of parts) {
    for (const key of Object.keys(merged) as (keyof FleetStats)[]) {
      const value = part[key];
      if (Array.isArray(value)) (merged[key] as number[]).push(...value);
      else (merged[key] as number) += value;
    }
  }
  return merged;
}

/** What all workers report at one moment. */
export interface FleetReport {
  stats: Record<Target, FleetStats>;
  /** The keep-alive interval each open line uses, ms: how many lines are open, at what advice. */
  intervalsMs: Record<Target, number[]>;
  /** The worst event-loop lag of any worker since the last reset, ms. */
  lagMaxMs: number;
}

export class LoadWorkers {
  private readonly children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.children = children;
  }

  /** Forks one worker per setup. */
  static start(setups: readonly WorkerSetup[]): LoadWorkers {
    const children = setups.map((setup) => {
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      reapOnExit(child);
      child.send({ type: 'setup', ...setup } satisfies ToWorker);
      return child;
    });
    return new LoadWorkers(children);
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid as number);
  }

  /**
   * Has every worker open its gateways' lines to `urls`; resolves true when all lines were
   * welcomed, false when `timeoutMs` ran out first (the lines keep trying).
   */
  async connect(target: Target, urls: string[], timeoutMs: number): Promise<boolean> {
    const done = this.children.map((child) => this.next(child, (m) => m.type === 'connected'));
    for (const child of this.children) child.send({ type: 'connect', target, urls } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([Promise.all(done).then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Starts a new measurement in every worker. */
  reset(): void {
    for (const child of this.children) child.send({ type: 'reset' } satisfies ToWorker);
  }

  async report(): Promise<FleetReport> {
    const replies = this.children.map((child) =>
      this.next(child, (m): m is Extract<FromWorker, { type: 'report' }> => m.type === 'report'),
    );
    for (const child of this.children) child.send({ type: 'report' } satisfies ToWorker);
    const reports = (await Promise.all(replies)) as Extract<FromWorker, { type: 'report' }>[];
    const targets: Target[] = ['cloud', 'ref'];
    return {
      stats: Object.fromEntries(
        targets.map((t) => [t, mergeFleetStats(reports.map((r) => r.stats[t]))]),
      ) as Record<Target, FleetStats>,
      intervalsMs: Object.fromEntries(
        targets.map((t) => [t, reports.flatMap((r) => r.intervalsMs[t])]),
      ) as Record<Target, number[]>,
      lagMaxMs: Math.max(0, ...reports.map((r) => r.lagMaxMs)),
    };
  }

  /** Closes every simulated line and ends the workers. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        if (child.connected) child.send({ type: 'stop' } satisfies ToWorker);
        else child.kill('SIGTERM');
        await exited;
      }),
    );
  }

  private next(child: ChildProcess, match: (m: FromWorker) => boolean): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (!match(message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new Error(`a load worker exited (${code}) before answering`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }
}

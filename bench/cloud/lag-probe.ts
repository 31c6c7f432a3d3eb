/**
 * Loaded into each cloud node by bench:cloud (node --import): every second, appends the
 * event loop's lag over that second (max, p99, mean, ms) as a JSON line to the file named by
 * MFPGW_BENCH_LAG_FILE, with what may explain a stall: the longest garbage-collection pause and
 * the GC's total in that second, the CPU time the process used and how often the kernel took
 * the CPU from it (involuntary context switches: other processes wanted the cores). It
 * measures the real process from inside without changing it. A stall shows up in the line
 * written after it.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { watchLoopLag } from './loop-lag.ts';

/** One second of the event loop's lag. */
export interface LagSample {
  at: number;
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  /** The longest GC pause that ended in this second, ms. */
  gcMaxMs?: number;
  /** Its kind: a scavenge of the young generation, a mark-compact of the whole heap, … */
  gcMaxKind?: string;
  /** All GC pauses that ended in this second, ms. */
  gcMs?: number;
  /** CPU time (user + system) the process used in this second, ms. */
  cpuMs?: number;
  /** Times the kernel preempted the process in this second. */
  involuntarySwitches?: number;
}

const file = process.env.MFPGW_BENCH_LAG_FILE;
if (file) {
  const lag = watchLoopLag();
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
  let gcMaxMs = 0;
  let gcMaxKind: string | undefined;
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration > gcMaxMs) {
        gcMaxMs = entry.duration;
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
        gcMaxKind = kind === undefined ? undefined : (kinds[kind] ?? String(kind));
      }
      gcMs += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  let cpu = process.cpuUsage();
  let switches = process.resourceUsage().involuntaryContextSwitches;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  setInterval(() => {
    const cpuNow = process.cpuUsage();
    const switchesNow = process.resourceUsage().involuntaryContextSwitches;
    const sample: LagSample = {
      at: Date.now(),
      maxMs: lag.maxMs(),
      p99Ms: lag.p99Ms(),
      meanMs: lag.meanMs(),
      gcMaxMs: round(gcMaxMs),
      gcMaxKind,
      gcMs: round(gcMs),
      cpuMs: round((cpuNow.user - cpu.user + cpuNow.system - cpu.system) / 1000),
      involuntarySwitches: switchesNow - switches,
    };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
    lag.reset();
    gcMaxMs = 0;
    gcMaxKind = undefined;
    gcMs = 0;
    cpu = cpuNow;
    switches = switchesNow;
  }, 1000).unref();
}

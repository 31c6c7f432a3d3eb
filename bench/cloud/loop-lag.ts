/** A process's event-loop lag, from Node's delay histogram, in ms beyond the sampling timer's own period. */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 10;

export interface LoopLag {
  maxMs(): number;
  p99Ms(): number;
  meanMs(): number;
  reset(): void;
}

/** Starts watching this process's event loop (a 10 ms timer's delays). */
export function watchLoopLag(): LoopLag {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  // The histogram holds each timer's whole wait, its period included: lag is what exceeds it.
  const lag = (ns: number) =>
    Number.isFinite(ns) ? Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS) : 0;
  return {
    maxMs: () => lag(delay.max),
    p99Ms: () => lag(delay.percentile(99)),
    meanMs: () => lag(delay.mean),
    reset: () => delay.reset(),
  };
}

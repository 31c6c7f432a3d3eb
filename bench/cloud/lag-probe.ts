/**
 * Loaded into each cloud node by bench:cloud (node --import): every second, appends the
 * event loop's delay over that second (max, p99, mean, ms) as a JSON line to the file named by
 * MFPGW_BENCH_LAG_FILE. The cloud has no metrics endpoint of its own; this measures the real
 * process from inside without changing it. A stall shows up in the line written after it.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One second of the event loop's delay. */
export interface LagSample {
  at: number;
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

const file = process.env.MFPGW_BENCH_LAG_FILE;
if (file) {
  const resolutionMs = 10;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  // The histogram holds each timer's whole wait, the resolution included: lag is what exceeds it.
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4) / 100 - resolutionMs);
  setInterval(() => {
    const sample: LagSample = {
      at: Date.now(),
      maxMs: ms(delay.max),
      p99Ms: ms(delay.percentile(99)),
      meanMs: ms(delay.mean),
    };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
    delay.reset();
  }, 1000).unref();
}

/**
 * Loaded into each cloud node by bench:cloud (node --import): every second, appends the
 * event loop's lag over that second (max, p99, mean, ms) as a JSON line to the file named by
 * MFPGW_BENCH_LAG_FILE. It measures the real process from inside without changing it. A stall
 * shows up in the line written after it.
 */
import { appendFileSync } from 'node:fs';
import { watchLoopLag } from './loop-lag.ts';

/** One second of the event loop's lag. */
export interface LagSample {
  at: number;
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

const file = process.env.MFPGW_BENCH_LAG_FILE;
if (file) {
  const lag = watchLoopLag();
  setInterval(() => {
    const sample: LagSample = {
      at: Date.now(),
      maxMs: lag.maxMs(),
      p99Ms: lag.p99Ms(),
      meanMs: lag.meanMs(),
    };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
    lag.reset();
  }, 1000).unref();
}

import { cpus } from 'node:os';

/** Cumulative CPU time of all cores, ms: how much of it was idle, and the total. */
export interface CpuTimes {
  idle: number;
  total: number;
}

/** All cores' cumulative times now (os.cpus(), i.e. /proc/stat on Linux). */
export function systemCpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/**
 * The CPU's usage rate (seed 001's "usage rate of the CPU 16a"): the busy share of all cores'
 * time between the oldest and newest of the last few samples. Fresh, unlike the 1-minute load
 * average, which still shows a burst a minute after it ended.
 */
export class CpuMeter {
  private readonly samples: CpuTimes[] = [];
  private readonly read: () => CpuTimes;
  private readonly keep: number;

  /** `keep` samples make the window (5 at one sample a second: the last 4 s). */
  constructor(read: () => CpuTimes = systemCpuTimes, keep = 5) {
    this.read = read;
    this.keep = Math.max(2, keep);
  }

  /** Takes a sample (the load meter calls this every second). */
  sample(): void {
    this.samples.push(this.read());
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** Busy share of the window, 0..1 (3 decimals); null until two samples exist. */
  usage(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last === first) return null;
    const total = last.total - first.total;
    if (total <= 0) return null;
    const busy = 1 - (last.idle - first.idle) / total;
    return Math.round(Math.min(1, Math.max(0, busy)) * 1000) / 1000;
  }
}

/**
 * What the kernel says a process (or the machine) has used, from Linux /proc: resident memory
 * and CPU time. The clock tick is 100 Hz on every Linux we run on (getconf CLK_TCK).
 */
import { existsSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/**
 * A process's resident set now and at its peak so far, MB; also its split into private
 * anonymous memory and pages of files (mostly the node binary, shared and reclaimable).
 */
export function memory(pid: number): { rssMB: number; peakMB: number; anonMB: number; fileMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return {
    rssMB: kB('VmRSS') / 1024,
    peakMB: kB('VmHWM') / 1024,
    anonMB: kB('RssAnon') / 1024,
    fileMB: kB('RssFile') / 1024,
  };
}

/**
 * Samples a process's RSS until the returned function is called; that returns the highest, MB.
 * A process that died stops being sampled: its own error reports it, not the sampler.
 */
export function watchRss(pid: number, everyMs = 100): () => number {
  let max = memory(pid).rssMB;
  const sample = () => {
    // An exited process not yet reaped has a status without VmRSS.
    const now = existsSync(`/proc/${pid}`) ? memory(pid).rssMB : Number.NaN;
    if (!Number.isNaN(now)) max = Math.max(max, now);
  };
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return max;
  };
}

/** CPU time a process has used, user and system, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU time the whole machine has spent busy (everything but idle and I/O wait), all cores, seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

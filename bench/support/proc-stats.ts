/**
 * What the kernel says a process (or the machine) has used, from Linux /proc: resident memory
 * and CPU time. The clock tick is 100 Hz on every Linux we run on (getconf CLK_TCK).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

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

/**
 * Samples a process's memory until the returned function is called; that returns the highest
 * resident set and the highest private (anonymous) part seen, MB (each at its own moment).
 */
export function watchMemory(pid: number, everyMs = 100): () => { rssMB: number; anonMB: number } {
  const max = { rssMB: 0, anonMB: 0 };
  const sample = () => {
    if (!existsSync(`/proc/${pid}`)) return;
    const now = memory(pid);
    // An exited process not yet reaped has a status without VmRSS.
    if (Number.isNaN(now.rssMB)) return;
    max.rssMB = Math.max(max.rssMB, now.rssMB);
    max.anonMB = Math.max(max.anonMB, now.anonMB);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return { ...max };
  };
}

/** The fields of /proc/PID/stat after the command name (state is [0]), or none when it is gone. */
function statFields(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  } catch {
    return [];
  }
}

/** CPU time a process has used, user and system, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU time of a process and all its descendants, living or ended, in seconds: a server that
 * forks a process per connection (PostgreSQL) counts whole. Ended children count once their
 * parent has reaped them (cutime, cstime).
 */
export function treeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = Number(statFields(pid)[1]);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  let ticks = 0;
  const visit = (pid: number) => {
    const fields = statFields(pid);
    ticks +=
      Number(fields[11] ?? 0) + Number(fields[12] ?? 0) + Number(fields[13] ?? 0) + Number(fields[14] ?? 0);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return ticks / TICKS_PER_SECOND;
}

/** The pid of the process whose command line holds all of these arguments, if one does. */
export function findProcess(...argv: string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.every((a) => args.includes(a))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU time the whole machine has spent busy (everything but idle and I/O wait), all cores, seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

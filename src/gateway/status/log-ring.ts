import pino from 'pino';
import type { Logger } from '../../log/logger.ts';

/** One log line as the page shows it. */
export interface LogEntry {
  seq: number;
  time: number;
  level: string;
  msg: string;
  /** The line's other fields (part, line, err…), already redacted by the logger. */
  fields: Record<string, unknown>;
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
/** Fields every line has, not worth repeating on the page. */
const DROP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'gateway']);
/** Longest log line kept; the rest of a huge line is cut. */
const MAX_LINE_CHARS = 4096;

/**
 * The daemon's most recent log lines, bounded in count, for the page's log view. Fed by
 * `teeLogger`; holds only what the logger already wrote (redacted, at its level).
 */
export class LogRing {
  private readonly entries: LogEntry[] = [];
  private readonly capacity: number;
  private seq = 0;
  private readonly listeners = new Set<() => void>();

  constructor(capacity = 500) {
    this.capacity = capacity;
  }

  /** Adds one serialized pino line (JSON). */
  add(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = { level: 30, time: Date.now(), msg: line };
    }
    let fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(parsed)) if (!DROP.has(k)) fields[k] = v;
    // A huge line (a dumped object) would crowd out the others: keep its message only.
    if (line.length > MAX_LINE_CHARS) fields = { truncated: `${line.length} characters` };
    this.entries.push({
      seq: ++this.seq,
      time: typeof parsed.time === 'number' ? parsed.time : Date.now(),
      level: LEVELS[parsed.level as number] ?? String(parsed.level),
      msg: typeof parsed.msg === 'string' ? parsed.msg.slice(0, MAX_LINE_CHARS) : '',
      fields,
    });
    if (this.entries.length > this.capacity) this.entries.shift();
    for (const l of this.listeners) l();
  }

  /** Lines with a sequence number above `afterSeq`, oldest first. */
  since(afterSeq = 0): LogEntry[] {
    return this.entries.filter((e) => e.seq > afterSeq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Calls listener after each new line; returns the means to stop. */
  onLine(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

interface WritableLike {
  write(chunk: string): unknown;
}

/**
 * Copies every line `logger` (and each of its children) writes into `ring`, and still
 * writes it to the logger's own destination (JSON to stdout for journald). pino has no
 * public way to add a destination to a built logger; its documented `pino.symbols` are
 * the integration point for this, and the copy is scoped to this logger's subtree
 * because a child looks its stream up through its parent.
 */
export function teeLogger(logger: Logger, ring: LogRing): void {
  const key = pino.symbols.streamSym as unknown as keyof Logger;
  const destination = logger[key] as unknown as WritableLike;
  const tee = new Proxy(destination as object, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return (chunk: string) => {
          ring.add(String(chunk));
          return (target as WritableLike).write(chunk);
        };
      }
      const value = Reflect.get(target, prop, receiver === tee ? target : receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  Object.defineProperty(logger, key, { value: tee, configurable: true, writable: true });
}

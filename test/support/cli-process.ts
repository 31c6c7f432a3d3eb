import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { reapOnExit } from './reap-on-exit.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** One JSON log line of a child process. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A real `mfp-gateway` process started by a test, with its log lines parsed. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly stderr: () => string;
  /** Resolves with the first line (past or future) matching, or rejects after timeoutMs. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  /** Resolves with the exit code once the process has ended. */
  exited(): Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How to start the CLI: Node's own options, another entry (the built dist/mfp-gateway.js), its stdin. */
export interface CliLaunch {
  nodeArgs?: string[];
  entry?: string;
  /** Written to the command's stdin, which then ends (default: no stdin). */
  input?: string;
}

/** Starts `node src/cli/main.ts ARGS` (Node 24 runs the TypeScript directly). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, launch: CliLaunch = {}): CliProcess {
  const child = spawn(process.execPath, [...(launch.nodeArgs ?? []), launch.entry ?? CLI, ...args], {
    env: { ...process.env, MFPGW_LOG_LEVEL: 'debug', ...env },
    stdio: [launch.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(launch.input);
  return followCli(child);
}

/** Follows an `mfp-gateway` started with its stdout and stderr piped: parses its log lines, reaps it at exit. */
export function followCli(child: ChildProcess): CliProcess {
  reapOnExit(child);
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor(match, timeoutMs, what) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${lines
                .slice(-15)
                .map((l) => JSON.stringify(l))
                .join('\n')}\nstderr: ${stderr.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    exited: () => exit,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Waits for the log line in which a process says it listens (its `msg`, or a pattern of it)
 * and returns the port named by the line's `field`: a URL, HOST:PORT or a number. For a
 * listener configured with port 0, which a test cannot know before the process binds it.
 */
export async function listeningPort(
  proc: CliProcess,
  msg: string | RegExp,
  field = 'url',
  timeoutMs = 20_000,
): Promise<number> {
  const line = await proc.waitFor(
    (l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))),
    timeoutMs,
    `"${String(msg)}"`,
  );
  const value = line[field];
  const text = String(value);
  const port =
    typeof value === 'number'
      ? value
      : Number(text.includes('://') ? new URL(text).port : text.slice(text.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error(`no port in ${field} of the log line ${JSON.stringify(line)}`);
  }
  return port;
}

/** Polls an async condition (vi.waitFor) until it holds or the time runs out; returns its value. */
export function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 250,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!ok(value)) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`,
        );
      }
      return value;
    },
    { timeout: timeoutMs, interval: everyMs },
  );
}

import pino, { type Logger } from 'pino';
import { onDemand } from '../runtime/on-demand.ts';

export type { Logger } from 'pino';

/**
 * Paths whose values are secrets: masked in every log line. Pino needs paths, not a rule;
 * the rule for what is secret is src/secrets/mask.ts (same layer, so not imported here):
 * keep the names in step with it.
 */
const REDACT = [
  'token',
  'password',
  'passwordHash',
  'community',
  'authorization',
  '*.token',
  '*.password',
  '*.passwordHash',
  '*.community',
  '*.authorization',
  'headers.authorization',
  'proxy.password',
];

export interface LoggerOptions {
  level?: string;
  /** Human-readable output; defaults to true when stdout is a terminal. */
  pretty?: boolean;
  name?: string;
}

/**
 * Structured JSON to stdout (journald keeps it), or readable lines in a terminal.
 * Pretty printing runs in-process (no worker thread) to keep memory low on a small board.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const base = {
    level: options.level ?? process.env.MFPGW_LOG_LEVEL ?? 'info',
    name: options.name,
    redact: { paths: REDACT, censor: '***' },
  };
  if (usePretty) {
    return pino(
      base,
      onDemand('pino-pretty')({
        colorize: Boolean(process.stdout.isTTY),
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
        sync: true,
      }),
    );
  }
  return pino(base, pino.destination({ dest: 1, sync: false }));
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A debug-level logger whose lines land, parsed, in `logs` (tests assert on what was logged). */
export function capturedLogs(): { logger: Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk, _e, done) => {
        logs.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  return { logger, logs };
}

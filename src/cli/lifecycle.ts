import { ConfigError } from '../config/config-error.ts';
import type { Logger } from '../log/logger.ts';

/** Exit status for a config the daemon cannot use (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;

/** Longest a graceful stop may take before the process exits anyway. */
const STOP_BOUND_MS = 15_000;

/** Runs until SIGINT/SIGTERM, then stops within a bound and exits. */
export function stopOnSignal(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      log.error('graceful stop took too long; exiting');
      process.exit(1);
    }, STOP_BOUND_MS);
    force.unref();
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Prints a config error for a person and exits with EX_CONFIG; rethrows anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

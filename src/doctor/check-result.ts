/** How a check came out: fine, worth a look, broken, or not run (an earlier check failed). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of `mfp-gateway doctor`: what was checked, how it came out, and what to do. */
export interface CheckResult {
  /** Stable name: config, dns, proxy, clock, tls, token, device:<id>, status-page, push-proxy. */
  check: string;
  status: CheckStatus;
  message: string;
  /** What to do about a warning or failure. */
  fix?: string;
  /** More lines, e.g. every problem of a config file. */
  details?: string[];
}

/** Exit status of `doctor`: 0 all fine, 1 warnings only, 2 something fails. */
export function doctorExitStatus(results: readonly CheckResult[]): 0 | 1 | 2 {
  if (results.some((r) => r.status === 'fail')) return 2;
  if (results.some((r) => r.status === 'warn')) return 1;
  return 0;
}

/** A check that could not run because an earlier one failed. */
export function skipped(check: string, because: string): CheckResult {
  return { check, status: 'skip', message: `not checked: ${because}` };
}

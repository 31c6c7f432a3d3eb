import type { CheckResult, CheckStatus } from './check-result.ts';

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** One line per check (its details and fix indented below it) for a person at a terminal. */
export function formatReport(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARK[r.status]}  ${r.check.padEnd(width)}  ${r.message}`);
    const indent = ' '.repeat(width + 8);
    for (const d of r.details ?? []) lines.push(`${indent}- ${d}`);
    if (r.fix && (r.status === 'warn' || r.status === 'fail')) lines.push(`${indent}fix: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push(
    '',
    `${count('ok')} ok, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Keep-alive benchmark: a simulated week per middlebox idle timeout, two gateways in one site
 * (one probes for both), pushes at random. Prints a table and writes bench/results/keepalive.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_TIMEOUTS_MS, officeWeek } from './sim/scenarios.ts';
import { type WeekReport, WeekSimulation } from './sim/week.ts';

/** One row of bench/results/keepalive.json. */
interface CaseResult extends Omit<WeekReport, 'finalAdviceMs'> {
  timeoutMs: number;
  finalAdviceMs: number;
  finalAdviceFractionOfTimeout: number;
}

function runCase(timeoutMs: number): CaseResult {
  const { finalAdviceMs, ...report } = new WeekSimulation(officeWeek(timeoutMs)).run();
  const finalAdvice = Math.min(...Object.values(finalAdviceMs));
  return {
    timeoutMs,
    ...report,
    finalAdviceMs: finalAdvice,
    finalAdviceFractionOfTimeout: finalAdvice / timeoutMs,
  };
}

/** A duration for people: "56 s", "13.8 min", "2 h 4 min". */
function duration(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 60_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms - hours * 3_600_000) / 60_000);
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

const results = BENCH_TIMEOUTS_MS.map(runCase);
console.table(
  results.map((r) => ({
    timeout: duration(r.timeoutMs),
    advice: `${duration(r.finalAdviceMs)} (${(r.finalAdviceFractionOfTimeout * 100).toFixed(1)} %)`,
    converge: duration(r.convergeMs),
    keepalives: r.keepalives,
    oracle: r.oracleKeepalives,
    ratio: r.ratioToOracle === null ? 'n/a' : r.ratioToOracle.toFixed(3),
    'fixed 30 s': r.fixed30sKeepalives,
    'fixed 60 s': r.fixed60sKeepalives,
    'before conv.': r.keepalivesBeforeConvergence,
    probes: r.probeMessages,
    pushes: r.pushes,
    lost: r.lostPushes,
    dark: duration(r.darkTimeMs),
  })),
);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'keepalive.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${out}`);
const missed = results.filter((r) => r.ratioToOracle === null || r.ratioToOracle > 1.1 || r.lostPushes > 0);
if (missed.length > 0) {
  console.error(`target missed for timeouts: ${missed.map((r) => duration(r.timeoutMs)).join(', ')}`);
  process.exitCode = 1;
}

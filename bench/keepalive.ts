/**
 * Keep-alive benchmark: a simulated week per middlebox (bench/sim/scenarios.ts, BENCH_CASES),
 * two gateways in one site (one probes for both), pushes at random. Prints a table, writes
 * bench/results/keepalive.json, and fails when a target of issue 15 is missed: convergeMs ≤
 * 3 × timeoutMs, ratioToOracle ≤ 1.1, no lost push, and for T ≥ 30 s no push line dying
 * before convergence.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_CASES, type BenchCase, benchWeek } from './sim/scenarios.ts';
import { type WeekReport, WeekSimulation } from './sim/week.ts';
import { benchArgs } from './support/bench-args.ts';

benchArgs(import.meta.url, {});

/** One row of bench/results/keepalive.json. */
interface CaseResult extends Omit<WeekReport, 'finalAdviceMs'> {
  name: string;
  timeoutMs: number;
  onExpiry: BenchCase['onExpiry'];
  restarts: number;
  finalAdviceMs: number;
  finalAdviceFractionOfTimeout: number;
}

function runCase(c: BenchCase): CaseResult {
  const { finalAdviceMs, ...report } = new WeekSimulation(benchWeek(c)).run();
  const finalAdvice = Math.min(...Object.values(finalAdviceMs));
  const { timeoutMs } = c;
  return {
    name: c.name,
    timeoutMs,
    onExpiry: c.onExpiry,
    restarts: c.restartsAtMs?.length ?? 0,
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

/** Which targets a case misses, in words. */
function missedTargets(r: CaseResult): string[] {
  const missed: string[] = [];
  if (r.convergeMs === null || r.convergeMs > 3 * r.timeoutMs) missed.push('convergeMs > 3 × T');
  if (r.ratioToOracle === null || r.ratioToOracle > 1.1) missed.push('ratioToOracle > 1.1');
  if (r.lostPushes > 0) missed.push('lost pushes');
  if (r.timeoutMs >= 30_000 && r.safeLineDeathsBeforeConvergence > 0)
    missed.push('push lines died while learning');
  return missed;
}

const results = BENCH_CASES.map(runCase);
console.table(
  results.map((r) => ({
    case: r.name,
    advice: `${duration(r.finalAdviceMs)} (${(r.finalAdviceFractionOfTimeout * 100).toFixed(1)} %)`,
    converge: duration(r.convergeMs),
    '× T': r.convergeMs === null ? 'n/a' : (r.convergeMs / r.timeoutMs).toFixed(2),
    keepalives: r.keepalives,
    oracle: r.oracleKeepalives,
    ratio: r.ratioToOracle === null ? 'n/a' : r.ratioToOracle.toFixed(3),
    'fixed 30 s': r.fixed30sKeepalives,
    'fixed 60 s': r.fixed60sKeepalives,
    'before conv.': r.keepalivesBeforeConvergence,
    probes: r.probeMessages,
    pushes: r.pushes,
    lost: r.lostPushes,
    'line deaths': r.safeLineDeathsBeforeConvergence,
    dark: duration(r.darkTimeMs),
  })),
);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'keepalive.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${out}`);
const missed = results.filter((r) => missedTargets(r).length > 0);
for (const r of missed) console.error(`${r.name}: target missed: ${missedTargets(r).join(', ')}`);
if (missed.length > 0) process.exitCode = 1;

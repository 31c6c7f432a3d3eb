import { NORMAL_MODE } from '../../src/config/keepalive-defaults.ts';
import type { OnExpiry } from './firewall.ts';
import type { Scenario, SiteSpec } from './week.ts';

/** The idle timeouts the product must cope with: the design's 60 s … 2 h 4 min and points between. */
export const BENCH_TIMEOUTS_MS: readonly number[] = [60_000, 240_000, 350_000, 900_000, 3_600_000, 7_440_000];

/** One row of the keep-alive bench: a middlebox and what it does. */
export interface BenchCase {
  name: string;
  timeoutMs: number;
  onExpiry: OnExpiry;
  /** The middlebox restarts at these offsets (a proxy restart cuts every line at once). */
  restartsAtMs?: readonly number[];
}

const DAY_MS = 86_400_000;

/**
 * What `npm run bench:keepalive` runs: the design's range, a middlebox below the default
 * keep-alive (7 s) both as a silent firewall and as what issue 15 met, a proxy (Squid's
 * read_timeout 7 s, and its other value 23 s) that closes a tunnel when it times it out, the
 * smallest timeout the default must survive (30 s), a firewall that answers with resets, and
 * a proxy that restarts twice.
 */
export const BENCH_CASES: readonly BenchCase[] = [
  { name: '7 s', timeoutMs: 7_000, onExpiry: 'silent' },
  { name: '7 s proxy', timeoutMs: 7_000, onExpiry: 'close' },
  { name: '23 s proxy', timeoutMs: 23_000, onExpiry: 'close' },
  { name: '30 s', timeoutMs: 30_000, onExpiry: 'silent' },
  ...BENCH_TIMEOUTS_MS.map((timeoutMs) => ({
    name: durationName(timeoutMs),
    timeoutMs,
    onExpiry: 'silent' as const,
  })),
  { name: '100 s, RST', timeoutMs: 100_000, onExpiry: 'rst' },
  {
    name: '240 s, proxy restarts',
    timeoutMs: 240_000,
    onExpiry: 'silent',
    restartsAtMs: [2 * DAY_MS, 4 * DAY_MS],
  },
];

/**
 * The standard office: two gateways of one domain behind one middlebox; gw-1 has been up an hour
 * longer, so it is the representative and probes for both.
 */
export function officeSite(idleTimeoutMs: number, extra: Partial<SiteSpec> = {}): SiteSpec {
  return {
    egressAddress: '198.51.100.7',
    idleTimeoutMs,
    gateways: [
      { id: 'gw-1', host: 'gw1.office.example.co.jp', uptimeAtBootMs: 3_600_000, mode: NORMAL_MODE },
      { id: 'gw-2', host: 'gw2.office.example.co.jp', mode: NORMAL_MODE },
    ],
    ...extra,
  };
}

/** A week in the standard office with a given idle timeout, seeded per timeout. */
export function officeWeek(idleTimeoutMs: number, seed = 20_260_105): Scenario {
  return { seed: seed + idleTimeoutMs, sites: [officeSite(idleTimeoutMs)] };
}

/** A week of one bench case in the standard office. */
export function benchWeek(c: BenchCase, seed = 20_260_105): Scenario {
  return {
    seed: seed + c.timeoutMs,
    sites: [
      officeSite(c.timeoutMs, {
        onExpiry: c.onExpiry,
        ...(c.restartsAtMs ? { restartsAtMs: c.restartsAtMs } : {}),
      }),
    ],
  };
}

/** A timeout for people: "60 s", "15 min", "2 h 4 min". */
export function durationName(ms: number): string {
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms - hours * 3_600_000) / 60_000);
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

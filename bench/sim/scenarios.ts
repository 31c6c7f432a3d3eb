import { NORMAL_MODE } from '../../src/config/keepalive-defaults.ts';
import type { Scenario, SiteSpec } from './week.ts';

/** The idle timeouts the product must cope with: the design's 60 s … 2 h 4 min and points between. */
export const BENCH_TIMEOUTS_MS: readonly number[] = [60_000, 240_000, 350_000, 900_000, 3_600_000, 7_440_000];

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

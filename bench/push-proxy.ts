/**
 * Push proxy benchmark (docs/push-proxy.md): keep-alives per hour through one middlebox for N
 * LAN devices over a simulated week — proxied by one gateway (its two learned lines carry every
 * device's pushes), versus each device holding its own two push lines with the same learning
 * client (seed 000 without the proxy; the devices of one domain share what they learn and one
 * probes for all). The proxied devices' own keep-alives stay on the LAN, at the gateway's LAN
 * interval. Also: pushes lost by devices in power-saving mode (keep alive at most hourly) when
 * they hold their own lines. Prints a table and writes bench/results/push-proxy.json.
 *
 * The proxied case simulates the gateway's lines only: that the devices add nothing upstream is
 * what test/integration/push-proxy.test.ts measures on real processes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NORMAL_MODE, POWER_SAVING_MODE } from '../src/config/keepalive-defaults.ts';
import type { PowerMode } from '../src/gateway/keepalive/power-policy.ts';
import { officeSite } from './sim/scenarios.ts';
import { HOUR_MS, WEEK_MS, WeekSimulation } from './sim/week.ts';
import { benchArgs } from './support/bench-args.ts';

benchArgs(import.meta.url, {});

/** A common NAT idle timeout (5.8 min); the learned advice sits just below it. */
const IDLE_TIMEOUT_MS = 350_000;
/** The gateway's default LAN keep-alive (pushProxy.lanKeepalive). */
const LAN_KEEPALIVE_MS = 300_000;
const DEVICE_COUNTS = [1, 5, 20];

/** One site whose push clients are `count` boxes in one power mode; returns keep-alives per hour and lost pushes. */
function week(count: number, mode: PowerMode): { perHour: number; lost: number } {
  const gateways = Array.from({ length: count }, (_, i) => ({
    id: `box-${i}`,
    host: `box${i}.office.example.co.jp`,
    uptimeAtBootMs: i === 0 ? HOUR_MS : 0,
    mode,
  }));
  const report = new WeekSimulation({
    seed: 20_260_105 + count,
    sites: [officeSite(IDLE_TIMEOUT_MS, { gateways })],
  }).run();
  const hours = (WEEK_MS - (report.convergeMs ?? 0)) / HOUR_MS;
  return { perHour: report.keepalives / hours, lost: report.lostPushes };
}

const gateway = week(1, NORMAL_MODE);
const results = DEVICE_COUNTS.map((devices) => {
  const direct = week(devices, NORMAL_MODE);
  const sleepy = week(devices, POWER_SAVING_MODE);
  return {
    devices,
    upstreamPerHourProxied: gateway.perHour,
    upstreamPerHourDirect: direct.perHour,
    lanPerHourProxied: (devices * HOUR_MS) / LAN_KEEPALIVE_MS,
    lostPushesProxied: gateway.lost,
    lostPushesDirect: direct.lost,
    lostPushesDirectPowerSaving: sleepy.lost,
  };
});
console.log(
  `idle timeout ${IDLE_TIMEOUT_MS / 1000} s, LAN keep-alive ${LAN_KEEPALIVE_MS / 60_000} min, one week`,
);
console.table(
  results.map((r) => ({
    devices: r.devices,
    'upstream/h proxied': r.upstreamPerHourProxied.toFixed(1),
    'upstream/h direct': r.upstreamPerHourDirect.toFixed(1),
    'LAN/h proxied': r.lanPerHourProxied.toFixed(1),
    'lost proxied': r.lostPushesProxied,
    'lost direct': r.lostPushesDirect,
    'lost direct power-saving': r.lostPushesDirectPowerSaving,
  })),
);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'push-proxy.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ idleTimeoutMs: IDLE_TIMEOUT_MS, lanKeepaliveMs: LAN_KEEPALIVE_MS, results }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
if (gateway.lost > 0) {
  console.error('target missed: the proxying gateway lost pushes');
  process.exitCode = 1;
}

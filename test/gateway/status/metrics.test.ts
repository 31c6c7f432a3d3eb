import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { pushProxyView } from '../../../src/gateway/status/gateway-providers.ts';
import {
  type ActivityTotals,
  type DeviceView,
  type JobView,
  NO_PROVIDERS,
  type PushProxyView,
  type StatusProviders,
  type TunnelView,
} from '../../../src/gateway/status/status-model.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { line, startTestPage } from './page-harness.ts';
import { proxied, proxyStatus } from './proxy-harness.ts';

const defer = deferredTeardown();

async function scrape(url: string): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheusTextFormat(await res.text()).map((f) => [f.name, f]));
}

/** The value of the sample whose labels include `labels`. */
function value(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}; have ${[...families.keys()].join(', ')}`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample)
    throw new Error(`no ${name} with ${JSON.stringify(labels)}: ${JSON.stringify(family.metrics)}`);
  return Number(sample.value);
}

describe('GET /metrics', () => {
  it('exposes the link, keep-alive, power and push state in Prometheus text format', async () => {
    const clock = new ManualClock();
    const { url, link, pushes } = await startTestPage(clock, { auth: 'none' }, defer);
    link.set({
      lines: [
        line('line-0', 'open', { reconnects: 2, keepaliveMs: 3_600_000, limitedByPolicy: true }),
        line('line-1', 'connecting', { reconnects: 5 }),
        line('probe', 'open'),
      ],
      advice: {
        intervalMs: 19_000,
        source: 'probe',
        mcvtMs: 20_000,
        lowerBoundMs: 20_000,
        upperBoundMs: 21_000,
        lifetimeCapMs: null,
        reconnectBeforeAgeMs: null,
        converged: true,
      },
      probing: true,
    });
    pushes.websocket = 3;
    pushes.mqtt = 1;

    let m = await scrape(url);
    expect(m.get('mfpgw_link_up')?.type).toBe('GAUGE');
    expect(value(m, 'mfpgw_link_up', { line: 'line-0', role: 'push' })).toBe(1);
    expect(value(m, 'mfpgw_link_up', { line: 'line-1', role: 'push' })).toBe(0);
    expect(value(m, 'mfpgw_link_up', { line: 'probe', role: 'probe' })).toBe(1);
    expect(value(m, 'mfpgw_link_lines_up')).toBe(1);
    expect(m.get('mfpgw_link_reconnects_total')?.type).toBe('COUNTER');
    expect(value(m, 'mfpgw_link_reconnects_total', { line: 'line-1' })).toBe(5);
    expect(value(m, 'mfpgw_keepalive_interval_seconds', { line: 'line-0' })).toBe(3600);
    expect(value(m, 'mfpgw_keepalive_policy_limited', { line: 'line-0' })).toBe(1);
    expect(value(m, 'mfpgw_keepalive_advice_seconds')).toBe(19);
    expect(value(m, 'mfpgw_keepalive_advice_source', { source: 'probe' })).toBe(1);
    expect(value(m, 'mfpgw_keepalive_advice_source', { source: 'default' })).toBe(0);
    expect(value(m, 'mfpgw_keepalive_bound_seconds', { bound: 'lower' })).toBe(20);
    expect(value(m, 'mfpgw_keepalive_bound_seconds', { bound: 'upper' })).toBe(21);
    expect(value(m, 'mfpgw_power_mode', { mode: 'normal' })).toBe(1);
    expect(value(m, 'mfpgw_power_mode', { mode: 'power-saving' })).toBe(0);
    expect(value(m, 'mfpgw_pushes_received_total', { line: 'websocket' })).toBe(3);
    expect(value(m, 'mfpgw_pushes_received_total', { line: 'mqtt' })).toBe(1);
    expect(value(m, 'mfpgw_tunnels_active')).toBe(0);
    expect(value(m, 'mfpgw_info', { gateway: 'gw1', version: '0.0.0-test' })).toBe(1);
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);

    // Counters follow the daemon's totals across scrapes; a line going down is a drop.
    link.set({
      lines: [line('line-0', 'waiting', { reconnects: 3 }), line('line-1', 'open', { reconnects: 5 })],
    });
    m = await scrape(url);
    expect(value(m, 'mfpgw_link_reconnects_total', { line: 'line-0' })).toBe(3);
    expect(value(m, 'mfpgw_link_drops_total')).toBe(1);
    expect(value(m, 'mfpgw_link_up', { line: 'line-0' })).toBe(0);
    expect(m.get('mfpgw_link_up')?.metrics.some((s) => s.labels?.line === 'probe')).toBe(false);
  });

  it('exposes tunnels, bytes relayed, jobs by outcome and each device’s state', async () => {
    const clock = new ManualClock();
    const device = (id: string, state: string) => ({ id, state }) as DeviceView;
    const job = (id: string, outcome: JobView['outcome']) => ({ id, outcome }) as JobView;
    let totals: ActivityTotals = {
      tunnels: { opened: 3, bytesToDevice: 5000, bytesFromDevice: 70 },
      jobs: { done: 2, switched: 0, failed: 1 },
    };
    let devices = [device('mfp1', 'idle'), device('mfp2', 'offline'), device('nas', 'idle')];
    const providers: StatusProviders = {
      ...NO_PROVIDERS,
      devices: () => devices,
      tunnels: () => [{ id: 'job/j4' } as TunnelView],
      jobs: () => [job('j4', 'running'), job('j3', 'waiting'), job('j2', 'done'), job('j1', 'failed')],
      totals: () => totals,
    };
    const { url } = await startTestPage(clock, { auth: 'none' }, defer, { providers });

    let m = await scrape(url);
    expect(value(m, 'mfpgw_tunnels_active')).toBe(1);
    expect(m.get('mfpgw_tunnels_opened_total')?.type).toBe('COUNTER');
    expect(value(m, 'mfpgw_tunnels_opened_total')).toBe(3);
    expect(value(m, 'mfpgw_tunnel_bytes_total', { direction: 'to_device' })).toBe(5000);
    expect(value(m, 'mfpgw_tunnel_bytes_total', { direction: 'from_device' })).toBe(70);
    expect(value(m, 'mfpgw_jobs_total', { outcome: 'done' })).toBe(2);
    expect(value(m, 'mfpgw_jobs_total', { outcome: 'switched' })).toBe(0);
    expect(value(m, 'mfpgw_jobs_total', { outcome: 'failed' })).toBe(1);
    expect(value(m, 'mfpgw_jobs_active', { state: 'running' })).toBe(1);
    expect(value(m, 'mfpgw_jobs_active', { state: 'waiting' })).toBe(1);
    expect(value(m, 'mfpgw_devices', { state: 'idle' })).toBe(2);
    expect(value(m, 'mfpgw_device_state', { device: 'mfp2', state: 'offline' })).toBe(1);
    expect(value(m, 'mfpgw_device_state', { device: 'mfp2', state: 'idle' })).toBe(0);
    expect(value(m, 'mfpgw_device_state', { device: 'mfp1', state: 'idle' })).toBe(1);

    totals = {
      tunnels: { opened: 4, bytesToDevice: 9000, bytesFromDevice: 90 },
      jobs: { done: 3, switched: 1, failed: 1 },
    };
    devices = [device('mfp1', 'printing')];
    m = await scrape(url);
    expect(value(m, 'mfpgw_tunnels_opened_total')).toBe(4);
    expect(value(m, 'mfpgw_tunnel_bytes_total', { direction: 'to_device' })).toBe(9000);
    expect(value(m, 'mfpgw_jobs_total', { outcome: 'switched' })).toBe(1);
    expect(value(m, 'mfpgw_device_state', { device: 'mfp1', state: 'printing' })).toBe(1);
    expect(m.get('mfpgw_device_state')?.metrics.some((s) => s.labels?.device === 'mfp2')).toBe(false);
  });

  it('counts proxied devices by state and the pushes the proxy holds; without a proxy, no device series', async () => {
    const clock = new ManualClock();
    let proxy: PushProxyView | null = pushProxyView(
      proxyStatus(
        [
          proxied('mfp1', { state: 'awake' }),
          proxied('mfp2', { state: 'sleeping' }),
          proxied('mfp3', { state: 'sleeping' }),
        ],
        { held: { pushes: 4, bytes: 900 } },
      ),
    );
    const { url } = await startTestPage(clock, { auth: 'none' }, defer, {
      providers: { ...NO_PROVIDERS, pushProxy: () => proxy },
    });

    let m = await scrape(url);
    expect(m.get('mfpgw_proxied_devices')?.type).toBe('GAUGE');
    expect(value(m, 'mfpgw_proxied_devices', { state: 'awake' })).toBe(1);
    expect(value(m, 'mfpgw_proxied_devices', { state: 'sleeping' })).toBe(2);
    expect(value(m, 'mfpgw_proxied_devices', { state: 'gone' })).toBe(0);
    expect(value(m, 'mfpgw_proxy_held_pushes')).toBe(4);

    proxy = null;
    m = await scrape(url);
    expect(m.get('mfpgw_proxied_devices')?.metrics ?? []).toEqual([]);
    expect(value(m, 'mfpgw_proxy_held_pushes')).toBe(0);
  });
});

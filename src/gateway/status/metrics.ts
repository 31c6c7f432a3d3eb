import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { KeepaliveHistory } from './keepalive-history.ts';
import type { StatusSources } from './status-model.ts';

/** Where advice can come from; every one gets a series, 1 for the one in force. */
const ADVICE_SOURCES = ['default', 'history', 'domain', 'probe'] as const;
/** A device's states; every one gets a series per device, 1 for the one it is in. */
const DEVICE_STATES = ['idle', 'printing', 'stopped', 'offline', 'unknown'] as const;
/** A proxied device's states; each gets a series (0 when no device is in it) while the proxy is configured. */
const PROXIED_DEVICE_STATES = ['awake', 'sleeping', 'gone'] as const;

/**
 * The gateway's Prometheus metrics (GET /metrics), read from the daemon's parts at scrape
 * time: nothing is updated on the hot path. Counters the daemon keeps as plain totals
 * (reconnects, pushes, tunnels, bytes, jobs) are advanced by their growth since the last
 * scrape. Device, tunnel, job and push proxy series come from the page's providers.
 */
export function createMetrics(
  sources: StatusSources,
  history: KeepaliveHistory,
  modes: readonly string[],
): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  const seen = new Map<string, number>();
  /** Advances a counter to a total the daemon keeps. */
  const advance = (counter: Counter<string>, name: string, labels: Record<string, string>, total: number) => {
    const key = `${name}${JSON.stringify(labels)}`;
    const before = seen.get(key) ?? 0;
    // A series shows from its first scrape, at 0 if nothing happened yet.
    if (total > before || !seen.has(key)) counter.inc(labels, Math.max(0, total - before));
    seen.set(key, Math.max(before, total));
  };

  new Gauge({
    name: 'mfpgw_info',
    help: 'The gateway: id, client id and software version (always 1).',
    labelNames: ['gateway', 'client_id', 'version'],
    registers: [register],
    collect() {
      this.set({ gateway: sources.gatewayId, client_id: sources.clientId, version: sources.version }, 1);
    },
  });
  new Gauge({
    name: 'mfpgw_link_up',
    help: 'Whether a push or probe line is open (1) or not (0).',
    labelNames: ['line', 'role'],
    registers: [register],
    collect() {
      this.reset();
      for (const l of sources.link().lines)
        this.set({ line: l.id, role: l.role }, l.state === 'open' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mfpgw_link_lines_up',
    help: 'Push lines open now (ready when at least 1).',
    registers: [register],
    collect() {
      this.set(sources.link().linesUp);
    },
  });
  new Counter({
    name: 'mfpgw_link_reconnects_total',
    help: 'Times a line was reopened after it went down or was restored.',
    labelNames: ['line', 'role'],
    registers: [register],
    collect() {
      for (const l of sources.link().lines)
        advance(this, 'reconnects', { line: l.id, role: l.role }, l.reconnects);
    },
  });
  new Counter({
    name: 'mfpgw_link_drops_total',
    help: 'Times a push line that was up went down (middlebox timeout, reset, unanswered keep-alive).',
    registers: [register],
    collect() {
      advance(this, 'drops', {}, history.totalDrops);
    },
  });
  new Counter({
    name: 'mfpgw_link_probe_drops_total',
    help: 'Times a probe line was cut while it idled on purpose to measure the timeout (planned, no outage).',
    registers: [register],
    collect() {
      advance(this, 'probeDrops', {}, history.probeDrops);
    },
  });
  new Gauge({
    name: 'mfpgw_keepalive_interval_seconds',
    help: 'The keep-alive interval each push line uses (the advice, raised by the power policy).',
    labelNames: ['line'],
    registers: [register],
    collect() {
      this.reset();
      for (const l of sources.link().lines) {
        if (l.role === 'push' && l.keepaliveMs !== null) this.set({ line: l.id }, l.keepaliveMs / 1000);
      }
    },
  });
  new Gauge({
    name: 'mfpgw_keepalive_policy_limited',
    help: 'Whether the power policy keeps a line alive less often than the cloud advises (1).',
    labelNames: ['line'],
    registers: [register],
    collect() {
      this.reset();
      for (const l of sources.link().lines)
        if (l.role === 'push') this.set({ line: l.id }, l.limitedByPolicy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mfpgw_keepalive_advice_seconds',
    help: 'The keep-alive interval the cloud advises (absent until the first advice).',
    registers: [register],
    collect() {
      this.reset();
      const advice = sources.link().advice;
      if (advice) this.set(advice.intervalMs / 1000);
    },
  });
  new Gauge({
    name: 'mfpgw_keepalive_advice_source',
    help: 'Where the advice comes from: 1 for the source in force (default, history, domain, probe).',
    labelNames: ['source'],
    registers: [register],
    collect() {
      const current = sources.link().advice?.source;
      for (const source of ADVICE_SOURCES) this.set({ source }, current === source ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mfpgw_keepalive_bound_seconds',
    help: 'What the cloud learned of the middlebox: lower (L), upper (U) bound, lifetime cap.',
    labelNames: ['bound'],
    registers: [register],
    collect() {
      this.reset();
      const a = sources.link().advice;
      const bounds = { lower: a?.lowerBoundMs, upper: a?.upperBoundMs, lifetime_cap: a?.lifetimeCapMs };
      for (const [bound, ms] of Object.entries(bounds))
        if (typeof ms === 'number') this.set({ bound }, ms / 1000);
    },
  });
  new Gauge({
    name: 'mfpgw_power_mode',
    help: 'The power mode in force: 1 for it, 0 for the other configured modes.',
    labelNames: ['mode'],
    registers: [register],
    collect() {
      const current = sources.power().mode.name;
      for (const mode of modes) this.set({ mode }, mode === current ? 1 : 0);
    },
  });
  new Counter({
    name: 'mfpgw_pushes_received_total',
    help: 'Pushes received and handed on (once each, whichever line carried them).',
    labelNames: ['line'],
    registers: [register],
    collect() {
      const p = sources.pushesReceived();
      advance(this, 'pushes', { line: 'websocket' }, p.websocket);
      advance(this, 'pushes', { line: 'mqtt' }, p.mqtt);
    },
  });
  new Gauge({
    name: 'mfpgw_mqtt_connected',
    help: 'Whether the MQTT session is up (absent when MQTT is not configured).',
    registers: [register],
    collect() {
      this.reset();
      const m = sources.mqtt();
      if (m) this.set(m.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mfpgw_tunnels_active',
    help: 'Tunnels open now.',
    registers: [register],
    collect() {
      this.set(sources.providers.tunnels().length);
    },
  });
  new Counter({
    name: 'mfpgw_tunnels_opened_total',
    help: 'Tunnels accepted (job and raw).',
    registers: [register],
    collect() {
      advance(this, 'opened', {}, sources.providers.totals().tunnels.opened);
    },
  });
  new Counter({
    name: 'mfpgw_tunnel_bytes_total',
    help: 'Bytes relayed through tunnels (open ones included), per direction.',
    labelNames: ['direction'],
    registers: [register],
    collect() {
      const t = sources.providers.totals().tunnels;
      advance(this, 'bytes', { direction: 'to_device' }, t.bytesToDevice);
      advance(this, 'bytes', { direction: 'from_device' }, t.bytesFromDevice);
    },
  });
  new Counter({
    name: 'mfpgw_jobs_total',
    help: 'Jobs settled at this gateway, by outcome (done, switched to a direct connection, failed).',
    labelNames: ['outcome'],
    registers: [register],
    collect() {
      for (const [outcome, n] of Object.entries(sources.providers.totals().jobs))
        advance(this, 'jobs', { outcome }, n);
    },
  });
  new Gauge({
    name: 'mfpgw_jobs_active',
    help: 'Jobs on devices now: running (a tunnel carries it) or waiting (for the cloud to resume it).',
    labelNames: ['state'],
    registers: [register],
    collect() {
      const jobs = sources.providers.jobs();
      for (const state of ['running', 'waiting'])
        this.set({ state }, jobs.filter((j) => j.outcome === state).length);
    },
  });
  new Gauge({
    name: 'mfpgw_devices',
    help: 'LAN devices by state.',
    labelNames: ['state'],
    registers: [register],
    collect() {
      this.reset();
      for (const [state, n] of countBy(sources.providers.devices().map((d) => d.state)))
        this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'mfpgw_device_state',
    help: 'Each device’s state: 1 for the one it is in (idle, printing, stopped, offline, unknown), 0 for the others.',
    labelNames: ['device', 'state'],
    registers: [register],
    collect() {
      this.reset();
      for (const d of sources.providers.devices())
        for (const state of DEVICE_STATES) this.set({ device: d.id, state }, d.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mfpgw_proxied_devices',
    help: 'Devices whose push connection the gateway proxies, by state (absent when pushProxy is not configured).',
    labelNames: ['state'],
    registers: [register],
    collect() {
      this.reset();
      const proxy = sources.providers.pushProxy();
      if (!proxy) return;
      for (const state of PROXIED_DEVICE_STATES)
        this.set({ state }, proxy.devices.filter((d) => d.state === state).length);
    },
  });
  new Gauge({
    name: 'mfpgw_proxy_held_pushes',
    help: 'Pushes the push proxy holds for sleeping or gone devices (0 when pushProxy is not configured).',
    registers: [register],
    collect() {
      this.set(sources.providers.pushProxy()?.held.pushes ?? 0);
    },
  });
  return register;
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

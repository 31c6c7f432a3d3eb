import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import { type GatewayConfig, loadGatewayConfig } from '../config/gateway-config.ts';
import type { Logger } from '../log/logger.ts';
import type { Push } from '../protocol/messages.ts';
import { parseStorageKey } from '../storage/secure-file.ts';
import { VERSION } from '../version.ts';
import { DeviceMonitor } from './devices/device-monitor.ts';
import { DeviceRegistry } from './devices/device-registry.ts';
import { cpuLoad, hostDomain, systemUptimeMs } from './host/host-info.ts';
import { loadOrCreateClientId } from './identity/client-id.ts';
import { JobTunnels } from './jobs/job-tunnels.ts';
import { GatewayJournal } from './journal/gateway-journal.ts';
import type { PowerMode } from './keepalive/power-policy.ts';
import { LineSupervisor, type LinkStatus } from './link/line-supervisor.ts';
import { describeProxy, proxyAgent, proxyFor } from './link/proxy.ts';
import { MqttChannel } from './mqtt/mqtt-channel.ts';
import { powerModesFrom, schedulePolicyFrom } from './power/power-config.ts';
import { PowerScheduler } from './power/power-scheduler.ts';
import { RecentIds } from './push/recent-ids.ts';
import { PushProxy } from './push-proxy/push-proxy.ts';
import { ConfigReloader } from './reload/config-reload.ts';
import type { StatusPage } from './status/status-page.ts';
import { startDaemonStatusPage } from './status/status-page-wiring.ts';
import { TunnelAllowList } from './tunnels/allow-list.ts';
import { TunnelEndpoint } from './tunnels/tunnel-endpoint.ts';

/** A running gateway daemon. */
export interface GatewayDaemon {
  readonly clientId: string;
  readonly link: LineSupervisor;
  readonly tunnels: TunnelEndpoint;
  /** Configured devices and their drivers. */
  readonly devices: DeviceRegistry;
  /** Jobs the cloud sends to devices through tunnels. */
  readonly jobs: JobTunnels;
  /** Each device's state, reasons, meters and supplies, polled on its schedule. */
  readonly deviceMonitor: DeviceMonitor;
  /** Tunnel records and devices' connection logs (docs/journal.md). */
  readonly journal: GatewayJournal;
  readonly power: PowerScheduler;
  /** The MQTT channel, when `mqtt` is configured. */
  readonly mqtt: MqttChannel | null;
  /** The local web status page, unless `status.enabled` is false. */
  readonly statusPage: StatusPage | null;
  /** The push proxy for LAN devices, when `pushProxy` is configured (docs/push-proxy.md). */
  readonly pushProxy: PushProxy | null;
  status(): LinkStatus & { gatewayId: string; powerMode: string };
  stop(): Promise<void>;
}

export interface GatewayDeps {
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Receives every push once (after deduplication); resolve to acknowledge. */
  onPush?: (push: Push) => Promise<void> | void;
  /** The file `config` came from: the `reload-config` command re-reads it (none: not supported). */
  configFile?: string;
}

/**
 * The gateway's composition root: identity, proxy, push lines. Later features (tunnels,
 * devices, telemetry, status page) attach here without knowing each other's insides.
 */
export function startGateway(config: GatewayConfig, deps: GatewayDeps): GatewayDaemon {
  const clock = deps.clock ?? systemClock;
  const env = deps.env ?? process.env;
  const log = deps.logger.child({ gateway: config.gateway.id });
  const clientId = loadOrCreateClientId(config.gateway.stateDir);
  const target = new URL(config.cloud.url);
  const proxy = proxyFor(target, config.cloud.proxy, env);
  const ca = config.cloud.caFile ? readFileSync(config.cloud.caFile) : undefined;
  const domain = config.gateway.domain ?? hostDomain();
  const power = new PowerScheduler({
    clock,
    logger: log.child({ part: 'power' }),
    policy: schedulePolicyFrom(config.power),
    modes: powerModesFrom(config.power),
    overrideFile: join(config.gateway.stateDir, 'power-override.json'),
    onChange: (state) => {
      link.setMode(state.mode);
      applyModeLimits(state.mode);
      mqtt?.append({ kind: 'power', mode: state.mode.name, source: state.decision.source });
      mqtt?.noteChange();
    },
  });
  // A mode's limits stretch telemetry and SNMP polling (never shorten them).
  let telemetry = config.mqtt?.telemetry;
  const applyModeLimits = (mode: PowerMode) => {
    if (telemetry) {
      mqtt?.setTelemetryPace({ ...telemetry, every: Math.max(telemetry.every, mode.telemetryEveryMs ?? 0) });
    }
    deviceMonitor?.setSnmpFloor(mode.snmpEveryMs ?? 0);
  };
  const software = `mfp-gateway/${VERSION}`;
  // A push may come over a WebSocket line and over MQTT (retried after a lost ack): hand it on once.
  const pushesSeen = new RecentIds();
  const pushesReceived = { websocket: 0, mqtt: 0 };
  const handlePush = async (push: Push, line: 'websocket' | 'mqtt') => {
    if (!pushesSeen.add(push.pushId)) return;
    pushesReceived[line]++;
    log.info({ pushId: push.pushId, dataType: push.dataType, line }, 'push received');
    await deps.onPush?.(push);
  };
  const devices = DeviceRegistry.create(config.devices, {
    clock,
    logger: log,
    storageKey: config.storage ? parseStorageKey(config.storage.key) : undefined,
  });
  const deviceMonitor = new DeviceMonitor(devices, { clock, logger: log });
  const jobs = new JobTunnels({
    devices,
    clock,
    logger: log,
    resumeGraceMs: config.jobs.resumeGrace,
    maxJobs: config.jobs.maxConcurrent,
    relayDirect: (jobId, cloudUrl) => pushProxy?.relay.route(jobId, cloudUrl),
  });
  const tunnels = new TunnelEndpoint({
    allowList: new TunnelAllowList(config.tunnels.allow),
    devices,
    jobs,
    maxConcurrent: config.tunnels.maxConcurrent,
    connectTimeoutMs: config.tunnels.connectTimeout,
    clock,
    logger: log,
  });
  const journal = new GatewayJournal({
    clock,
    logger: log,
    file: join(config.gateway.stateDir, 'journal.db'),
    settings: config.journal,
    forward: (record) => mqtt?.append(record),
  });
  tunnels.onRecord = (record) => journal.recordTunnel(record);
  const pushProxySettings = config.pushProxy;
  const link = new LineSupervisor({
    clock,
    logger: log,
    gatewayId: config.gateway.id,
    clientId,
    token: config.cloud.token,
    url: config.cloud.url,
    agent: proxy ? proxyAgent(proxy) : undefined,
    ca,
    connections: config.cloud.connections,
    staggerMs: config.cloud.stagger,
    probeAllowed: config.cloud.probe,
    keepaliveDefaultMs: config.keepalive.default,
    answerTimeoutMs: config.keepalive.answerTimeout,
    backoff: {
      initialMs: config.reconnect.initialDelay,
      maxMs: config.reconnect.maxDelay,
      stableAfterMs: config.reconnect.stableAfter,
      authFailureDelayMs: config.reconnect.authFailureDelay,
    },
    software,
    host: () => ({ domain, uptimeMs: systemUptimeMs(), cpuLoad: cpuLoad() }),
    mode: () => power.mode(),
    onPush: (push) => handlePush(push, 'websocket'),
    onTunnel: (request) => tunnels.handle(request),
    devices: () => devices.reports(),
    maxTunnels: config.tunnels.maxConcurrent,
    tunnelMemoryCap: config.tunnels.memoryCap,
    proxiedDevices: pushProxySettings ? () => pushProxySettings.devices.map((d) => d.id) : undefined,
  });
  const pushProxy = pushProxySettings
    ? new PushProxy({
        settings: pushProxySettings,
        stateDir: config.gateway.stateDir,
        open: (streamTarget) => link.openStream(streamTarget),
        clock,
        logger: log,
        backoff: { initialMs: config.reconnect.initialDelay, maxMs: config.reconnect.maxDelay },
        cloud: {
          ca,
          // A relayed direct connection leaves the site like the lines do: through the same proxy.
          agentFor: (url) => {
            const via = proxyFor(url, config.cloud.proxy, env);
            return via ? proxyAgent(via) : undefined;
          },
        },
      })
    : null;
  link.on('change', () => pushProxy?.linesChanged());
  const { configFile } = deps;
  const reloader = configFile
    ? new ConfigReloader({
        file: configFile,
        inForce: config,
        logger: log,
        load: (file) => loadGatewayConfig(file, { env }),
        apply: (next) => {
          deps.logger.level = next.log.level;
          power.reconfigure(schedulePolicyFrom(next.power), powerModesFrom(next.power));
          telemetry = next.mqtt?.telemetry ?? telemetry;
          applyModeLimits(power.mode());
        },
      })
    : null;
  const mqtt = config.mqtt
    ? new MqttChannel({
        clock,
        logger: log,
        gatewayId: config.gateway.id,
        software,
        settings: config.mqtt,
        env,
        cloudProxy: config.cloud.proxy,
        spoolFile: join(config.gateway.stateDir, 'log-spool.db'),
        backoff: {
          initialMs: config.reconnect.initialDelay,
          maxMs: config.reconnect.maxDelay,
          stableAfterMs: config.reconnect.stableAfter,
        },
        link: () => link.status(),
        power: () => power.state(),
        tunnels: () => ({ active: tunnels.activeCount, jobs: jobs.activeJobs }),
        devices: () => deviceMonitor.snapshots(),
        actions: {
          ...(reloader ? { reloadConfig: () => reloader.reload() } : {}),
          setPowerOverride: (mode, untilMs) => power.setOverride(mode, untilMs),
          clearPowerOverride: () => power.clearOverride(),
          restoreLines: (ids) => link.restore(ids, 'asked over MQTT'),
          openTunnel: async (command) => {
            // Seed 001's tunnel-establishment command: check the target and name the line
            // the cloud should open the tunnel on; the data then rides that line.
            const verdict = tunnels.check(command);
            if (!verdict.allowed) throw new Error(`${verdict.code}: ${verdict.reason}`);
            const line = link.status().lines.find((l) => l.role === 'push' && l.state === 'open');
            if (!line) {
              link.restore(undefined, 'a tunnel was requested while no push line was up');
              throw new Error('no push line is up; restoring the lines, try again');
            }
            return { tunnelId: command.tunnelId, line: line.id };
          },
        },
        onPush: (push) => handlePush(push, 'mqtt'),
      })
    : null;
  link.on('change', () => mqtt?.noteChange());
  deviceMonitor.on('change', () => mqtt?.noteDevice());
  const statusPage = startDaemonStatusPage(config, {
    clock,
    logger: log,
    clientId,
    link,
    power,
    mqtt,
    pushesReceived: () => ({ ...pushesReceived }),
    activity: { deviceMonitor, tunnels, jobs, journal: journal.store, pushProxy },
  });
  log.info(
    {
      clientId,
      cloud: target.origin,
      proxy: proxy ? describeProxy(proxy) : null,
      domain,
      mode: power.mode().name,
      timeZone: config.power.timezone,
      lines: config.cloud.connections,
    },
    'gateway starting',
  );
  power.start();
  link.start();
  mqtt?.start();
  journal.start();
  deviceMonitor.start();
  pushProxy?.start().catch((err: Error) =>
    // Like the status page: without the proxy the gateway's own lines run on.
    log.error({ err: err.message }, 'push proxy cannot start; check pushProxy.listen'),
  );
  return {
    clientId,
    link,
    tunnels,
    devices,
    jobs,
    deviceMonitor,
    journal,
    power,
    mqtt,
    statusPage,
    pushProxy,
    status: () => ({ ...link.status(), gatewayId: config.gateway.id, powerMode: power.mode().name }),
    async stop() {
      // First: the page reads the parts stopped below (the journal's file among them).
      await statusPage?.stop();
      power.stop();
      jobs.close();
      deviceMonitor.stop();
      await pushProxy?.stop();
      link.stop();
      await devices.close();
      await journal.stop();
      await mqtt?.stop();
    },
  };
}

import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import { type GatewayConfig, loadGatewayConfig } from '../config/gateway-config.ts';
import { EventBus } from '../lifecycle/event-bus.ts';
import { startFeatures } from '../lifecycle/feature.ts';
import type { Logger } from '../log/logger.ts';
import type { Push } from '../protocol/messages.ts';
import { VERSION } from '../version.ts';
import { ControlFeature } from './control/control-feature.ts';
import type { DeviceMonitor } from './devices/device-monitor.ts';
import type { DeviceRegistry } from './devices/device-registry.ts';
import { DevicesFeature } from './devices/devices-feature.ts';
import type { GatewayContext, GatewayEvents } from './gateway-context.ts';
import { HeapTrimFeature } from './host/heap-trim-feature.ts';
import { loadOrCreateClientId } from './identity/client-id.ts';
import type { JobTunnels } from './jobs/job-tunnels.ts';
import { JobsFeature } from './jobs/jobs-feature.ts';
import type { GatewayJournal } from './journal/gateway-journal.ts';
import { JournalFeature } from './journal/journal-feature.ts';
import { cloudAccess } from './link/cloud-access.ts';
import type { LineSupervisor, LinkStatus } from './link/line-supervisor.ts';
import { LinkFeature } from './link/link-feature.ts';
import { describeProxy } from './link/proxy.ts';
import { LoadFeature } from './load/load-feature.ts';
import type { MqttChannel } from './mqtt/mqtt-channel.ts';
import { MqttFeature } from './mqtt/mqtt-feature.ts';
import { PowerFeature } from './power/power-feature.ts';
import type { PowerScheduler } from './power/power-scheduler.ts';
import { PushIntake } from './push/push-intake.ts';
import type { PushProxy } from './push-proxy/push-proxy.ts';
import { directRelayFor, PushProxyFeature } from './push-proxy/push-proxy-feature.ts';
import { ConfigReloader } from './reload/config-reload.ts';
import { StatusFeature } from './status/status-feature.ts';
import type { StatusPage } from './status/status-page.ts';
import type { TunnelEndpoint } from './tunnels/tunnel-endpoint.ts';
import { TunnelsFeature } from './tunnels/tunnels-feature.ts';

/** A running gateway daemon. */
export interface GatewayDaemon {
  readonly clientId: string;
  /** What the features tell each other (docs/architecture.md). */
  readonly events: EventBus<GatewayEvents>;
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
  /**
   * What else runs in this process (the demo: "the demo’s cloud and firewall"): the status
   * page then does not pass the process's memory off as the gateway's.
   */
  sharedProcess?: string;
}

/**
 * The gateway's composition root: builds each feature with the parts it needs, then starts
 * them in order (each guarded) and stops them in reverse. Features talk through the event
 * bus; a new one goes in its own folder (docs/architecture.md).
 */
export async function startGateway(config: GatewayConfig, deps: GatewayDeps): Promise<GatewayDaemon> {
  const env = deps.env ?? process.env;
  const logger = deps.logger.child({ gateway: config.gateway.id });
  const bus = new EventBus<GatewayEvents>(logger);
  const ctx: GatewayContext = {
    config,
    clock: deps.clock ?? systemClock,
    logger,
    bus,
    env,
    clientId: loadOrCreateClientId(config.gateway.stateDir),
    software: `mfp-gateway/${VERSION}`,
  };
  // First listener of a reload: later ones log at the new level.
  bus.on('daemon', 'config-reloaded', (next) => {
    deps.logger.level = next.log.level;
  });
  const access = cloudAccess(config.cloud, env);
  const pushes = new PushIntake(logger, deps.onPush);
  const power = new PowerFeature(ctx);
  const journal = new JournalFeature(ctx);
  const devices = new DevicesFeature(ctx, power.scheduler);
  const relay = config.pushProxy ? directRelayFor(ctx, config.pushProxy, access) : null;
  const load = new LoadFeature(ctx);
  const heapTrim = new HeapTrimFeature(ctx);
  const jobs = new JobsFeature(ctx, {
    devices: devices.registry,
    relayDirect: relay ? (jobId, cloudUrl) => relay.route(jobId, cloudUrl) : undefined,
    lineMeter: load.meter.line,
  });
  const tunnels = new TunnelsFeature(ctx, { devices: devices.registry, jobs: jobs.jobs });
  const proxiedDevices = config.pushProxy?.devices.map((d) => d.id);
  const link = new LinkFeature(ctx, {
    access,
    power: power.scheduler,
    onPush: (push) => pushes.take(push, 'websocket'),
    onTunnel: (request) => tunnels.endpoint.handle(request),
    devices: () => devices.registry.reports(),
    proxiedDevices: proxiedDevices ? () => proxiedDevices : undefined,
    load: () => load.meter.report(),
    jobsRunning: () => jobs.jobs.activeJobs > 0,
  });
  const pushProxy =
    config.pushProxy && relay
      ? new PushProxyFeature(ctx, {
          settings: config.pushProxy,
          relay,
          open: (target) => link.supervisor.openStream(target),
        })
      : null;
  const { configFile } = deps;
  const reloader = configFile
    ? new ConfigReloader({
        file: configFile,
        inForce: config,
        logger,
        load: (file) => loadGatewayConfig(file, { env }),
        apply: (next) => bus.emit('config-reloaded', next),
      })
    : null;
  const mqtt = config.mqtt
    ? new MqttFeature(ctx, {
        settings: config.mqtt,
        link: link.supervisor,
        power: power.scheduler,
        tunnels: tunnels.endpoint,
        jobs: jobs.jobs,
        devices: devices.monitor,
        reloader,
        onPush: (push) => pushes.take(push, 'mqtt'),
        load: () => load.meter.report(),
      })
    : null;
  const status = new StatusFeature(ctx, {
    link: link.supervisor,
    power: power.scheduler,
    mqtt: mqtt?.channel ?? null,
    pushesReceived: () => pushes.received(),
    deviceMonitor: devices.monitor,
    tunnels: tunnels.endpoint,
    jobs: jobs.jobs,
    journal: journal.journal.store,
    pushProxy: pushProxy?.proxy ?? null,
    sharedProcess: deps.sharedProcess ?? null,
  });
  const control = new ControlFeature(ctx, {
    cloud: new URL(config.cloud.url).origin,
    proxy: access.proxy ? describeProxy(access.proxy) : null,
    link: link.supervisor,
    power: power.scheduler,
    deviceMonitor: devices.monitor,
    tunnels: tunnels.endpoint,
    jobs: jobs.jobs,
    statusPage: () => status.page,
  });
  logger.info(
    {
      clientId: ctx.clientId,
      cloud: new URL(config.cloud.url).origin,
      proxy: access.proxy ? describeProxy(access.proxy) : null,
      domain: link.domain,
      mode: power.scheduler.mode().name,
      timeZone: config.power.timezone,
      lines: config.cloud.connections,
    },
    'gateway starting',
  );
  // Stopped in reverse: the control socket and the page first (they read the journal's
  // file), MQTT last (it ships the records of the tunnels that close as the lines stop).
  const started = await startFeatures(
    [heapTrim, mqtt, journal, devices, load, link, jobs, tunnels, pushProxy, power, status, control].filter(
      (f) => f !== null,
    ),
    { logger, bus },
  );
  return {
    clientId: ctx.clientId,
    events: bus,
    link: link.supervisor,
    tunnels: tunnels.endpoint,
    devices: devices.registry,
    jobs: jobs.jobs,
    deviceMonitor: devices.monitor,
    journal: journal.journal,
    power: power.scheduler,
    mqtt: mqtt?.channel ?? null,
    statusPage: status.page,
    pushProxy: pushProxy?.proxy ?? null,
    status: () => ({
      ...link.supervisor.status(),
      gatewayId: config.gateway.id,
      powerMode: power.scheduler.mode().name,
    }),
    stop: () => started.stop(),
  };
}

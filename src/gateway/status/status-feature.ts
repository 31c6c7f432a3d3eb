import { inConfigUnits } from '../../config/config-units.ts';
import { type GatewayConfig, gatewayConfigSchema } from '../../config/gateway-config.ts';
import type { Feature } from '../../lifecycle/feature.ts';
import { maskSecrets } from '../../secrets/mask.ts';
import { VERSION } from '../../version.ts';
import type { DeviceMonitor } from '../devices/device-monitor.ts';
import type { GatewayContext } from '../gateway-context.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { TunnelJournal } from '../journal/tunnel-journal.ts';
import type { MqttChannel } from '../mqtt/mqtt-channel.ts';
import type { PowerScheduler } from '../power/power-scheduler.ts';
import type { PushProxy } from '../push-proxy/push-proxy.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import { watchActivity } from './activity-watch.ts';
import { gatewayProviders } from './gateway-providers.ts';
import { type StatusPage, startStatusPage } from './status-page.ts';
import type { LinkEvents, StatusPageContext } from './status-page-context.ts';

/** The daemon's parts the page reads (it owns none of them). */
export interface StatusParts {
  link: LinkEvents;
  power: PowerScheduler;
  mqtt: MqttChannel | null;
  /** Pushes handed on so far, per line kind. */
  pushesReceived: () => { websocket: number; mqtt: number };
  deviceMonitor: DeviceMonitor;
  tunnels: TunnelEndpoint;
  jobs: JobTunnels;
  journal: TunnelJournal;
  /** The LAN push proxy; null when `pushProxy` is not configured: its section stays hidden. */
  pushProxy: PushProxy | null;
  /** What else runs in this process (GatewayDeps.sharedProcess), or null. */
  sharedProcess?: string | null;
}

/**
 * The local web status page (unless `status.enabled` is false), told of `device-change`,
 * `tunnel-opened` and `tunnel-closed` (and ticking while tunnels run). The page is a window on
 * the gateway, not part of its job: when it cannot start, the gateway runs on without it.
 */
export class StatusFeature implements Feature {
  readonly name = 'status-page';
  private readonly ctx: GatewayContext;
  private readonly parts: StatusParts;
  private running: { page: StatusPage; stopWatching: () => void } | null = null;

  constructor(ctx: GatewayContext, parts: StatusParts) {
    this.ctx = ctx;
    this.parts = parts;
  }

  /** The page, once started (null when disabled or it could not start). */
  get page(): StatusPage | null {
    return this.running?.page ?? null;
  }

  start(): void {
    const { ctx, parts } = this;
    if (!ctx.config.status.enabled) return;
    try {
      const page = startStatusPage(pageContext(ctx, parts));
      const stopWatching = watchActivity(
        { clock: ctx.clock, events: ctx.bus, owner: this.name, ...parts },
        () => page.noteChange(),
      );
      this.running = { page, stopWatching };
    } catch (err) {
      ctx.logger.error(
        { err: (err as Error).message },
        'status page cannot start (are its files installed in dist/public?); the gateway runs on without it',
      );
    }
  }

  async stop(): Promise<void> {
    const { running } = this;
    this.running = null;
    running?.stopWatching();
    await running?.page.stop();
  }
}

function pageContext(ctx: GatewayContext, parts: StatusParts): StatusPageContext {
  const { config, clock, logger } = ctx;
  const { mqtt } = parts;
  const broker = brokerOrigin(config);
  return {
    clock,
    logger,
    settings: config.status,
    link: parts.link,
    powerModes: Object.keys(config.power.modes),
    power: parts.power,
    sources: {
      gatewayId: config.gateway.id,
      clientId: ctx.clientId,
      version: VERSION,
      startedAt: clock.now(),
      cloud: new URL(config.cloud.url).origin,
      stateDir: config.gateway.stateDir,
      power: () => parts.power.state(),
      mqtt: () => (mqtt && broker ? { broker, connected: mqtt.connected } : null),
      pushesReceived: parts.pushesReceived,
      // In the file's own units (durations as "45s"), secrets masked: what an admin would write.
      settings: inConfigUnits(gatewayConfigSchema, maskSecrets(config)),
      providers: gatewayProviders({ clock, logger, ...parts }),
      sharedProcess: parts.sharedProcess ?? null,
    },
  };
}

/** The broker's scheme, host and port (mqtt:// and mqtts:// are not "special" URL schemes: their origin is "null"). */
function brokerOrigin(config: GatewayConfig): string | null {
  const url = config.mqtt ? new URL(config.mqtt.url) : null;
  return url ? `${url.protocol}//${url.host}` : null;
}

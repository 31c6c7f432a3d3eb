import type { Clock } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import { VERSION } from '../../version.ts';
import type { DeviceMonitor } from '../devices/device-monitor.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { TunnelJournal } from '../journal/tunnel-journal.ts';
import type { MqttChannel } from '../mqtt/mqtt-channel.ts';
import type { PowerScheduler } from '../power/power-scheduler.ts';
import type { PushProxy } from '../push-proxy/push-proxy.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import { watchActivity } from './activity-watch.ts';
import { gatewayProviders } from './gateway-providers.ts';
import { maskSecrets } from './mask-config.ts';
import { NO_PROVIDERS } from './status-model.ts';
import { type LinkEvents, type StatusPage, type StatusPageContext, startStatusPage } from './status-page.ts';

/** The daemon's devices, tunnels, jobs, journal and push proxy, which the page lists. */
export interface ActivityParts {
  deviceMonitor: DeviceMonitor;
  tunnels: TunnelEndpoint;
  jobs: JobTunnels;
  journal: TunnelJournal;
  /** The LAN push proxy; null (or absent) when `pushProxy` is not configured: its section stays hidden. */
  pushProxy?: PushProxy | null;
}

/** The daemon's parts the page reads (it owns none of them). */
export interface DaemonParts {
  clock: Clock;
  logger: Logger;
  clientId: string;
  link: LinkEvents;
  power: PowerScheduler;
  mqtt: MqttChannel | null;
  /** Pushes handed on so far, per line kind. */
  pushesReceived: () => { websocket: number; mqtt: number };
  /** Devices, tunnels, jobs, the journal and the push proxy; without them those sections stay empty. */
  activity?: ActivityParts;
}

/** Starts the status page of a daemon from its config (null when `status.enabled` is false). */
export function startDaemonStatusPage(config: GatewayConfig, parts: DaemonParts): StatusPage | null {
  if (!config.status.enabled) return null;
  try {
    const page = startStatusPage(pageContext(config, parts));
    const { activity } = parts;
    if (!activity) return page;
    const stopWatching = watchActivity({ clock: parts.clock, ...activity }, () => page.noteChange());
    return {
      ...page,
      async stop() {
        stopWatching();
        await page.stop();
      },
    };
  } catch (err) {
    // The page is a window on the gateway, not part of its job: without it the lines run on.
    parts.logger.error(
      { err: (err as Error).message },
      'status page cannot start (are its files installed in dist/public?); the gateway runs on without it',
    );
    return null;
  }
}

function pageContext(config: GatewayConfig, parts: DaemonParts): StatusPageContext {
  const { mqtt } = parts;
  // mqtt:// and mqtts:// are not "special" URL schemes: their origin is "null".
  const brokerUrl = config.mqtt ? new URL(config.mqtt.url) : null;
  const broker = brokerUrl ? `${brokerUrl.protocol}//${brokerUrl.host}` : null;
  return {
    clock: parts.clock,
    logger: parts.logger,
    settings: config.status,
    link: parts.link,
    powerModes: Object.keys(config.power.modes),
    power: parts.power,
    sources: {
      gatewayId: config.gateway.id,
      clientId: parts.clientId,
      version: VERSION,
      startedAt: parts.clock.now(),
      cloud: new URL(config.cloud.url).origin,
      stateDir: config.gateway.stateDir,
      power: () => parts.power.state(),
      mqtt: () => (mqtt && broker ? { broker, connected: mqtt.connected } : null),
      pushesReceived: parts.pushesReceived,
      settings: maskSecrets(config),
      providers: parts.activity
        ? gatewayProviders({ clock: parts.clock, logger: parts.logger, ...parts.activity })
        : NO_PROVIDERS,
    },
  };
}

import type { Clock } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import { VERSION } from '../../version.ts';
import type { MqttChannel } from '../mqtt/mqtt-channel.ts';
import type { PowerScheduler } from '../power/power-scheduler.ts';
import { maskSecrets } from './mask-config.ts';
import { NO_PROVIDERS, type StatusProviders } from './status-model.ts';
import { type LinkEvents, type StatusPage, type StatusPageContext, startStatusPage } from './status-page.ts';

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
  /** Devices, tunnels and jobs; none until those features are wired into the daemon. */
  providers?: StatusProviders;
}

/** Starts the status page of a daemon from its config (null when `status.enabled` is false). */
export function startDaemonStatusPage(config: GatewayConfig, parts: DaemonParts): StatusPage | null {
  if (!config.status.enabled) return null;
  try {
    return startStatusPage(pageContext(config, parts));
  } catch (err) {
    // The page is a window on the gateway, not part of its job: without it the lines run on.
    parts.logger.error(
      { err: (err as Error).message },
      'status page cannot start (are its files installed beside dist/gateway/status?); the gateway runs on without it',
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
      providers: parts.providers ?? NO_PROVIDERS,
    },
  };
}

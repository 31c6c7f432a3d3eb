import type { Clock } from '../clock/clock.ts';
import type { GatewayConfig } from '../config/gateway-config.ts';
import type { EventBus } from '../lifecycle/event-bus.ts';
import type { Logger } from '../log/logger.ts';
import type { GatewayLoadReport } from '../protocol/messages.ts';
import type { DeviceSnapshot } from './devices/device-monitor.ts';
import type { PowerState } from './power/power-scheduler.ts';
import type { OpenedTunnel, TunnelRecord } from './tunnels/tunnel-endpoint.ts';

/** What the gateway's features tell each other (docs/architecture.md lists who emits and who listens). */
export interface GatewayEvents {
  /** The power mode in force changed, or its definition did (a reload). */
  'power-mode': PowerState;
  /** A push line opened, closed or changed its keep-alive, or probing began or ended. */
  'link-change': undefined;
  /** A device's state or reasons changed. */
  'device-change': DeviceSnapshot;
  /** A tunnel was accepted and relays now. */
  'tunnel-opened': OpenedTunnel;
  /** A tunnel finished: its record, once. */
  'tunnel-closed': TunnelRecord;
  /** A record the journal stored, handed on for shipping (`{ kind: 'tunnel' | 'device-log', … }`). */
  'journal-record': Record<string, unknown>;
  /** A config reload validated: the new config, whose live keys each feature applies. */
  'config-reloaded': GatewayConfig;
  /** The gateway's CPU usage and line speed, sampled every second (seed 001's triggers). */
  'load-sample': GatewayLoadReport;
}

/** What every gateway feature is built with. */
export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly clock: Clock;
  /** The gateway's logger (tagged with its id); features make their own children. */
  readonly logger: Logger;
  readonly bus: EventBus<GatewayEvents>;
  /** The environment the config's overrides and the proxy settings were read from. */
  readonly env: NodeJS.ProcessEnv;
  /** This box's lasting id (kept in the state dir), told to the cloud in every hello. */
  readonly clientId: string;
  /** `mfp-gateway/<version>`, told to the cloud and the broker. */
  readonly software: string;
}

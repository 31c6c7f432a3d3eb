import type { Clock } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import type { LinkSource } from '../systemd/service-notifier.ts';
import type { PowerControl } from './power-override-routes.ts';
import type { StatusSources } from './status-model.ts';

/** The `status` section of the gateway config. */
export type StatusSettings = GatewayConfig['status'];

/** The link as the page needs it: its state and its change events (as systemd's notifier does). */
export type LinkEvents = LinkSource;

export interface StatusPageContext {
  clock: Clock;
  /** The daemon's logger: its lines (and its children's) also feed the page's log view. */
  logger: Logger;
  settings: StatusSettings;
  sources: Omit<StatusSources, 'link' | 'powerModes' | 'powerOverride'>;
  link: LinkEvents;
  /** Names of the configured power modes (the power-mode metric, the override's choices). */
  powerModes: readonly string[];
  /** Where the page's power override goes; without it the page only shows the mode. */
  power?: PowerControl;
}

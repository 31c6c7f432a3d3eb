import { systemClock } from '../../clock/system-clock.ts';
import type { ConfigError } from '../../config/config-error.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import type { LineSupervisor } from '../link/line-supervisor.ts';
import { notifySystemd, type SystemdHandle } from '../systemd/service-notifier.ts';
import { LinkRelay } from './link-relay.ts';

/** When `run` serves the setup page instead of exiting on a config error. */
export type SetupPageWhen = 'auto' | 'on' | 'off';

/**
 * 'auto': under systemd only ($NOTIFY_SOCKET), where exiting leaves a box nobody can fix
 * from a browser; at a terminal the printed errors are quicker.
 */
export function wantsSetupPage(when: SetupPageWhen, env: NodeJS.ProcessEnv = process.env): boolean {
  return when === 'on' || (when === 'auto' && Boolean(env.NOTIFY_SOCKET));
}

/** A config that setup mode obtained, and systemd's notifier to hand over to the daemon. */
export interface SetupOutcome {
  config: GatewayConfig;
  /** Lets the systemd notifier follow the daemon's link from now on. */
  handOver(link: LineSupervisor): SystemdHandle;
}

/**
 * Serves the setup page until the config is valid, telling systemd the service is up
 * meanwhile; stops the page (freeing its port for the status page) and returns the config.
 */
export async function runSetupMode(options: {
  configFile: string;
  error: ConfigError;
  logger: Logger;
  /** `run --listen`: where the setup page listens instead of the config's status.listen. */
  listen?: { host: string; port: number };
}): Promise<SetupOutcome> {
  // Loaded only here: a box with a valid config never pays for the setup page's web stack.
  const { peekSetupSettings, startSetupPage } = await import('./setup-page.ts');
  const relay = new LinkRelay();
  const systemd = notifySystemd(relay, { logger: options.logger });
  const page = startSetupPage({
    clock: systemClock,
    logger: options.logger,
    configFile: options.configFile,
    issues: options.error.issues,
    settings: {
      ...peekSetupSettings(options.configFile),
      ...(options.listen ? { listen: options.listen } : {}),
    },
  });
  const config = await page.configured;
  await page.stop();
  return {
    config,
    handOver(link) {
      relay.attach(link);
      return systemd;
    },
  };
}

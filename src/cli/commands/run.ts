import { Command } from 'commander';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import { importBootConfig, reportBootConfig } from '../../gateway/first-boot/boot-config.ts';
import { startGateway } from '../../gateway/gateway-daemon.ts';
import { notifySystemd } from '../../gateway/systemd/service-notifier.ts';
import { createLogger } from '../../log/logger.ts';
import { exitOnConfigError, stopOnSignal } from '../lifecycle.ts';

/** `mfp-gateway run --config FILE`: the gateway daemon. */
export function runCommand(): Command {
  return new Command('run')
    .description('run the gateway daemon: keep push lines to the cloud open through the site’s middleboxes')
    .requiredOption('-c, --config <file>', 'gateway config file (YAML)', process.env.MFPGW_CONFIG)
    .option(
      '--first-boot-only',
      'only import a valid mfp-gateway.yaml from the boot partition into --config, then exit ' +
        '(the service runs this as root before the daemon)',
    )
    .addHelpText(
      'after',
      `
Environment:
  MFPGW_CLOUD_TOKEN   overrides cloud.token
  MFPGW_PROXY         overrides cloud.proxy (else HTTPS_PROXY / NO_PROXY)
  MFPGW_LOG_LEVEL     log level when the config sets none
  MFPGW_BOOT_CONFIG   first-boot config to import (default /boot/firmware/mfp-gateway.yaml)
  NOTIFY_SOCKET, WATCHDOG_USEC   set by systemd (Type=notify, WatchdogSec=)

Example:
  mfp-gateway run --config /etc/mfp-gateway/gateway.yaml`,
    )
    .action((opts: { config: string; firstBootOnly?: boolean }) => {
      reportBootConfig(importBootConfig({ configFile: opts.config }), createLogger());
      if (opts.firstBootOnly) return;
      let config: ReturnType<typeof loadGatewayConfig>;
      try {
        config = loadGatewayConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const logger = createLogger({ level: config.log.level });
      const daemon = startGateway(config, { logger });
      const systemd = notifySystemd(daemon.link, { logger });
      stopOnSignal(async () => {
        await systemd.stopping();
        await daemon.stop();
      }, logger);
    });
}

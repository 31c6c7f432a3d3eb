import { Command, Option } from 'commander';
import { ConfigError } from '../../config/config-error.ts';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import { importBootConfig, reportBootConfig } from '../../gateway/first-boot/boot-config.ts';
import { startGateway } from '../../gateway/gateway-daemon.ts';
import {
  runSetupMode,
  type SetupOutcome,
  type SetupPageWhen,
  wantsSetupPage,
} from '../../gateway/status/setup-mode.ts';
import { notifySystemd } from '../../gateway/systemd/service-notifier.ts';
import { createLogger } from '../../log/logger.ts';
import { hostPortArg } from '../arguments.ts';
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
    .addOption(
      new Option(
        '--setup-page <when>',
        'on a missing or invalid config, serve a setup page (the errors, or an onboarding form) instead of ' +
          'exiting with status 78: auto = under systemd only',
      )
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option(
      '--listen <host:port>',
      'where the setup page listens (setup mode only; default: status.listen from the config when readable, ' +
        'else 0.0.0.0:8080), e.g. 127.0.0.1:8080 to keep it on this machine',
      hostPortArg,
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
    .action(
      async (opts: {
        config: string;
        firstBootOnly?: boolean;
        setupPage: SetupPageWhen;
        listen?: { host: string; port: number };
      }) => {
        reportBootConfig(importBootConfig({ configFile: opts.config }), createLogger());
        if (opts.firstBootOnly) return;
        let config: ReturnType<typeof loadGatewayConfig>;
        let setup: SetupOutcome | null = null;
        try {
          config = loadGatewayConfig(opts.config);
        } catch (err) {
          if (!(err instanceof ConfigError) || !wantsSetupPage(opts.setupPage)) exitOnConfigError(err);
          process.stderr.write(`${err.message}\n`);
          setup = await runSetupMode({
            configFile: opts.config,
            error: err,
            logger: createLogger(),
            ...(opts.listen ? { listen: opts.listen } : {}),
          });
          config = setup.config;
        }
        const logger = createLogger({ level: config.log.level });
        const daemon = await startGateway(config, { logger, configFile: opts.config });
        const systemd = setup ? setup.handOver(daemon.link) : notifySystemd(daemon.link, { logger });
        stopOnSignal(async () => {
          await systemd.stopping();
          await daemon.stop();
        }, logger);
      },
    );
}

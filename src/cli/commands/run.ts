import { Command } from 'commander';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import { startGateway } from '../../gateway/gateway-daemon.ts';
import { createLogger } from '../../log/logger.ts';
import { exitOnConfigError, stopOnSignal } from '../lifecycle.ts';

/** `mfp-gateway run --config FILE`: the gateway daemon. */
export function runCommand(): Command {
  return new Command('run')
    .description('run the gateway daemon: keep push lines to the cloud open through the site’s middleboxes')
    .requiredOption('-c, --config <file>', 'gateway config file (YAML)', process.env.MFPGW_CONFIG)
    .addHelpText(
      'after',
      `
Environment:
  MFPGW_CLOUD_TOKEN   overrides cloud.token
  MFPGW_PROXY         overrides cloud.proxy (else HTTPS_PROXY / NO_PROXY)
  MFPGW_LOG_LEVEL     log level when the config sets none

Example:
  mfp-gateway run --config /etc/mfp-gateway/gateway.yaml`,
    )
    .action((opts: { config: string }) => {
      let config: ReturnType<typeof loadGatewayConfig>;
      try {
        config = loadGatewayConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const logger = createLogger({ level: config.log.level });
      const daemon = startGateway(config, { logger });
      stopOnSignal(() => daemon.stop(), logger);
    });
}

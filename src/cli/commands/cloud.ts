import { Command } from 'commander';
import { startCloudServer } from '../../cloud/cloud-server.ts';
import { loadCloudConfig } from '../../config/cloud-config.ts';
import { createLogger } from '../../log/logger.ts';
import { exitOnConfigError, stopOnSignal } from '../lifecycle.ts';

/** `mfp-gateway cloud --config FILE`: the reference cloud server. */
export function cloudCommand(): Command {
  return new Command('cloud')
    .description('run the reference cloud server: push endpoint, keep-alive learning and HTTP API')
    .requiredOption('-c, --config <file>', 'cloud config file (YAML)', process.env.MFPGW_CLOUD_CONFIG)
    .addHelpText(
      'after',
      `
Environment:
  MFPGW_API_TOKEN     overrides api.token

Example:
  mfp-gateway cloud --config cloud.yaml
  curl -H "Authorization: Bearer $MFPGW_API_TOKEN" http://localhost:8443/api/v1/gateways/office-1`,
    )
    .action(async (opts: { config: string }) => {
      let config: ReturnType<typeof loadCloudConfig>;
      try {
        config = loadCloudConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const logger = createLogger({ level: config.log.level });
      const server = await startCloudServer(config, { logger });
      stopOnSignal(() => server.stop(), logger);
    });
}

import { chownSync, closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type ConfigIssue, describeIssue } from '../../config/config-error.ts';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import { writeFileAtomic } from '../../storage/atomic-file.ts';

/**
 * Where a person puts a gateway config after flashing the SD card: the FAT boot partition,
 * editable on any PC (like Raspberry Pi Imager's settings). Raspberry Pi OS mounts it at
 * /boot/firmware since bookworm.
 */
export const DEFAULT_BOOT_CONFIG = '/boot/firmware/mfp-gateway.yaml';

/** Environment variable that points at another boot config file (tests, other boards). */
export const BOOT_CONFIG_ENV = 'MFPGW_BOOT_CONFIG';

/**
 * Mode of the imported config: it holds the cloud token, so only its owner (root) and the
 * directory's group (the service's group, set by board/install.sh) may read it.
 */
export const IMPORTED_CONFIG_MODE = 0o640;

/** What became of the boot partition's config. */
export type FirstBootResult =
  | { outcome: 'absent'; bootFile: string }
  | { outcome: 'imported'; bootFile: string; configFile: string; notRemoved?: string }
  | { outcome: 'invalid'; bootFile: string; issues: ConfigIssue[] }
  | { outcome: 'failed'; bootFile: string; configFile: string; reason: string };

export interface FirstBootOptions {
  /** The config file the daemon runs with (`run --config`). */
  configFile: string;
  /** Default: $MFPGW_BOOT_CONFIG, else DEFAULT_BOOT_CONFIG. */
  bootFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Imports a config left on the boot partition: a valid one replaces the config file
 * (secrets protected) and leaves the boot partition; an invalid one changes nothing, stays
 * where it is for the person to fix, and is reported key by key. Never throws for a
 * problem a person can fix, so a bad file cannot crash-loop the service.
 */
export function importBootConfig(options: FirstBootOptions): FirstBootResult {
  const env = options.env ?? process.env;
  const bootFile = options.bootFile ?? env[BOOT_CONFIG_ENV] ?? DEFAULT_BOOT_CONFIG;
  let text: string;
  try {
    text = readFileSync(bootFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'absent', bootFile };
    return { outcome: 'failed', bootFile, configFile: options.configFile, reason: (err as Error).message };
  }
  try {
    loadGatewayConfig(bootFile, { env });
  } catch (err) {
    if (err instanceof ConfigError) return { outcome: 'invalid', bootFile, issues: err.issues };
    throw err;
  }
  try {
    install(text, options.configFile);
  } catch (err) {
    return { outcome: 'failed', bootFile, configFile: options.configFile, reason: (err as Error).message };
  }
  // The boot partition is FAT and the config on another filesystem, so no rename(2): the
  // config is written atomically first, then the boot copy removed. A power cut in between
  // only means the same file is imported again on the next start.
  try {
    unlinkSync(bootFile);
    syncDir(dirname(bootFile));
  } catch (err) {
    return {
      outcome: 'imported',
      bootFile,
      configFile: options.configFile,
      notRemoved: (err as Error).message,
    };
  }
  return { outcome: 'imported', bootFile, configFile: options.configFile };
}

/** Writes the config with protected mode; as root, hands it to the config directory's group. */
function install(text: string, configFile: string): void {
  writeFileAtomic(configFile, text, IMPORTED_CONFIG_MODE);
  if (process.getuid?.() === 0) chownSync(configFile, 0, statSync(dirname(configFile)).gid);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Logs what happened to the boot config, in words that say what to do next. */
export function reportBootConfig(result: FirstBootResult, log: Logger): void {
  switch (result.outcome) {
    case 'absent':
      return;
    case 'imported':
      if (result.notRemoved) {
        log.warn(
          { bootFile: result.bootFile, configFile: result.configFile, reason: result.notRemoved },
          `first boot: imported the config, but could not delete ${result.bootFile}; delete it by hand, it holds the cloud token`,
        );
      } else {
        log.info(
          { bootFile: result.bootFile, configFile: result.configFile },
          'first boot: imported the config from the boot partition and removed it there',
        );
      }
      return;
    case 'invalid':
      log.error(
        { bootFile: result.bootFile, issues: result.issues },
        `first boot: ${result.bootFile} is not a valid gateway config; keeping the current config. ` +
          `Fix it and restart the service:\n${result.issues
            .map((i) => `  - ${describeIssue(i)}`)
            .join('\n')}`,
      );
      return;
    case 'failed':
      log.error(
        { bootFile: result.bootFile, configFile: result.configFile, reason: result.reason },
        'first boot: could not import the boot partition config; keeping the current config ' +
          '(the service imports it as root before starting: systemctl restart mfp-gateway)',
      );
      return;
  }
}

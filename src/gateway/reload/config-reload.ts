import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';

/**
 * Re-reading the config file while the daemon runs: which changes apply live, which wait for a
 * restart. The plan is pure; ConfigReloader reads the file and hands the live part to the daemon.
 */

/** Config keys (and everything under them) that a running gateway applies without a restart. */
export const LIVE_KEYS = ['power', 'mqtt.telemetry', 'log.level'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Dotted keys whose values differ; a list, or a section present on one side only, is one key. */
export function changedKeys(before: unknown, after: unknown, path = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) => changedKeys(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path || '(top level)'];
}

const isLive = (key: string): boolean => LIVE_KEYS.some((live) => key === live || key.startsWith(`${live}.`));

/** What a reload does: the changed keys it applies now, and the changed keys that need a restart. */
export interface ReloadPlan {
  live: string[];
  restart: string[];
}

/** Splits the differences between the config in force and the file's into live and restart-only. */
export function planReload(inForce: GatewayConfig, next: GatewayConfig): ReloadPlan {
  const changed = changedKeys(inForce, next);
  return { live: changed.filter(isLive), restart: changed.filter((k) => !isLive(k)) };
}

/** The config in force once the live part of `next` is applied (the rest stays until a restart). */
export function applyLive(inForce: GatewayConfig, next: GatewayConfig): GatewayConfig {
  const mqtt = inForce.mqtt && next.mqtt ? { ...inForce.mqtt, telemetry: next.mqtt.telemetry } : inForce.mqtt;
  return { ...inForce, power: next.power, log: { ...inForce.log, level: next.log.level }, mqtt };
}

/** The reply to a reload: what changed and was applied, what changed and waits for a restart. */
export type ReloadOutcome =
  | { ok: true; file: string; applied: string[]; needsRestart: string[] }
  | { ok: false; code: 'MFP_ERR_CONFIG'; message: string; issues: ConfigIssue[] };

export interface ConfigReloaderOptions {
  file: string;
  /** The config the daemon started with. */
  inForce: GatewayConfig;
  logger: Logger;
  /** Reads and validates the file; throws ConfigError. */
  load: (file: string) => GatewayConfig;
  /** Applies the live settings of a validated config (only called when some changed). */
  apply: (config: GatewayConfig) => void;
}

/**
 * Re-reads the gateway's config file on request: a file that does not validate changes
 * nothing and is answered with every problem (key, value, what was expected); a valid one has
 * its live keys applied at once and its other changes named as needing a restart.
 */
export class ConfigReloader {
  private readonly options: ConfigReloaderOptions;
  private inForce: GatewayConfig;

  constructor(options: ConfigReloaderOptions) {
    this.options = options;
    this.inForce = options.inForce;
  }

  /** The config as in force now (live changes applied, restart-only ones not). */
  get config(): GatewayConfig {
    return this.inForce;
  }

  reload(): ReloadOutcome {
    const { file, logger } = this.options;
    let next: GatewayConfig;
    try {
      next = this.options.load(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.warn({ file, issues: err.issues }, 'config not reloaded: the file is invalid; nothing changed');
      return { ok: false, code: 'MFP_ERR_CONFIG', message: err.message, issues: err.issues };
    }
    const plan = planReload(this.inForce, next);
    if (plan.live.length > 0) {
      this.options.apply(next);
      this.inForce = applyLive(this.inForce, next);
    }
    logger.info({ file, applied: plan.live, needsRestart: plan.restart }, 'config reloaded');
    return { ok: true, file, applied: plan.live, needsRestart: plan.restart };
  }
}

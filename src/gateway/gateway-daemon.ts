import { readFileSync } from 'node:fs';
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import type { GatewayConfig } from '../config/gateway-config.ts';
import type { Logger } from '../log/logger.ts';
import type { Push } from '../protocol/messages.ts';
import { VERSION } from '../version.ts';
import { cpuLoad, hostDomain, systemUptimeMs } from './host/host-info.ts';
import { loadOrCreateClientId } from './identity/client-id.ts';
import type { PowerMode } from './keepalive/power-policy.ts';
import { LineSupervisor, type LinkStatus } from './link/line-supervisor.ts';
import { describeProxy, proxyAgent, proxyFor } from './link/proxy.ts';

/** A running gateway daemon. */
export interface GatewayDaemon {
  readonly clientId: string;
  readonly link: LineSupervisor;
  status(): LinkStatus & { gatewayId: string; powerMode: string };
  stop(): Promise<void>;
}

export interface GatewayDeps {
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Receives every push once (after deduplication); resolve to acknowledge. */
  onPush?: (push: Push) => Promise<void> | void;
}

/** The power mode named in the config, as the keep-alive policy wants it. */
export function configuredMode(config: GatewayConfig): PowerMode {
  const mode = config.power.modes[config.power.mode];
  if (!mode) throw new Error(`power.mode "${config.power.mode}" is not in power.modes`);
  return {
    name: config.power.mode,
    minIntervalMs: mode.minInterval,
    changeThresholdMs: mode.changeThreshold,
  };
}

/**
 * The gateway's composition root: identity, proxy, push lines. Later features (tunnels,
 * devices, telemetry, status page) attach here without knowing each other's insides.
 */
export function startGateway(config: GatewayConfig, deps: GatewayDeps): GatewayDaemon {
  const clock = deps.clock ?? systemClock;
  const env = deps.env ?? process.env;
  const log = deps.logger.child({ gateway: config.gateway.id });
  const clientId = loadOrCreateClientId(config.gateway.stateDir);
  const target = new URL(config.cloud.url);
  const proxy = proxyFor(target, config.cloud.proxy, env);
  const ca = config.cloud.caFile ? readFileSync(config.cloud.caFile) : undefined;
  const domain = config.gateway.domain ?? hostDomain();
  const mode = configuredMode(config);
  const link = new LineSupervisor({
    clock,
    logger: log,
    gatewayId: config.gateway.id,
    clientId,
    token: config.cloud.token,
    url: config.cloud.url,
    agent: proxy ? proxyAgent(proxy) : undefined,
    ca,
    connections: config.cloud.connections,
    staggerMs: config.cloud.stagger,
    probeAllowed: config.cloud.probe,
    keepaliveDefaultMs: config.keepalive.default,
    answerTimeoutMs: config.keepalive.answerTimeout,
    backoff: {
      initialMs: config.reconnect.initialDelay,
      maxMs: config.reconnect.maxDelay,
      stableAfterMs: config.reconnect.stableAfter,
      authFailureDelayMs: config.reconnect.authFailureDelay,
    },
    software: `mfp-gateway/${VERSION}`,
    host: () => ({ domain, uptimeMs: systemUptimeMs(), cpuLoad: cpuLoad() }),
    mode: () => mode,
    onPush: async (push) => {
      log.info({ pushId: push.pushId, dataType: push.dataType }, 'push received');
      await deps.onPush?.(push);
    },
  });
  log.info(
    {
      clientId,
      cloud: target.origin,
      proxy: proxy ? describeProxy(proxy) : null,
      domain,
      mode: mode.name,
      lines: config.cloud.connections,
    },
    'gateway starting',
  );
  link.start();
  return {
    clientId,
    link,
    status: () => ({ ...link.status(), gatewayId: config.gateway.id, powerMode: mode.name }),
    async stop() {
      link.stop();
    },
  };
}

import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import { proxyAgent, proxyFor } from './proxy.ts';

/** How this gateway reaches the cloud: the push lines, and the direct connections it relays. */
export interface CloudAccess {
  /** The HTTP proxy the push lines go through (null: direct). */
  readonly proxy: URL | null;
  /** The CA of the cloud's certificate (`cloud.caFile`); undefined: the system's roots. */
  readonly ca: Buffer | undefined;
  /** The agent for a connection to `target`: through the site's proxy unless NO_PROXY spares it. */
  agentFor(target: URL): Agent | undefined;
}

/** Reads `cloud.caFile` and resolves the proxy (`cloud.proxy`, else the environment's) once. */
export function cloudAccess(cloud: GatewayConfig['cloud'], env: NodeJS.ProcessEnv): CloudAccess {
  return {
    proxy: proxyFor(new URL(cloud.url), cloud.proxy, env),
    ca: cloud.caFile ? readFileSync(cloud.caFile) : undefined,
    agentFor: (target) => {
      const via = proxyFor(target, cloud.proxy, env);
      return via ? proxyAgent(via) : undefined;
    },
  };
}

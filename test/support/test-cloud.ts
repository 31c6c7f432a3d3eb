/**
 * Test harness: one in-process cloud on loopback, with what every test cloud has in common
 * written once — the test's own settings say only what the test is about.
 */
import type { Clock } from '../../src/clock/clock.ts';
import { type CloudServer, startCloudServer } from '../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { type Logger, silentLogger } from '../../src/log/logger.ts';

export const GATEWAY_TOKEN = 't'.repeat(32);
export const API_TOKEN = 'a'.repeat(32);

/** Raw cloud config; `listen` is merged over the loopback default, the rest replaces it. */
export type TestCloudSettings = Record<string, unknown> & { listen?: Record<string, unknown> };

/**
 * Starts a cloud on 127.0.0.1, port 0, with API_TOKEN, gateway gw1 with GATEWAY_TOKEN, an
 * in-memory store and a silent logger, unless `settings` or `deps` say otherwise. The caller
 * stops it.
 */
export function startTestCloud(
  settings: TestCloudSettings = {},
  deps: { logger?: Logger; clock?: Clock } = {},
): Promise<CloudServer> {
  const { listen, ...rest } = settings;
  return startCloudServer(
    parseCloudConfig({
      api: { token: API_TOKEN },
      gateways: [{ id: 'gw1', token: GATEWAY_TOKEN }],
      store: { path: ':memory:' },
      ...rest,
      listen: { host: '127.0.0.1', port: 0, ...listen },
    }),
    { ...deps, logger: deps.logger ?? silentLogger() },
  );
}

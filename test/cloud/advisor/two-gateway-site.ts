import type { ManualClock } from '../../../src/clock/manual-clock.ts';
import { KeepaliveAdvisor } from '../../../src/cloud/advisor/keepalive-advisor.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { CloudLine } from '../../../src/cloud/push/cloud-line.ts';
import { GatewayDirectory } from '../../../src/cloud/push/gateway-directory.ts';
import type { LearningStore } from '../../../src/cloud/status/learning-store.ts';
import type { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';
import { silentLogger } from '../../../src/log/logger.ts';

export const SITE = 'example.co.jp|203.0.113.7';
export const SITE_GATEWAYS = ['gw-a', 'gw-b'] as const;

/**
 * gw-a and gw-b of one site, each with a push line here and known to the SQLite store, and an
 * advisor over them that reads `store` (the SQLite store itself unless told otherwise).
 */
export async function twoGatewaySite(options: {
  clock: ManualClock;
  sqlite: SqliteLearningStore;
  store?: LearningStore;
  probeEnabled: boolean;
}): Promise<KeepaliveAdvisor> {
  const { clock, sqlite } = options;
  const directory = new GatewayDirectory(clock);
  for (const id of SITE_GATEWAYS) {
    await sqlite.saveGateway({
      gatewayId: id,
      clientId: `${id}-client`,
      domain: 'example.co.jp',
      egressAddress: '203.0.113.7',
      siteKey: SITE,
      lastHelloAt: clock.now(),
    });
    directory.add(
      { gatewayId: id, connectionId: 'line-0', role: 'push', isOpen: true } as unknown as CloudLine,
      {
        gatewayId: id,
        clientId: `${id}-client`,
        domain: 'example.co.jp',
        siteKey: SITE,
        egressAddress: '203.0.113.7',
        uptimeAtHelloMs: 0,
        helloAt: clock.now(),
        cpuLoad: 0.1,
        powerMode: 'normal',
      },
    );
  }
  return new KeepaliveAdvisor({
    store: options.store ?? sqlite,
    directory,
    config: CONFIG,
    clock,
    logger: silentLogger(),
    probeEnabled: options.probeEnabled,
  });
}

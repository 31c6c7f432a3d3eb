import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { type GatewayDaemon, startGateway } from '../../../src/gateway/gateway-daemon.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { IdleFirewall } from '../../../src/sim/firewall/idle-firewall.ts';
import { scratchDir, secret } from '../../support/chain.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { startTestCloud } from '../../support/test-cloud.ts';

const defer = deferredTeardown();

/** Resolves once the link's state satisfies ok, checked at each of its change events. */
function linkReaches(daemon: GatewayDaemon, ok: (linesUp: number) => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!ok(daemon.link.status().linesUp)) return;
      daemon.link.off('change', check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      daemon.link.off('change', check);
      reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(daemon.link.status().lines)}`));
    }, 30_000);
    daemon.link.on('change', check);
    check();
  });
}

describe('GET /ready', () => {
  it('is 200 while a push line is up and 503 once the firewall blocks every line', async () => {
    const { dir, cleanup } = scratchDir('ready');
    defer(cleanup);
    const logger = silentLogger();
    const token = secret();
    const cloud = await startTestCloud(
      {
        api: { token: secret() },
        gateways: [{ id: 'gw1', token }],
        store: { path: join(dir, 'cloud.db') },
        keepalive: { default: '1s', min: '200ms' },
      },
      { logger },
    );
    defer(() => cloud.stop());
    const firewall = new IdleFirewall({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: '127.0.0.1', port: cloud.port },
      idleTimeoutMs: 60_000,
      onExpiry: 'silent',
      clock: systemClock,
    });
    const fw = await firewall.start();
    defer(() => firewall.stop());
    const gateway = await startGateway(
      parseGatewayConfig({
        gateway: { id: 'gw1', domain: 'a.test.example.co.jp', stateDir: join(dir, 'gateway') },
        cloud: { url: `ws://${fw.host}:${fw.port}/push`, token, stagger: '100ms', probe: false },
        keepalive: { answerTimeout: '1s' },
        reconnect: { initialDelay: '200ms', maxDelay: '1s' },
        status: { listen: { host: '127.0.0.1', port: 0 } },
      }),
      { logger },
    );
    defer(() => gateway.stop());
    const url = await gateway.statusPage?.ready;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const ready = async () => {
      const res = await fetch(`${url}ready`);
      return { status: res.status, body: (await res.json()) as { ready: boolean; linesUp: number } };
    };

    await linkReaches(gateway, (up) => up === 2, 'both push lines up');
    expect(await ready()).toEqual({ status: 200, body: { ready: true, linesUp: 2 } });

    firewall.setBlocked(true);
    await linkReaches(gateway, (up) => up === 0, 'every line down behind the blocking firewall');
    expect(await ready()).toEqual({ status: 503, body: { ready: false, linesUp: 0 } });
    expect((await fetch(`${url}health`)).status).toBe(200); // alive all the same
  });
});

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCloud, startGatewayProcess } from '../support/chain.ts';
import type { CliProcess } from '../support/cli-process.ts';
import { freePort } from '../support/free-port.ts';
import { processTeardown } from '../support/teardown.ts';

/** Packages only some sites configure; each costs megabytes on a 512 MB board when loaded at start. */
const ON_DEMAND = ['https-proxy-agent', 'mqtt', 'net-snmp', 'pino-pretty', 'serialport'];

const PROBE = fileURLToPath(new URL('../support/report-loaded-packages.ts', import.meta.url));
const probed = { nodeArgs: ['--import', PROBE] };

const { track, scratch } = processTeardown();

async function loadedPackages(gateway: CliProcess): Promise<{ packages: string[]; undici: boolean }> {
  gateway.child.kill('SIGUSR2');
  const line = await gateway.waitFor((l) => l.msg === 'loaded packages', 10_000, 'the package report');
  return line as unknown as { packages: string[]; undici: boolean };
}

describe('what a running gateway has loaded', () => {
  it('leaves the packages of unconfigured features, and Node’s bundled undici, unloaded', async () => {
    const dir = scratch('on-demand-default');
    const cloud = await startCloud(dir);
    track(cloud.proc);
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
        { status: { listen: { host: '127.0.0.1', port: await freePort() } } },
        {},
        probed,
      ),
    );
    await gateway.waitFor((l) => l.msg === 'line open', 20_000, 'a push line');

    const loaded = await loadedPackages(gateway);
    expect(loaded.packages).toEqual(expect.arrayContaining(['fastify', 'ws', 'zod']));
    expect(loaded.packages.filter((p) => ON_DEMAND.includes(p))).toEqual([]);
    expect(loaded.undici).toBe(false);
  }, 60_000);

  it('loads MQTT and the proxy agent once a site configures them', async () => {
    const dir = scratch('on-demand-configured');
    const gateway = track(
      startGatewayProcess(
        dir,
        {
          url: 'wss://cloud.invalid/push',
          token: 'x'.repeat(40),
          proxy: `http://127.0.0.1:${await freePort()}`,
        },
        { mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } },
        {},
        probed,
      ),
    );
    await gateway.waitFor((l) => l.msg === 'mqtt channel starting', 20_000, 'the MQTT channel');

    const loaded = await loadedPackages(gateway);
    expect(loaded.packages.filter((p) => ON_DEMAND.includes(p))).toEqual(['https-proxy-agent', 'mqtt']);
  }, 60_000);
});

import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { startCloud, startGatewayProcess } from '../support/chain.ts';
import type { CliProcess } from '../support/cli-process.ts';
import { freePort } from '../support/free-port.ts';
import { processTeardown } from '../support/teardown.ts';

/** Packages only some sites configure; each costs megabytes on a 512 MB board when loaded at start. */
const ON_DEMAND = ['https-proxy-agent', 'mqtt', 'net-snmp', 'pino-pretty', 'serialport'];
/** The status page's web stack, loaded when someone first asks the page for something. */
const STATUS_SITE = ['fastify', 'prom-client'];

const PROBE = fileURLToPath(new URL('../support/report-loaded-packages.ts', import.meta.url));
const probed = { nodeArgs: ['--import', PROBE] };

const { track, scratch } = processTeardown();

async function loadedPackages(gateway: CliProcess): Promise<{ packages: string[]; undici: boolean }> {
  const reports = gateway.lines.filter((l) => l.msg === 'loaded packages').length;
  gateway.child.kill('SIGUSR2');
  await vi.waitFor(() => {
    if (gateway.lines.filter((l) => l.msg === 'loaded packages').length <= reports)
      throw new Error('no report yet');
  }, 10_000);
  return gateway.lines.filter((l) => l.msg === 'loaded packages').at(-1) as unknown as {
    packages: string[];
    undici: boolean;
  };
}

/** A plain HTTP GET (node:http: fetch would load undici into this process, not the gateway). */
function get(url: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    })
      .on('error', reject)
      .end();
  });
}

describe('what a running gateway has loaded', () => {
  it('leaves the packages of unconfigured features, the status site and Node’s bundled undici unloaded', async () => {
    const dir = scratch('on-demand-default');
    const cloud = await startCloud(dir);
    track(cloud.proc);
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
        // Port 0, read back from the log: a port reserved with freePort() is free again until
        // the gateway binds it, and on a busy CI machine another process's bind can take it.
        { status: { listen: { host: '127.0.0.1', port: 0 } } },
        {},
        probed,
      ),
    );
    await gateway.waitFor((l) => l.msg === 'line open', 20_000, 'a push line');
    const page = await gateway.waitFor((l) => l.msg === 'status page listening', 20_000, 'the status page');

    const loaded = await loadedPackages(gateway);
    expect(loaded.packages).toEqual(expect.arrayContaining(['ws', 'zod']));
    expect(loaded.packages.filter((p) => [...ON_DEMAND, ...STATUS_SITE].includes(p))).toEqual([]);
    expect(loaded.undici).toBe(false);

    const health = await get(new URL('health', String(page.url)).href);
    expect(health.status).toBe(200);
    const afterVisit = await loadedPackages(gateway);
    expect(afterVisit.packages).toEqual(expect.arrayContaining(STATUS_SITE));
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

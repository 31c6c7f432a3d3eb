import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type CloudHandle, scratchDir, startCloud, writeYaml } from '../../support/chain.ts';
import { type CliProcess, eventually, startCli } from '../../support/cli-process.ts';

let procs: CliProcess[] = [];
let cleanups: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const c of cleanups) c();
  procs = [];
  cleanups = [];
});

/** A gateway config for the test cloud; `id` picks which gateway it claims to be. */
function gatewayConfig(dir: string, cloud: CloudHandle, id: string, extra: Record<string, unknown> = {}) {
  return {
    gateway: { id, domain: 'a.test.example.co.jp', stateDir: join(dir, 'state') },
    cloud: { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken, stagger: '300ms' },
    reconnect: { initialDelay: '200ms', maxDelay: '2s' },
    ...extra,
  };
}

async function setUp(name: string) {
  const { dir, cleanup } = scratchDir(name);
  cleanups.push(cleanup);
  // The cloud knows only gw1: a gateway still running as "gw-old" never connects.
  const cloud = await startCloud(dir);
  procs.push(cloud.proc);
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'boot'));
  return {
    dir,
    cloud,
    bootFile: join(dir, 'boot/mfp-gateway.yaml'),
    configFile: join(dir, 'etc/gateway.yaml'),
  };
}

function runGateway(configFile: string, bootFile: string): CliProcess {
  const proc = startCli(['run', '--config', configFile], { MFPGW_BOOT_CONFIG: bootFile });
  procs.push(proc);
  return proc;
}

const connected = (cloud: CloudHandle, id: string) =>
  eventually(
    async () => (await cloud.api<{ connections: unknown[] }>(`/api/v1/gateways/${id}`)).body,
    (s) => s.connections.length > 0,
    20_000,
    `gateway ${id} to connect`,
  );

describe('mfp-gateway run with a config on the boot partition', () => {
  it('imports a valid one, removes it from the boot partition and runs with it', async () => {
    const { dir, cloud, bootFile, configFile } = await setUp('first-boot-valid');
    writeYaml(join(dir, 'etc'), 'gateway.yaml', gatewayConfig(dir, cloud, 'gw-old'));
    const text = stringify(gatewayConfig(dir, cloud, 'gw1'));
    writeYaml(join(dir, 'boot'), 'mfp-gateway.yaml', gatewayConfig(dir, cloud, 'gw1'));

    const gateway = runGateway(configFile, bootFile);
    await connected(cloud, 'gw1');
    await gateway.waitFor((l) => /imported the config/.test(String(l.msg)), 5000, 'the import to be logged');
    expect(existsSync(bootFile)).toBe(false);
    expect(readFileSync(configFile, 'utf8')).toBe(text);
    expect(statSync(configFile).mode & 0o777).toBe(0o640);
  });

  it('keeps running with the old config on an invalid one, leaves it there and logs each problem', async () => {
    const { dir, cloud, bootFile, configFile } = await setUp('first-boot-invalid');
    writeYaml(join(dir, 'etc'), 'gateway.yaml', gatewayConfig(dir, cloud, 'gw1'));
    const before = readFileSync(configFile, 'utf8');
    writeYaml(
      join(dir, 'boot'),
      'mfp-gateway.yaml',
      gatewayConfig(dir, cloud, 'gw-old', { keepalive: { default: '45' } }),
    );

    const gateway = runGateway(configFile, bootFile);
    const logged = await gateway.waitFor(
      (l) => /not a valid gateway config/.test(String(l.msg)),
      10_000,
      'the invalid boot config to be logged',
    );
    expect(logged.issues).toEqual([
      { key: 'keepalive.default', value: '"45"', expected: expect.stringContaining('duration with a unit') },
    ]);
    await connected(cloud, 'gw1');
    expect(existsSync(bootFile)).toBe(true);
    expect(readFileSync(configFile, 'utf8')).toBe(before);
    expect(gateway.child.exitCode).toBeNull();
  });
});

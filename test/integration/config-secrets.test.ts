import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/secrets/password-hash.ts';
import { Browser } from '../gateway/status/page-harness.ts';
import { scratchDir, writeYaml } from '../support/chain.ts';
import { listeningPort, startCli } from '../support/cli-process.ts';
import { deferredTeardown } from '../support/teardown.ts';

/** Secrets a config may hold: none may reach the terminal, the journal, a page or a bundle. */
const PROXY_PASSWORD = 'proxy-pass-9f3e1';
const TYPO_VALUE = 'typo-held-token-5b2c7d';
const COMMUNITY = 'office-community-77a';
const TOKEN = 'cloud-token-never-shown-0123456789';

const defer = deferredTeardown();

function scratch(name: string): string {
  const { dir, cleanup } = scratchDir(name);
  defer(cleanup);
  return dir;
}

/** A config with every secret in the places the issue found them leaking, and errors. */
function brokenConfig(dir: string) {
  return {
    gateway: { id: 'gw1', stateDir: join(dir, 'state') },
    cloud: {
      url: 'ws://127.0.0.1:1/push',
      token: TOKEN,
      tokn: TYPO_VALUE,
      proxy: `socks5://office:${PROXY_PASSWORD}@192.0.2.8:1080`,
    },
    // Port 0, read back from the log: a port reserved with freePort() is free again until the
    // gateway binds it, and on a busy CI machine another process's bind can take it.
    status: { listen: { host: '127.0.0.1', port: 0 } },
  };
}

function expectNoSecret(text: string, where: string): void {
  for (const secret of [PROXY_PASSWORD, TYPO_VALUE, COMMUNITY, TOKEN]) {
    expect(text, `${where} shows a secret`).not.toContain(secret);
  }
}

describe('secrets in config errors', () => {
  it('are not printed to the terminal / journal by `run`, which exits 78', async () => {
    const dir = scratch('secrets-run');
    const file = writeYaml(dir, 'gateway.yaml', brokenConfig(dir));
    const run = startCli(['run', '--config', file, '--setup-page', 'off']);
    defer(() => run.stop());
    expect(await run.exited()).toBe(78);
    const out = run.stderr() + run.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(out).toContain('cloud.tokn');
    expect(out).toContain('cloud.proxy: got "socks5://office:***@192.0.2.8:1080"');
    expectNoSecret(out, 'the terminal');
  });

  it('are not shown by the setup page nor logged by setup mode', async () => {
    const dir = scratch('secrets-setup');
    const file = writeYaml(dir, 'gateway.yaml', brokenConfig(dir));
    const gateway = startCli(['run', '--config', file, '--setup-page', 'on']);
    defer(() => gateway.stop());
    const port = await listeningPort(gateway, /^setup mode/);
    const page = await new Browser(`http://127.0.0.1:${port}`).request('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<code>cloud.tokn</code>');
    expectNoSecret(page.text, 'the setup page');
    expectNoSecret(gateway.stderr() + JSON.stringify(gateway.lines), 'the journal');
  });
});

describe('secrets in the status page', () => {
  it('the settings and the diagnostics bundle mask the SNMP community, the token and the proxy password', {
    timeout: 60_000,
  }, async () => {
    const dir = scratch('secrets-page');
    const password = 'page password 1';
    const file = writeYaml(dir, 'gateway.yaml', {
      gateway: { id: 'gw1', stateDir: join(dir, 'state') },
      cloud: {
        url: 'ws://127.0.0.1:1/push',
        token: TOKEN,
        proxy: `http://office:${PROXY_PASSWORD}@127.0.0.1:1`,
      },
      status: { listen: { host: '127.0.0.1', port: 0 }, passwordHash: await hashPassword(password, 10) },
      devices: [
        {
          id: 'mfp-a',
          driver: 'pjl',
          host: '127.0.0.1',
          port: 1,
          statusEvery: '1h',
          snmp: { host: '127.0.0.1', port: 1, community: COMMUNITY, every: '1h' },
        },
      ],
    });
    const gateway = startCli(['run', '--config', file]);
    defer(() => gateway.stop());
    const port = await listeningPort(gateway, 'status page listening', 'url', 30_000);
    const browser = new Browser(`http://127.0.0.1:${port}`);
    await browser.login(password);

    const status = await browser.request('/api/status');
    expect(status.status).toBe(200);
    const settings = (JSON.parse(status.text) as { settings: { devices: { snmp: { community: string } }[] } })
      .settings;
    expect(settings.devices[0]?.snmp.community).toBe('***');
    expectNoSecret(status.text, '/api/status');

    const res = await fetch(`http://127.0.0.1:${port}/api/diagnostics`, {
      headers: { cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(res.status).toBe(200);
    writeFileSync(join(dir, 'bundle.tar.gz'), Buffer.from(await res.arrayBuffer()));
    const untar = spawnSync('tar', ['-xzf', 'bundle.tar.gz'], { cwd: dir, encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    const [top] = readdirSync(dir).filter((n) => n.startsWith('mfp-gateway-gw1-'));
    const config = readFileSync(join(dir, top as string, 'config.yaml'), 'utf8');
    expect(config).toContain('community: "***"');
    expectNoSecret(config, 'the diagnostics bundle');
  });
});

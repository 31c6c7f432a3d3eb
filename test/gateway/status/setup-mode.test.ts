import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { peekSetupSettings, startSetupPage } from '../../../src/gateway/status/setup-page.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { verifyPassword } from '../../../src/secrets/password-hash.ts';
import { scratchDir, writeYaml } from '../../support/chain.ts';
import { listeningPort, startCli } from '../../support/cli-process.ts';
import { freePort } from '../../support/free-port.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser } from './page-harness.ts';

const defer = deferredTeardown();

/** The setup page's config editor's text, unescaped. */
function textarea(html: string): string {
  const text = /<textarea[^>]*>([\s\S]*?)<\/textarea>/.exec(html)?.[1] ?? '';
  return text.replace(/&#(\d+);/g, (_all, code: string) => String.fromCharCode(Number(code)));
}

function scratch(name: string): string {
  const { dir, cleanup } = scratchDir(name);
  defer(cleanup);
  return dir;
}

describe('mfp-gateway run --setup-page on', () => {
  it('serves the config errors instead of exiting, and starts the gateway once the file is fixed', async () => {
    const dir = scratch('setup-invalid');
    const port = await freePort();
    const valid = {
      gateway: { id: 'gw1', stateDir: join(dir, 'state') },
      cloud: { url: 'ws://127.0.0.1:1/push', token: 't'.repeat(20) },
      status: { listen: { host: '127.0.0.1', port } },
    };
    const file = writeYaml(dir, 'gateway.yaml', { ...valid, keepalive: { default: '45' } });
    const gateway = startCli(['run', '--config', file, '--setup-page', 'on']);
    defer(() => gateway.stop());
    await gateway.waitFor(
      (l) => /^setup mode: the config has errors/.test(String(l.msg)),
      20_000,
      'setup mode',
    );
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.stderr()).toContain('keepalive.default: got "45"');

    const browser = new Browser(`http://127.0.0.1:${port}`);
    const page = await browser.request('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<code>keepalive.default</code>');
    expect(page.text).toContain('<code>&#34;45&#34;</code>');
    expect(page.text).toContain('a duration with a unit');
    expect((await browser.request('/ready')).status).toBe(503);

    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    expect((await browser.request('/setup/recheck', { form: { _csrf: 'forged' } })).status).toBe(403);
    const still = await browser.request('/setup/recheck', { form: { _csrf: token } });
    expect(still.status).toBe(422);
    expect(still.text).toContain('Still not valid');

    writeYaml(dir, 'gateway.yaml', valid);
    const fixed = await browser.request('/setup/recheck', { form: { _csrf: token } });
    expect(fixed.status).toBe(200);
    expect(fixed.text).toContain('the gateway is starting');
    await gateway.waitFor((l) => l.msg === 'gateway starting', 20_000, 'the gateway to start');
    await gateway.waitFor((l) => l.msg === 'status page listening', 20_000, 'the status page');
    const health = await browser.request('/health');
    expect(JSON.parse(health.text)).toMatchObject({ ok: true });
    expect(JSON.parse(health.text)).not.toHaveProperty('setup');
    expect((await browser.request('/')).headers.get('location')).toBe('/set-password');
  });

  it('edits the broken config in the page behind the setup code, on the --listen address', async () => {
    const dir = scratch('setup-edit');
    // The --listen port is what this test is about, so chosen before; the status page, which
    // takes over once the config is saved, binds port 0 and is found from its log line.
    const setupPort = await freePort();
    const stateDir = join(dir, 'state');
    const token = 'the-cloud-token-0123456789';
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `# office gateway
gateway: { id: gw1, stateDir: ${stateDir} }
cloud:
  url: ws://127.0.0.1:1/push
  token: ${token}   # from the cloud's console
status:
  listen: { host: 127.0.0.1, port: 0 }
keepalive: { default: 45 }
`,
    );
    // --listen: loopback on a port of its own, not the config's status.listen.
    const gateway = startCli([
      'run',
      '--config',
      file,
      '--setup-page',
      'on',
      '--listen',
      `127.0.0.1:${setupPort}`,
    ]);
    defer(() => gateway.stop());
    await gateway.waitFor(
      (l) => /^setup mode: the config has errors/.test(String(l.msg)),
      20_000,
      'setup mode',
    );
    const browser = new Browser(`http://127.0.0.1:${setupPort}`);
    const page = await browser.request('/');
    expect(page.status).toBe(200);
    const shown = textarea(page.text);
    // The file as it is, comments kept, the token hidden.
    expect(shown).toContain('# office gateway');
    expect(shown).toContain(`  token: "***"   # from the cloud's console`);
    expect(page.text).not.toContain(token);
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const fixed = shown.replace('keepalive: { default: 45 }', 'keepalive: { default: 45s }');
    const before = readFileSync(file, 'utf8');

    // No password yet: saving takes the one-time setup code.
    const noCode = await browser.request('/setup/save', { form: { _csrf, config: fixed } });
    expect(noCode.status).toBe(403);
    expect(textarea(noCode.text)).toBe(fixed.trim()); // the edits are kept
    expect(readFileSync(file, 'utf8')).toBe(before);
    const setupCode = readFileSync(join(stateDir, 'setup-code'), 'utf8').trim();

    // Still invalid: not written, the problems and the edits shown again.
    const invalid = shown.replace('keepalive: { default: 45 }', 'keepalive: { default: 45 minutes }');
    const refused = await browser.request('/setup/save', { form: { _csrf, setupCode, config: invalid } });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('<code>keepalive.default</code>');
    expect(textarea(refused.text)).toBe(invalid.trim());
    expect(readFileSync(file, 'utf8')).toBe(before);

    // Valid: written with the token kept where *** was left, and the gateway starts.
    const saved = await browser.request('/setup/save', { form: { _csrf, setupCode, config: fixed } });
    expect(saved.status).toBe(200);
    expect(saved.text).toContain('the gateway is starting');
    expect(readFileSync(file, 'utf8')).toBe(before.replace('default: 45 }', 'default: 45s }'));
    expect(statSync(file).mode & 0o777).toBe(0o640);
    const statusPort = await listeningPort(gateway, 'status page listening');
    expect((await fetch(`http://127.0.0.1:${statusPort}/health`)).status).toBe(200);
  });

  it('refuses a --listen that is not HOST:PORT', async () => {
    const gateway = startCli([
      'run',
      '--config',
      '/nonexistent.yaml',
      '--setup-page',
      'on',
      '--listen',
      '8080',
    ]);
    defer(() => gateway.stop());
    expect(await gateway.exited()).not.toBe(0);
    expect(gateway.stderr()).toContain('has no port');
  });

  it('still exits with status 78 by default outside systemd', async () => {
    const dir = scratch('setup-off');
    const file = writeYaml(dir, 'gateway.yaml', { gateway: { id: 'gw1' }, keepalive: { default: '45' } });
    const gateway = startCli(['run', '--config', file]);
    defer(() => gateway.stop());
    expect(await gateway.exited()).toBe(78);
  });
});

describe('setup page without a config (first boot)', () => {
  it('onboards: validates the form, writes the config (0640) and the hashed password, and hands the config over', async () => {
    const dir = scratch('setup-onboard');
    const configFile = join(dir, 'etc', 'gateway.yaml');
    const settings = peekSetupSettings(configFile);
    expect(settings).toEqual({
      listen: { host: '0.0.0.0', port: 8080 },
      stateDir: '/var/lib/mfp-gateway',
      passwordHash: undefined,
      auth: 'password',
      hostnames: [],
      setupWindowMs: 3_600_000,
    });
    const stateDir = join(dir, 'state');
    const page = startSetupPage({
      clock: new ManualClock(),
      logger: silentLogger(),
      configFile,
      issues: [],
      settings: { ...settings, listen: { host: '127.0.0.1', port: 0 }, stateDir },
    });
    defer(() => page.stop());
    const url = await page.ready;
    const browser = new Browser(String(url).replace(/\/$/, ''));
    const form = await browser.request('/');
    expect(form.text).toContain('Set up this gateway');
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const fields = {
      _csrf,
      setupCode: readFileSync(join(stateDir, 'setup-code'), 'utf8').trim(),
      id: 'office-1',
      token: 'k'.repeat(24),
      password: 'page password',
      confirm: 'page password',
    };

    // Without the setup code (the first visitor, or a rebound web page) nothing is written.
    const { setupCode: _, ...noCode } = fields;
    const claimed = await browser.request('/setup/onboard', {
      form: { ...noCode, url: 'wss://attacker.example/push' },
    });
    expect(claimed.status).toBe(403);
    expect(claimed.text).toContain('wrong setup code');
    expect(existsSync(configFile)).toBe(false);

    const bad = await browser.request('/setup/onboard', {
      form: { ...fields, url: 'http://cloud.example.com' },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<code>cloud.url</code>');
    expect(bad.text).toContain('value="office-1"'); // what was typed is kept
    expect(bad.text).not.toContain('k'.repeat(24)); // but never the token

    const cloudUrl = 'wss://cloud.example.com/push';
    const done = await browser.request('/setup/onboard', { form: { ...fields, url: cloudUrl } });
    expect(done.status).toBe(200);
    const config = await page.configured;
    expect(config.gateway).toMatchObject({ id: 'office-1', stateDir });
    expect(config.cloud).toMatchObject({ url: cloudUrl, token: 'k'.repeat(24) });
    expect(parse(readFileSync(configFile, 'utf8'))).toEqual({
      gateway: { id: 'office-1', stateDir },
      cloud: { url: cloudUrl, token: 'k'.repeat(24) },
    });
    expect(statSync(configFile).mode & 0o777).toBe(0o640);
    expect(
      await verifyPassword('page password', readFileSync(join(stateDir, 'status-password'), 'utf8').trim()),
    ).toBe(true);
  });
});

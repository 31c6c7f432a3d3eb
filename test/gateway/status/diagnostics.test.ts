import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { maskSecrets } from '../../../src/secrets/mask.ts';
import { hashPassword } from '../../../src/secrets/password-hash.ts';
import { scratchDir } from '../../support/chain.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser, startTestPage } from './page-harness.ts';

const PASSWORD = 'correct horse battery';
const TOKEN = 'cloud-token-that-must-not-leak-0123456789';
let passwordHash = '';
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});
const defer = deferredTeardown();

/** Unpacks a .tar.gz with the system's tar: name → text of every file. */
function untar(archive: Buffer): Record<string, string> {
  const { dir, cleanup } = scratchDir('diag-untar');
  defer(cleanup);
  writeFileSync(join(dir, 'bundle.tar.gz'), archive);
  const run = spawnSync('tar', ['-xzf', 'bundle.tar.gz'], { cwd: dir, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const [top] = readdirSync(dir).filter((n) => n !== 'bundle.tar.gz');
  const root = join(dir, top as string);
  return Object.fromEntries(
    readdirSync(root).map((n) => [`${top}/${n}`, readFileSync(join(root, n), 'utf8')]),
  );
}

describe('the status page’s diagnostics bundle', () => {
  it('is behind the login, and holds masked config, status, recent logs, metrics and the crash log', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 6, 20, 45, 1));
    const config = parseGatewayConfig({
      gateway: { id: 'gw1' },
      cloud: {
        url: 'wss://cloud.example.com/push',
        token: TOKEN,
        proxy: 'http://office:proxy-secret@192.0.2.8:3128',
      },
    });
    const t = await startTestPage(clock, { passwordHash }, defer, { settings: maskSecrets(config) });
    writeFileSync(
      join(t.stateDir, 'crash.log'),
      '=== 2026-12-06T20:00:00Z stopped: watchdog (killed ABRT)\n',
    );
    const browser = new Browser(t.url);

    const refused = await browser.request('/api/diagnostics');
    expect(refused.status).toBe(401);

    await browser.login(PASSWORD);
    const res = await fetch(`${t.url}/api/diagnostics`, {
      headers: { cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="mfp-gateway-gw1-20261206T204501Z.tar.gz"',
    );
    const files = untar(Buffer.from(await res.arrayBuffer()));
    const dir = 'mfp-gateway-gw1-20261206T204501Z';
    expect(Object.keys(files).sort()).toEqual(
      [
        'README.txt',
        'about.json',
        'config.yaml',
        'crash.log',
        'logs.jsonl',
        'metrics.txt',
        'status.json',
      ].map((f) => `${dir}/${f}`),
    );
    const all = Object.values(files).join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('proxy-secret');
    expect(files[`${dir}/config.yaml`]).toMatch(/token: "\*\*\*"/);
    expect(files[`${dir}/config.yaml`]).toContain('http://office:***@192.0.2.8:3128');
    expect(JSON.parse(files[`${dir}/about.json`] as string)).toMatchObject({
      gatewayId: 'gw1',
      build: { commit: expect.any(String), node: process.version },
    });
    expect(JSON.parse(files[`${dir}/status.json`] as string)).toMatchObject({ gateway: { id: 'gw1' } });
    const logs = (files[`${dir}/logs.jsonl`] as string).split('\n').map((l) => JSON.parse(l));
    expect(logs.some((l) => l.msg === 'status page listening')).toBe(true);
    expect(files[`${dir}/metrics.txt`]).toMatch(/^# HELP mfpgw_/m);
    expect(files[`${dir}/crash.log`]).toContain('stopped: watchdog');
  });
});

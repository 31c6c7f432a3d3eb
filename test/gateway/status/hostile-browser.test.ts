import { once } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { hashPassword } from '../../../src/secrets/password-hash.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser, startTestPage } from './page-harness.ts';

/**
 * Issue 13, findings 7 and 10: a fresh box cannot be claimed by the first visitor or by a
 * web page that rebinds its DNS name to the box; a logout closes the session's live pages.
 */
const PASSWORD = 'hostile browser password';
let passwordHash = '';
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});
const defer = deferredTeardown();

function setupCodeOf(stateDir: string): string {
  return readFileSync(join(stateDir, 'setup-code'), 'utf8').trim();
}

async function firstPassword(browser: Browser, fields: Record<string, string>) {
  const _csrf = await browser.formToken('/set-password');
  return browser.request('/set-password', {
    form: { _csrf, password: 'first password', confirm: 'first password', ...fields },
  });
}

/** A request with a Host header of our choosing (fetch does not let one set Host). */
async function withHost(url: string, path: string, host: string, headers: Record<string, string> = {}) {
  const { request } = await import('node:http');
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { ...headers, host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += String(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function liveStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, { headers });
  defer(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => {});
  });
}

describe('first boot: the setup code', () => {
  it('is printed at start, kept 0600 in the state dir, required for the first password and spent by it', async () => {
    const clock = new ManualClock();
    const { url, stateDir, logs } = await startTestPage(clock, {}, defer);
    const file = join(stateDir, 'setup-code');
    const code = setupCodeOf(stateDir);
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(logs.some((l) => String(l.msg).includes(`the setup code is ${code}`))).toBe(true);

    const browser = new Browser(url);
    const form = await browser.request('/set-password');
    expect(form.text).toContain('name="setupCode"');
    const without = await firstPassword(browser, {});
    expect(without.status).toBe(403);
    expect(without.text).toContain('wrong setup code');
    expect((await firstPassword(browser, { setupCode: 'AAAA-BBBB-CCCC' })).status).toBe(403);
    expect(existsSync(join(stateDir, 'status-password'))).toBe(false);

    // Typed in lower case with spaces: still the code.
    const set = await firstPassword(browser, { setupCode: ` ${code.toLowerCase().replace(/-/g, ' ')} ` });
    expect(set.status).toBe(303);
    expect((await browser.request('/api/status')).status).toBe(200);
    expect(existsSync(file)).toBe(false);
  });

  it('is the same after a restart until a password is set', async () => {
    const clock = new ManualClock();
    const first = await startTestPage(clock, {}, defer);
    const code = setupCodeOf(first.stateDir);
    await first.page.stop();
    const { SetupCode } = await import('../../../src/gateway/status/setup-code.ts');
    const { capturingLogger } = await import('./page-harness.ts');
    const again = new SetupCode({
      stateDir: first.stateDir,
      clock,
      windowMs: 0,
      logger: capturingLogger().logger,
    });
    expect(again.check(code)).toEqual({ ok: true });
  });

  it('closes first-boot setup after status.setupWindow; the right code no longer helps', async () => {
    const clock = new ManualClock();
    const { url, stateDir } = await startTestPage(clock, { setupWindow: '30m' }, defer);
    const code = setupCodeOf(stateDir);
    clock.advance(30 * 60_000);
    const browser = new Browser(url);
    expect((await browser.request('/set-password')).text).toContain('first-boot setup closed');
    const late = await firstPassword(browser, { setupCode: code });
    expect(late.status).toBe(403);
    expect(late.text).toContain('restart the gateway');
    expect(existsSync(join(stateDir, 'status-password'))).toBe(false);
  });

  it('is not made when a password is configured', async () => {
    const { stateDir } = await startTestPage(new ManualClock(), { passwordHash }, defer);
    expect(existsSync(join(stateDir, 'setup-code'))).toBe(false);
  });
});

describe('Host and Origin (DNS rebinding)', () => {
  it('answers 421 to a Host that is not the box, except the probes; configured names pass', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { hostnames: ['gateway.office.lan'] }, defer);
    const port = new URL(url).port;
    for (const path of ['/', '/set-password', '/login', '/api/status', '/metrics', '/assets/app.css']) {
      expect((await withHost(url, path, `attacker.example:${port}`)).status, path).toBe(421);
    }
    expect((await withHost(url, '/health', `attacker.example:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', `gateway.office.lan:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', 'GATEWAY.office.lan.')).status).toBe(200);
    expect((await withHost(url, '/set-password', `localhost:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', `127.0.0.1:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', `[::1]:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', `192.0.2.77:${port}`)).status).toBe(421);
    const { hostname } = await import('node:os');
    expect((await withHost(url, '/set-password', `${hostname()}.local:${port}`)).status).toBe(200);
    expect((await withHost(url, '/set-password', `${hostname()}.attacker.example`)).status).toBe(421);
    expect((await withHost(url, '/set-password', `user@127.0.0.1:${port}`)).status).toBe(421);
  });

  it('refuses a live socket whose Origin is a rebound name even when Host agrees with it', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { passwordHash }, defer);
    const browser = new Browser(url);
    await browser.login(PASSWORD);
    const cookie = `mfpgw_session=${browser.cookies.get('mfpgw_session')}`;
    const port = new URL(url).port;
    const rebound = `evil.example:${port}`;
    expect(await liveStatus(url, { cookie, host: rebound, origin: `http://${rebound}` })).toBe(421);
    expect(await liveStatus(url, { cookie, origin: `http://${rebound}` })).toBe(403);
    expect(await liveStatus(url, { cookie, origin: url })).toBe(101);
  });
});

describe('GET /metrics: status.metrics', () => {
  it('needs a login by default and is open with status.metrics: open', async () => {
    const clock = new ManualClock();
    const closed = await startTestPage(clock, { passwordHash }, defer);
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(401);
    const browser = new Browser(closed.url);
    await browser.login(PASSWORD);
    expect((await browser.request('/metrics')).status).toBe(200);
    const open = await startTestPage(clock, { passwordHash, metrics: 'open' }, defer);
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${open.url}/api/status`)).status).toBe(401);
  });
});

describe('logout (finding 10)', () => {
  it('closes the live pages of the session at once, not at its old expiry', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { passwordHash, sessionTtl: '12h' }, defer);
    const browser = new Browser(url);
    await browser.login(PASSWORD);
    const other = new Browser(url);
    await other.login(PASSWORD);
    const open = (b: Browser) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, {
        headers: { cookie: `mfpgw_session=${b.cookies.get('mfpgw_session')}`, origin: url },
      });
      defer(() => ws.terminate());
      return ws;
    };
    const mine = open(browser);
    const theirs = open(other);
    await Promise.all([once(mine, 'message'), once(theirs, 'message')]);
    const closed = once(mine, 'close');
    const shell = await browser.request('/');
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(shell.text)?.[1] ?? '';
    expect((await browser.request('/logout', { form: { _csrf } })).status).toBe(303);
    const [code, reason] = await closed;
    expect(code).toBe(4001);
    expect(String(reason)).toBe('logged out');
    expect(theirs.readyState).toBe(WebSocket.OPEN);
  });
});

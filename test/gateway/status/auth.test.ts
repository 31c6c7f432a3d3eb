import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { hashPassword, verifyPassword } from '../../../src/secrets/password-hash.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser, startTestPage } from './page-harness.ts';

const PASSWORD = 'correct horse battery';
let passwordHash = '';
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});

const defer = deferredTeardown();

async function setUp(status: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const t = await startTestPage(clock, { passwordHash, ...status }, defer);
  return { clock, ...t, browser: new Browser(t.url) };
}

describe('status page login', () => {
  it('answers the API 401 and redirects the page to the login form without a session; probes need none', async () => {
    const { browser } = await setUp();
    const api = await browser.request('/api/status');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.text)).toMatchObject({ error: 'unauthorized' });
    const page = await browser.request('/');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect((await browser.request('/health')).status).toBe(200);
    expect((await browser.request('/metrics')).status).toBe(401); // status.metrics: login by default
    expect((await browser.request('/ready')).status).toBe(503);
  });

  it('refuses a wrong password and lets the right one in with a strict, expiring session cookie', async () => {
    const { browser } = await setUp({ sessionTtl: '2h' });
    const wrong = await browser.login('not the password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong password');
    expect(browser.cookies.has('mfpgw_session')).toBe(false);

    const right = await browser.login(PASSWORD);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/');
    const session = right.setCookies.find((c) => c.startsWith('mfpgw_session='));
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Max-Age=7200/);
    const api = await browser.request('/api/status');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text).gateway.id).toBe('gw1');
    expect((await browser.request('/')).status).toBe(200);
  });

  it('ends a session when its time is up (on the injected clock)', async () => {
    const { browser, clock } = await setUp({ sessionTtl: '1h' });
    expect((await browser.login(PASSWORD)).status).toBe(303);
    clock.advance(60 * 60_000 - 1);
    expect((await browser.request('/api/status')).status).toBe(200);
    clock.advance(1);
    expect((await browser.request('/api/status')).status).toBe(401);
    expect((await browser.request('/')).headers.get('location')).toBe('/login');
  });

  it('slows repeated wrong passwords per client, doubling the wait, and refuses even the right one meanwhile', async () => {
    const { browser, clock, logs } = await setUp({ login: { freeAttempts: 2, delay: '2s', maxDelay: '5s' } });
    expect((await browser.login('wrong-1')).status).toBe(401);
    expect((await browser.login('wrong-2')).status).toBe(401);
    const third = await browser.login('wrong-3');
    expect(third.status).toBe(401);
    expect(third.text).toContain('Wait 2 s before the next try');

    const blocked = await browser.login(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('2');
    expect(browser.cookies.has('mfpgw_session')).toBe(false);

    clock.advance(2000);
    expect((await browser.login('wrong-4')).text).toContain('Wait 4 s');
    clock.advance(3999);
    expect((await browser.login(PASSWORD)).status).toBe(429);
    clock.advance(1);
    expect((await browser.login('wrong-5')).text).toContain('Wait 5 s'); // capped at maxDelay
    clock.advance(5000);
    expect((await browser.login(PASSWORD)).status).toBe(303);
    // A success forgets the client: the next wrong password is free again.
    expect((await new Browser(browser.base).login('wrong-6')).text).not.toContain('Wait');
    expect(logs.filter((l) => l.msg === 'status page: wrong password')).toHaveLength(6);
  });
});

describe('login throttle against a racing client (issue 13, finding 8)', () => {
  it('checks at most 4 of 40 parallel passwords; the right one last among them does not get in', async () => {
    const { browser, logs } = await setUp();
    const _csrf = await browser.formToken('/login');
    const tries = Array.from({ length: 40 }, (_, i) => (i === 39 ? PASSWORD : `wrong-${i}`));
    const answers = await Promise.all(
      tries.map((password) => browser.request('/login', { form: { _csrf, password } })),
    );
    const statuses = answers.map((a) => a.status);
    // Checked: one at a time, and no more than the free attempts and the one that used them up
    // (the clock stands still, so the wait that earns never ends); the rest answered 429 unchecked.
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - checked);
    expect(logs.filter((l) => l.msg === 'status page: wrong password')).toHaveLength(checked);
  });
});

describe('CSRF protection', () => {
  it('refuses a login form post without the token that came with the form', async () => {
    const { browser } = await setUp();
    await browser.formToken('/login'); // sets the form cookie
    const res = await browser.request('/login', { form: { password: PASSWORD } });
    expect(res.status).toBe(403);
    const forged = await browser.request('/login', { form: { password: PASSWORD, _csrf: 'guessed' } });
    expect(forged.status).toBe(403);
    expect(browser.cookies.has('mfpgw_session')).toBe(false);
  });

  it('refuses a logout without the session token and accepts it with the token from the page', async () => {
    const { browser } = await setUp();
    await browser.login(PASSWORD);
    expect((await browser.request('/logout', { form: {} })).status).toBe(403);
    expect((await browser.request('/api/status')).status).toBe(200);
    const shell = await browser.request('/');
    const token = /name="_csrf" value="([^"]+)"/.exec(shell.text)?.[1] ?? '';
    expect(token).not.toBe('');
    const out = await browser.request('/logout', { form: { _csrf: token } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect((await browser.request('/api/status')).status).toBe(401);
  });
});

describe('first boot without a password', () => {
  it('sends every page to the set-password form; the password is stored hashed and logs the visitor in', async () => {
    const { browser, stateDir } = await setUp({ passwordHash: undefined });
    const setupCode = readFileSync(join(stateDir, 'setup-code'), 'utf8').trim();
    expect((await browser.request('/')).headers.get('location')).toBe('/set-password');
    const _csrf = await browser.formToken('/set-password');
    const mismatch = await browser.request('/set-password', {
      form: { _csrf, setupCode, password: 'first password', confirm: 'other password' },
    });
    expect(mismatch.status).toBe(400);
    expect(
      (
        await browser.request('/set-password', {
          form: { setupCode, password: 'first password', confirm: 'first password' },
        })
      ).status,
    ).toBe(403);
    const token = await browser.formToken('/set-password');
    const set = await browser.request('/set-password', {
      form: { _csrf: token, setupCode, password: 'first password', confirm: 'first password' },
    });
    expect(set.status).toBe(303);
    expect((await browser.request('/api/status')).status).toBe(200);

    const file = join(stateDir, 'status-password');
    const stored = readFileSync(file, 'utf8').trim();
    expect(stored).not.toContain('first password');
    expect(await verifyPassword('first password', stored)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Once set, nobody else can set it again.
    const other = new Browser(browser.base);
    expect((await other.request('/set-password')).headers.get('location')).toBe('/login');
    expect((await other.login('first password')).status).toBe(303);
  });
});

describe('status.auth: none', () => {
  it('serves the page and API without login and warns in the log', async () => {
    const { browser, logs } = await setUp({ auth: 'none', passwordHash: undefined });
    expect((await browser.request('/api/status')).status).toBe(200);
    expect((await browser.request('/')).status).toBe(200);
    expect(logs.some((l) => l.level === 40 && String(l.msg).includes('WITHOUT LOGIN'))).toBe(true);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { hashPassword } from '../../../src/secrets/password-hash.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser, startTestPage } from './page-harness.ts';

const PASSWORD = 'power override password';
let passwordHash = '';
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});
const defer = deferredTeardown();

const HOUR = 3_600_000;

async function loggedIn() {
  const clock = new ManualClock();
  const t = await startTestPage(clock, { passwordHash }, defer, { powerOverride: true });
  const browser = new Browser(t.url);
  await browser.login(PASSWORD);
  // The page carries its session's CSRF token in the logout form.
  const csrf = await browser.formToken('/');
  return { clock, ...t, browser, csrf };
}

describe('POST/DELETE /api/power-override', () => {
  it('needs a login and the session’s CSRF token', async () => {
    const { url, browser, power } = await loggedIn();
    const anonymous = new Browser(url);
    const body = { mode: 'power-saving', forMs: HOUR };
    expect((await anonymous.request('/api/power-override', { json: body })).status).toBe(401);
    expect((await anonymous.request('/api/power-override', { method: 'DELETE' })).status).toBe(401);
    expect((await browser.request('/api/power-override', { json: body })).status).toBe(403);
    expect(
      (
        await browser.request('/api/power-override', {
          json: body,
          headers: { 'x-csrf-token': 'x'.repeat(43) },
        })
      ).status,
    ).toBe(403);
    expect(power?.mode().name).toBe('normal');
  });

  it('forces a configured mode for a while, shows it in the status, and gives it back to the schedules', async () => {
    const { clock, browser, csrf, power } = await loggedIn();
    const headers = { 'x-csrf-token': csrf };
    const set = await browser.request('/api/power-override', {
      json: { mode: 'power-saving', forMs: 2 * HOUR },
      headers,
    });
    expect(set.status).toBe(200);
    expect(JSON.parse(set.text)).toMatchObject({
      mode: 'power-saving',
      source: 'override',
      overrideUntil: clock.now() + 2 * HOUR,
    });
    expect(power?.mode().name).toBe('power-saving');
    const status = JSON.parse((await browser.request('/api/status')).text);
    expect(status.power).toMatchObject({
      mode: 'power-saving',
      source: 'override',
      modes: ['normal', 'power-saving'],
      canOverride: true,
    });

    const cleared = await browser.request('/api/power-override', { method: 'DELETE', headers });
    expect(cleared.status).toBe(200);
    expect(JSON.parse(cleared.text)).toMatchObject({ mode: 'normal', source: 'base', overrideUntil: null });
    expect(power?.mode().name).toBe('normal');
  });

  it('refuses a malformed body (400) and a mode that is not configured (422), changing nothing', async () => {
    const { browser, csrf, power } = await loggedIn();
    const headers = { 'x-csrf-token': csrf };
    for (const json of [
      { mode: 'power-saving' },
      { mode: 'power-saving', forMs: -5 },
      { mode: '', forMs: HOUR },
    ]) {
      const res = await browser.request('/api/power-override', { json, headers });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).message).toMatch(/forMs/);
    }
    const unknown = await browser.request('/api/power-override', {
      json: { mode: 'turbo', forMs: HOUR },
      headers,
    });
    expect(unknown.status).toBe(422);
    expect(JSON.parse(unknown.text)).toMatchObject({ error: 'MFP_ERR_UNKNOWN_MODE' });
    expect(JSON.parse(unknown.text).message).toMatch(/normal, power-saving/);
    expect(power?.mode().name).toBe('normal');
  });

  it('is not offered when the page has no power control', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { auth: 'none' }, defer);
    const browser = new Browser(url);
    const status = JSON.parse((await browser.request('/api/status')).text);
    expect(status.power.canOverride).toBe(false);
    const res = await browser.request('/api/power-override', { json: { mode: 'normal', forMs: HOUR } });
    expect(res.status).toBe(404);
  });
});

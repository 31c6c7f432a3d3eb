import { Writable } from 'node:stream';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, runDemo } from '../../src/demo/run-demo.ts';
import { artifact, launchChromium } from './chromium.ts';

let demo: Demo;
let browser: Browser;

beforeAll(async () => {
  // The page's log view shows what the daemon logs: info level, written nowhere else.
  const logger = pino({ level: 'info' }, new Writable({ write: (_c, _e, done) => done() }));
  demo = await runDemo({
    // 8 s: learned in about 16 s; a 3 s firewall often never converges with eight probe lines.
    firewallIdleMs: 8000,
    onExpiry: 'silent',
    pushEveryMs: 2000,
    durationMs: 0,
    logger,
    print: () => {},
    // The empty device and tunnel sections are checked below: no printers, no jobs.
    jobsAfterMs: null,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('the status page in Chromium, against the demo chain', () => {
  it('needs a login, shows the lines up and draws the keep-alive learning live', async () => {
    const status = demo.statusPage;
    if (!status) throw new Error('the demo has no status page');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

    // Unauthenticated: the page sends the browser to the login form; a wrong password is refused.
    await page.goto(status.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', 'not-the-password');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      page.click('button[type=submit]'),
    ]);
    expect(refused.status()).toBe(401);
    await page.getByText('Wrong password').waitFor();
    await page.screenshot({ path: artifact('status-page-login-refused.png') });

    await page.fill('input[name=password]', status.password);
    await Promise.all([page.waitForURL(status.url), page.click('button[type=submit]')]);

    // Both push lines up, pushed over the live WebSocket (the page never polls).
    await page.locator('#live.ok').waitFor();
    await page.locator('#lines tr[data-line="line-0"][data-state="open"]').waitFor();
    await page.locator('#lines tr[data-line="line-1"][data-state="open"]').waitFor();
    await expect.poll(() => page.locator('#overview-facts').innerText()).toContain('reachable');
    // The demo's process also runs the cloud: its memory is not passed off as the gateway's.
    expect(await page.locator('#host-facts').innerText()).toContain(
      'the gateway’s own use is not shown: its process also runs the demo’s cloud and firewall',
    );
    await page.screenshot({ path: artifact('status-page-overview.png'), fullPage: true });

    // The chart gains points as the firewall teaches the cloud its timeout, until probing found it.
    await page.locator('#chart canvas').first().waitFor();
    const points = async () => Number(await page.locator('#chart').getAttribute('data-points'));
    const before = await points();
    await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(before);
    await page.getByText('learned by probing').waitFor({ timeout: 60_000 });
    expect(await points()).toBeGreaterThan(before);
    // The probe's planned cuts are counted apart from real drops, and the banner gives the verdict.
    // (With eight probe lines the cloud often finishes before the gateway sees any of them cut:
    // the cloud, not the gateway, notices a failed probe; so the count may be 0, never a drop.)
    const probeCuts = async () =>
      Number(await page.locator('[data-probe-drops]').getAttribute('data-probe-drops'));
    expect(await probeCuts()).toBeGreaterThanOrEqual(0);
    const api = (await (await page.request.get(`${status.url}api/status`)).json()) as {
      keepalive: { drops: number; probeDrops: number };
      history: { drops: { role: string }[] };
    };
    expect(api.keepalive.probeDrops).toBe(api.history.drops.filter((d) => d.role === 'probe').length);
    expect(api.keepalive.drops).toBe(api.history.drops.filter((d) => d.role === 'push').length);
    expect(await page.locator('#lines tr[data-role="probe"] .badge.bad').count()).toBe(0);
    await expect
      .poll(() => page.locator('#health-headline .verdict').innerText(), { timeout: 30_000 })
      .toMatch(/^Connected · firewall forgets idle lines after ≈\d+(\.\d)? s · keep-alive every [\d.]+ s$/);
    await page.locator('#keepalive').screenshot({ path: artifact('status-page-keepalive.png') });

    // The daemon's own log lines, filterable; the sections still to be wired say so; secrets masked.
    await page.locator('#log-lines li', { hasText: 'push received' }).first().waitFor();
    await page.fill('#log-filter', 'push received');
    const shown = await page.locator('#log-lines li').allInnerTexts();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((t) => t.includes('push received'))).toBe(true);
    expect(await page.locator('#device-list').innerText()).toContain('No devices configured yet.');
    expect(await page.locator('#tunnel-list').innerText()).toContain('No tunnels open.');
    const settings = await page.locator('#settings-yaml').innerText();
    expect(settings).toContain('token: "***"');
    expect(settings).toContain('passwordHash: "***"');

    // A phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const chartWidth = async () => (await page.locator('#chart .uplot').boundingBox())?.width ?? Infinity;
    await expect.poll(chartWidth).toBeLessThanOrEqual(390);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: artifact('status-page-phone.png'), fullPage: true });
    await page.close();
  }, 120_000);
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/clock/system-clock.ts';
import { startTestPage } from '../gateway/status/page-harness.ts';
import { lanDevice, startProxyPage, tokenOf } from '../gateway/status/proxy-harness.ts';
import { deferredTeardown } from '../support/teardown.ts';
import { artifact, launchChromium } from './chromium.ts';

const defer = deferredTeardown();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('the push proxy section in Chromium, against a real push proxy', () => {
  it('is hidden without a proxy', async () => {
    const { url } = await startTestPage(new SystemClock(), { auth: 'none' }, defer);
    const page = await browser.newPage();
    defer(() => page.close());
    await page.goto(url);
    await page.locator('#live.ok').waitFor();
    await page.locator('#device-list').getByText('No devices configured yet.').waitFor();
    expect(await page.locator('#push-proxy').isHidden()).toBe(true);
    expect(await page.locator('#push-proxy-nav').isHidden()).toBe(true);
  });

  it('lists the proxied devices and follows them live: awake, a refused connection, asleep', async () => {
    // The live refresh is an hour: what the page learns comes from the proxy watcher's checks.
    const { port, url } = await startProxyPage(
      new SystemClock(),
      defer,
      ['mfp1', 'mfp2'],
      { live: { minGap: '100ms', refresh: '1h' } },
      200,
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    defer(() => page.close());
    await page.goto(url);
    await page.locator('#live.ok').waitFor();
    await page.locator('#push-proxy').waitFor();
    expect(await page.locator('#push-proxy-nav').isVisible()).toBe(true);
    expect(await page.locator('#push-proxy-facts').innerText()).toContain(`127.0.0.1:${port}`);
    await page.locator('#proxied-list tr[data-proxied="mfp1"][data-state="gone"]').waitFor();
    await page.locator('#proxied-list tr[data-proxied="mfp2"][data-state="gone"]').waitFor();

    const mfp1 = await lanDevice(port, 'mfp1', defer);
    mfp1.send({ type: 'keepalive', seq: 1 });
    const awake = page.locator('#proxied-list tr[data-proxied="mfp1"][data-state="awake"]');
    await awake.waitFor();
    await expect.poll(() => awake.innerText()).toMatch(/every 60 s[\s\S]*1 received/);
    expect(await awake.innerText()).toContain('sim-mfp 1.0');

    await lanDevice(port, 'mfp2', defer, tokenOf('mfp1'));
    await expect
      .poll(() => page.locator('#push-proxy-facts').innerText())
      .toMatch(/Refused\s+1 connection\b/);
    await page.screenshot({ path: artifact('status-page-push-proxy.png'), fullPage: true });

    mfp1.send({ type: 'sleep' });
    mfp1.ws.close();
    await page.locator('#proxied-list tr[data-proxied="mfp1"][data-state="sleeping"]').waitFor();

    // On a phone the table scrolls inside its card; the page itself does not.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.locator('#push-proxy').screenshot({ path: artifact('status-page-push-proxy-phone.png') });
  }, 30_000);
});

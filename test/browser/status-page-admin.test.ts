import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock/system-clock.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { inConfigUnits } from '../../src/config/config-units.ts';
import {
  gatewayConfigSchema,
  loadGatewayConfig,
  parseGatewayConfig,
} from '../../src/config/gateway-config.ts';
import { peekSetupSettings, startSetupPage } from '../../src/gateway/status/setup-page.ts';
import { silentLogger } from '../../src/log/logger.ts';
import type { Advice } from '../../src/protocol/messages.ts';
import { maskSecrets } from '../../src/secrets/mask.ts';
import { line, startTestPage, type TestPage } from '../gateway/status/page-harness.ts';
import { scratchDir } from '../support/chain.ts';
import { artifact, launchChromium } from './chromium.ts';

let browser: Browser;
const cleanups: (() => unknown)[] = [];
const defer = (fn: () => unknown) => cleanups.push(fn);

beforeAll(async () => {
  browser = await launchChromium();
}, 30_000);
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  await browser?.close();
});

const advice = (extra: Partial<Advice> = {}): Advice => ({
  intervalMs: 25_000,
  source: 'default',
  basis: 'default',
  mcvtMs: null,
  lowerBoundMs: null,
  upperBoundMs: null,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: false,
  ...extra,
});

/** The settings the daemon gives the page: the effective config, masked, in the file's units. */
function settings(): unknown {
  const config = parseGatewayConfig({
    gateway: { id: 'gw1', stateDir: '/var/lib/mfp-gateway' },
    cloud: { url: 'wss://cloud.example/push', token: 'a-secret-token-of-20-chars' },
  });
  return inConfigUnits(gatewayConfigSchema, maskSecrets(config));
}

async function open(t: TestPage): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: Error[] = [];
  page.on('pageerror', (err) => errors.push(err));
  defer(() => expect(errors).toEqual([]));
  defer(() => page.close());
  await page.goto(`${t.url}/`);
  await page.locator('#live.ok').waitFor();
  return page;
}

const headline = (page: Page) => page.locator('#health-headline .verdict').innerText();
const banner = (page: Page) => page.locator('#health').getAttribute('data-state');

describe('the status page for an admin, in Chromium', () => {
  it('says in one line whether the gateway is connected, learning or fine, live', async () => {
    const t = await startTestPage(systemClock, { auth: 'none' }, defer, { settings: settings() });
    t.link.set({
      lines: [
        line('line-0', 'waiting', { lastError: 'connect ECONNREFUSED 192.0.2.1:443' }),
        line('line-1', 'waiting'),
      ],
    });
    const page = await open(t);

    // No push line up: disconnected, and why.
    await expect.poll(() => banner(page)).toBe('disconnected');
    expect(await headline(page)).toContain('Not connected to the cloud');
    expect(await page.locator('#health-notes').innerText()).toContain('ECONNREFUSED');
    await page.locator('#health').screenshot({ path: artifact('status-banner-disconnected.png') });

    // Up, nothing learned yet: learning.
    t.link.set({ lines: [line('line-0', 'open'), line('line-1', 'open')], advice: advice() });
    await expect.poll(() => banner(page)).toBe('learning');
    expect(await headline(page)).toBe(
      'Connected · firewall’s idle timeout not known yet · keep-alive every 19 s',
    );
    expect(await page.locator('#health-notes').innerText()).toContain('Still learning');

    // One push line down: degraded, and which.
    t.link.set({ lines: [line('line-0', 'open'), line('line-1', 'waiting')] });
    await expect.poll(() => banner(page)).toBe('degraded');
    expect(await headline(page)).toContain('Connected on 1 of 2 lines');
    expect(await page.locator('#health-notes').innerText()).toContain('1 push line is down and reconnecting');

    // Both up, the timeout learned: the verdict an admin wants to read.
    t.link.set({
      lines: [line('line-0', 'open'), line('line-1', 'open')],
      advice: advice({
        intervalMs: 18_700,
        source: 'probe',
        basis: 'longest-good-gap',
        lowerBoundMs: 19_700,
        upperBoundMs: 20_500,
        converged: true,
      }),
    });
    await expect.poll(() => banner(page)).toBe('ok');
    expect(await headline(page)).toBe(
      'Connected · firewall forgets idle lines after ≈20 s · keep-alive every 19 s',
    );
    // The technical terms are the tooltips of the plain words.
    expect(await page.locator('#health-headline .term').nth(1).getAttribute('title')).toContain('L < T ≤ U');
    await page.locator('#health').screenshot({ path: artifact('status-banner-ok.png') });
  }, 60_000);

  it('counts the probe’s planned cuts apart from real drops, and never shows them red', async () => {
    const t = await startTestPage(systemClock, { auth: 'none' }, defer, { settings: settings() });
    const learning = advice({ source: 'probe', lowerBoundMs: 10_000, upperBoundMs: 40_000 });
    t.link.set({ lines: [line('line-0', 'open'), line('line-1', 'open')], advice: learning });
    const page = await open(t);

    // The probe line opens, the firewall cuts it (planned) twice, then probing ends.
    const probe = (state: Parameters<typeof line>[1], lastError: string | null = null) => {
      t.link.set({
        lines: [line('line-0', 'open'), line('line-1', 'open'), line('probe', state, { lastError })],
        probing: state === 'open',
      });
    };
    probe('open');
    await page.locator('#lines tr[data-line="probe"][data-state="open"]').waitFor();
    expect(await headline(page)).toContain('firewall forgets idle lines after 10 s to 40 s');
    expect(await page.locator('#health-notes').innerText()).toContain('planned, not an outage');
    probe('waiting', 'keep-alive unanswered');
    probe('open');
    probe('waiting', 'keep-alive unanswered');
    await page.locator('#keepalive [data-probe-drops="2"]').waitFor();
    const probeRow = page.locator('#lines tr[data-line="probe"]');
    expect(await probeRow.locator('.badge').innerText()).toBe('cut on purpose, reopening');
    expect(await probeRow.locator('.badge.bad').count()).toBe(0);
    expect(await probeRow.locator('.error-text').count()).toBe(0);
    probe('stopped');
    await page.locator('#lines tr[data-line="probe"][data-state="stopped"]').waitFor();
    expect(await probeRow.locator('.badge').innerText()).toBe('finished');
    expect(await probeRow.locator('.badge.bad').count()).toBe(0);

    // No real drop so far: "Drops" says none, the banner is not worried.
    expect(await page.locator('#keepalive [data-drops]').getAttribute('data-drops')).toBe('0');
    expect(await page.locator('#keepalive [data-drops]').innerText()).toBe('none');
    expect(await banner(page)).toBe('learning');

    // A push line that drops is a real drop.
    t.link.set({ lines: [line('line-0', 'open'), line('line-1', 'waiting', { lastError: 'reset' })] });
    await page.locator('#keepalive [data-drops="1"]').waitFor();
    expect(await page.locator('#keepalive [data-probe-drops]').getAttribute('data-probe-drops')).toBe('2');
    const line1 = page.locator('#lines tr[data-line="line-1"]');
    expect(await line1.locator('.badge.bad').innerText()).toBe('down, reconnecting');

    // /metrics keeps them apart too.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^mfpgw_link_drops_total 1$/m);
    expect(metrics).toMatch(/^mfpgw_link_probe_drops_total 2$/m);

    // Plain words, the technical terms as tooltips; none of the old jargon.
    const text = await page.locator('main').innerText();
    for (const jargon of ['L, worked', 'U, failed', 'probe (probe)']) expect(text).not.toContain(jargon);
    expect(
      await page.locator('#keepalive .term', { hasText: 'Longest idle that worked' }).getAttribute('title'),
    ).toMatch(/^L, the lower bound/);
    await page.locator('#overview').screenshot({ path: artifact('status-probe-drops.png') });
  }, 60_000);

  it('says "live" only once it shows the gateway’s state, not when its socket opens', async () => {
    const t = await startTestPage(systemClock, { auth: 'none' }, defer, { settings: settings() });
    t.link.set({ lines: [line('line-0', 'open')] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    defer(() => page.close());
    // The live socket goes through a route that holds what the gateway sends until released.
    const held: (string | Buffer)[] = [];
    let holding = true;
    let toPage: WebSocketRoute | undefined;
    let snapshotHeld: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => {
      snapshotHeld = resolve;
    });
    await page.routeWebSocket(/\/api\/live$/, (socket) => {
      toPage = socket;
      const server = socket.connectToServer();
      server.onMessage((message) => {
        if (!holding) return socket.send(message);
        held.push(message);
        snapshotHeld();
      });
    });
    await page.goto(`${t.url}/`);
    await firstHeld;
    // Open, the snapshot on its way: the page says so and claims nothing.
    await page.locator('#live.warn', { hasText: 'loading…' }).waitFor();
    expect(await page.locator('#host-facts').innerText()).toBe('');

    holding = false;
    for (const message of held.splice(0)) toPage?.send(message);
    await page.locator('#live.ok').waitFor();
    // Read at once, no waiting: by the time the page says "live" it shows the state.
    expect(await page.locator('#host-facts').innerText()).toMatch(/Memory\s+[\d.]+ MB used by the gateway/);
    expect(await page.locator('#lines tr[data-line="line-0"]').getAttribute('data-state')).toBe('open');
  }, 60_000);

  it('shows empty states, settings in the file’s units, and fits a phone', async () => {
    const t = await startTestPage(systemClock, { auth: 'none' }, defer, { settings: settings() });
    t.link.set({
      lines: [
        line('line-0', 'open'),
        line('line-1', 'waiting', { lastError: 'keep-alive unanswered after 10 s (the line is dead)' }),
        line('probe', 'open'),
      ],
      advice: advice(),
    });
    const page = await open(t);

    // Alone in its process, the gateway's memory is the process's.
    expect(await page.locator('#host-facts').innerText()).toMatch(/Memory\s+[\d.]+ MB used by the gateway/);

    // Empty sections say so.
    expect(await page.locator('#device-list').innerText()).toContain('No devices configured yet.');
    expect(await page.locator('#tunnel-list').innerText()).toContain('No tunnels open.');
    expect(await page.locator('#job-list').innerText()).toContain('No jobs yet.');
    await page.selectOption('#log-source', 'device');
    expect(await page.locator('#log-empty').innerText()).toContain('No device log lines yet');
    await page.selectOption('#log-source', 'all');
    await page.fill('#log-filter', 'nothing-logs-this');
    expect(await page.locator('#log-empty').innerText()).toContain('No log lines match');
    await page.fill('#log-filter', '');

    // Settings: YAML as in the config file, durations with units, secrets masked.
    const yaml = await page.locator('#settings-yaml').innerText();
    expect(yaml).toContain('sessionTtl: 12h');
    expect(yaml).toContain('answerTimeout: 10s');
    expect(yaml).toContain('token: "***"');
    expect(yaml).not.toContain('43200000');

    // A phone: every tab in sight, no column of the lines table out of sight, no sideways page.
    await page.setViewportSize({ width: 390, height: 844 });
    const width = 390;
    for (const tab of await page.locator('nav.sections a:visible').all()) {
      const box = await tab.boundingBox();
      expect(box, await tab.innerText()).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= width, await tab.innerText()).toBe(
        true,
      );
    }
    for (const id of ['line-0', 'line-1', 'probe']) {
      const cells = await page.locator(`#lines tr[data-line="${id}"] td:visible`).all();
      expect(cells.length).toBeGreaterThanOrEqual(5);
      for (const cell of cells) {
        const box = await cell.boundingBox();
        expect(box && box.x >= 0 && box.x + box.width <= width, `${id}: ${await cell.innerText()}`).toBe(
          true,
        );
      }
    }
    // Each stacked cell names its column; the last error is in sight, not scrolled away.
    const error = page.locator('#lines tr[data-line="line-1"] td.error-text');
    expect(await error.getAttribute('data-label')).toBe('last error');
    expect(await error.isVisible()).toBe(true);
    const scroll = await page.evaluate<number>(
      "(() => { const s = document.querySelector('#lines').parentElement; return s.scrollWidth - s.clientWidth; })()",
    );
    expect(scroll).toBeLessThanOrEqual(0);
    expect(
      await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: artifact('status-phone-top.png') });
    await page.screenshot({ path: artifact('status-phone.png'), fullPage: true });
  }, 60_000);

  it('lets an admin fix a broken config on the setup page, from a phone, with the setup code', async () => {
    const { dir, cleanup } = scratchDir('setup-browser');
    defer(cleanup);
    const file = join(dir, 'gateway.yaml');
    const token = 'the-cloud-token-0123456789';
    writeFileSync(
      file,
      `gateway: { id: gw1, stateDir: ${join(dir, 'state')} }\ncloud:\n  url: ws://127.0.0.1:1/push\n  token: ${token}\nkeepalive: { default: 45 }\n`,
    );
    let issues: ConfigError['issues'] = [];
    try {
      loadGatewayConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) issues = err.issues;
    }
    const setup = startSetupPage({
      clock: systemClock,
      logger: silentLogger(),
      configFile: file,
      issues,
      settings: { ...peekSetupSettings(file), listen: { host: '127.0.0.1', port: 0 } },
    });
    defer(() => setup.stop());
    const url = String(await setup.ready);
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    defer(() => page.close());
    await page.goto(url);
    expect(await page.locator('.issues').innerText()).toContain('keepalive.default');
    const editor = page.locator('textarea[name=config]');
    expect(await editor.inputValue()).toContain('token: "***"');
    expect(await page.content()).not.toContain(token);
    // The editor fits the phone.
    const box = await editor.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
    expect(
      await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);

    await editor.fill((await editor.inputValue()).replace('default: 45 }', 'default: 45s }'));
    await page.fill('input[name=setupCode]', readFileSync(join(dir, 'state', 'setup-code'), 'utf8').trim());
    await page.screenshot({ path: artifact('setup-page-editor-phone.png'), fullPage: true });
    await Promise.all([
      page.waitForLoadState(),
      page.click('form[action="/setup/save"] button[type=submit]'),
    ]);
    await page.getByText('the gateway is starting').waitFor();
    const config = await setup.configured;
    expect(config.keepalive.default).toBe(45_000);
    expect(config.cloud.token).toBe(token);
  }, 60_000);
});

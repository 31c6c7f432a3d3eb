import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/secrets/password-hash.ts';
import { type CloudHandle, scratchDir, startCloud, startGatewayProcess } from '../support/chain.ts';
import { type CliProcess, eventually, listeningPort } from '../support/cli-process.ts';
import { postJob, startSimMfp, withJobLogs } from '../support/jobs.ts';
import { artifact, launchChromium } from './chromium.ts';

const PASSWORD = 'status page jobs password';
/**
 * Well over what the loopback's socket buffers take at once (a few MB land in them at the
 * first write), so the bar is seen part-way and then moving at the printer's pace.
 */
const DOCUMENT_BYTES = 12 * 1024 * 1024;

let browser: Browser;
let cloud: CloudHandle;
let mfp: CliProcess;
let gateway: CliProcess;
let pageUrl: string;
let cleanup: () => void;

beforeAll(async () => {
  const scratch = scratchDir('status-jobs');
  cleanup = scratch.cleanup;
  const { dir } = scratch;
  // A slow printer (2 MB/s) keeps the job in flight long enough to watch the bar move.
  const sim = await startSimMfp(join(dir, 'spool'), ['--read-rate', '2m', '--snmp', '127.0.0.1:0']);
  mfp = sim.proc;
  const ready = await mfp.waitFor((l) => l.msg === 'sim mfp listening', 1000, 'the sim MFP');
  cloud = await startCloud(dir);
  gateway = startGatewayProcess(
    dir,
    { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
    {
      devices: [
        {
          id: 'mfp1',
          driver: 'pjl',
          host: '127.0.0.1',
          port: sim.port,
          statusEvery: '1s',
          snmp: { host: '127.0.0.1', port: ready.snmpPort, every: '1s' },
        },
      ],
      status: {
        // Port 0, read back from the log: a port reserved with freePort() is free again until
        // the gateway binds it, and on a busy CI machine another process's bind can take it.
        listen: { host: '127.0.0.1', port: 0 },
        passwordHash: await hashPassword(PASSWORD),
        metrics: 'open', // scraped below without a session, as Prometheus would
        live: { minGap: '250ms', refresh: '5s' },
      },
    },
  );
  pageUrl = `http://127.0.0.1:${await listeningPort(gateway, 'status page listening')}/`;
  await eventually(
    async () => (await cloud.api<{ connections: unknown[] }>('/api/v1/gateways/gw1')).body.connections,
    (lines) => lines.length > 0,
    20_000,
    'the gateway to connect',
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await cloud?.proc.stop();
  await mfp?.stop('SIGKILL');
  cleanup?.();
});

/** The job row's progress (0…1), or null while it shows none. */
function progressOf(page: Page, jobId: string): Promise<number | null> {
  return page
    .locator(`#job-list tr[data-job="${jobId}"]`)
    .getAttribute('data-progress')
    .then((v) => (v === null ? null : Number(v)));
}

/** The little of the DOM the in-page check uses (the tests compile without the DOM types). */
interface RowDom {
  document: { querySelector(selector: string): { dataset: Record<string, string | undefined> } | null };
}

/** Resolves once the job's row shows it running with progress beyond `above`, checked in the page as it changes. */
function runningBeyond(page: Page, jobId: string, above: number) {
  return page.waitForFunction(
    (want) => {
      const row = (globalThis as unknown as RowDom).document.querySelector(
        `#job-list tr[data-job="${want.jobId}"]`,
      );
      return row?.dataset.outcome === 'running' && Number(row.dataset.progress) > want.above;
    },
    { jobId, above },
  );
}

describe('the status page in Chromium, against real gateway, cloud and sim MFP processes', () => {
  it('shows a job’s progress and route, the device going offline, and sets a power override', async () => {
    await withJobLogs({ gateway, cloud: cloud.proc }, async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(pageUrl);
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForURL(pageUrl), page.click('button[type=submit]')]);
      await page.locator('#live.ok').waitFor();

      // The device, polled every second: its state, and its page meter and toner read over SNMP.
      await page.locator('#device-list tr[data-device="mfp1"][data-state="idle"]').waitFor();
      await page.locator('#device-list tr[data-device="mfp1"] meter').first().waitFor();
      expect(await page.locator('#device-list tr[data-device="mfp1"]').innerText()).toMatch(
        /Black Toner\s+\d+ %/,
      );

      // A job in flight: its tunnel, and a progress bar that advances, then done by tunnel.
      const posted = await postJob(cloud, { gateway: 'gw1', device: 'mfp1' }, randomBytes(DOCUMENT_BYTES));
      expect(posted.status).toBe(202);
      const jobId = posted.body.id;
      const row = page.locator(`#job-list tr[data-job="${jobId}"]`);
      await page.locator(`#job-list tr[data-job="${jobId}"][data-outcome="running"] progress`).waitFor();
      await page.locator(`#tunnel-list tr[data-job="${jobId}"]`).waitFor();
      await runningBeyond(page, jobId, 0);
      const first = (await progressOf(page, jobId)) ?? 0;
      expect(first).toBeLessThan(1);
      await page.screenshot({ path: artifact('status-page-job-in-flight.png'), fullPage: true });
      await runningBeyond(page, jobId, first);
      await page
        .locator(`#job-list tr[data-job="${jobId}"][data-outcome="done"]`)
        .waitFor({ timeout: 20_000 });
      expect(await row.getAttribute('data-route')).toBe('tunnel');
      expect(await row.locator('td.route').innerText()).toBe('tunnel');
      await page.locator('#tunnel-list').getByText('No tunnels open.').waitFor();

      // The journal's record of the job's tunnel in the log view, by source.
      await page.selectOption('#log-source', 'tunnel');
      await page.locator('#log-lines li[data-source="tunnel"]', { hasText: jobId }).waitFor();
      await page.screenshot({ path: artifact('status-page-job-done.png'), fullPage: true });

      // A power override from the page changes the mode shown; ending it gives it back.
      await page.locator('#power-now[data-mode="normal"]').waitFor();
      await page.selectOption('#power-mode', 'power-saving');
      await page.click('#power-override button[type=submit]');
      await page.locator('#power-now[data-mode="power-saving"][data-source="override"]').waitFor();
      expect(await page.locator('#power-now').innerText()).toMatch(/overridden until/);
      await page.locator('#overview').screenshot({ path: artifact('status-page-power-override.png') });
      await page.click('#power-clear');
      await page.locator('#power-now[data-mode="normal"][data-source="base"]').waitFor();

      // Metrics count the job and the bytes its tunnel carried.
      const metrics = await (await fetch(`${pageUrl}metrics`)).text();
      expect(metrics).toMatch(/^mfpgw_jobs_total\{outcome="done"\} 1$/m);
      expect(metrics).toMatch(
        new RegExp(`^mfpgw_tunnel_bytes_total\\{direction="to_device"\\} ${DOCUMENT_BYTES}$`, 'm'),
      );

      // The MFP stops answering: the page shows it offline.
      await mfp.stop('SIGKILL');
      await page
        .locator('#device-list tr[data-device="mfp1"][data-state="offline"]')
        .waitFor({ timeout: 15_000 });
      await page.locator('#device-list').screenshot({ path: artifact('status-page-device-offline.png') });

      // On a phone the tables scroll inside their cards; the page itself does not.
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await page.locator('#tunnels').screenshot({ path: artifact('status-page-jobs-phone.png') });
      await page.close();
    });
  }, 60_000);
});

/**
 * Status page benchmark: what the page costs the gateway and the browser.
 * - page weight: bytes transferred (as sent: gzip, headers excluded) for a first visit —
 *   the login form, then the page with its JS and CSS — and their uncompressed sizes;
 * - the gateway process's RSS with the lines up, before and while the page is open in
 *   Chromium with live updates, beside a gateway with the status page turned off;
 * - live-update traffic: WebSocket bytes per minute while the page is open.
 * A real cloud process and a real `mfp-gateway run` process on loopback.
 * Prints a table and writes bench/results/status-page.json.
 *
 *   node bench/status-page.ts [--watch 20s]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from 'playwright-core';
import { parseDuration } from '../src/calendar/duration.ts';
import { hashPassword } from '../src/secrets/password-hash.ts';
import { launchChromium } from '../test/browser/chromium.ts';
import { scratchDir, startCloud, startGatewayProcess } from '../test/support/chain.ts';
import { freePort } from '../test/support/free-port.ts';
import { benchArgs } from './support/bench-args.ts';

const here = fileURLToPath(import.meta.url);
const args = benchArgs(import.meta.url, { watch: { type: 'string', default: '20s' } });
const watchMs = parseDuration(args.watch);
const PASSWORD = 'bench password';

/** Resident set size of a process, bytes (Linux). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** What one response of the page load weighs, as transferred and decoded; null for others. */
async function measure(r: Response) {
  if (r.request().method() !== 'GET' || (r.status() !== 200 && r.status() !== 304)) return null;
  return {
    path: new URL(r.url()).pathname,
    transferredBytes: (await r.request().sizes()).responseBodySize,
    bytes: r.status() === 304 ? 0 : (await r.body()).length,
  };
}

/** Starts a gateway process for the bench's cloud and waits until both push lines are up. */
async function gatewayWithLinesUp(
  dir: string,
  cloud: { port: number; gatewayToken: string },
  status: Record<string, unknown>,
) {
  const gateway = startGatewayProcess(
    dir,
    { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
    { log: { level: 'info' }, status },
  );
  await gateway.waitFor((l) => l.msg === 'line open' && l.line === 'line-1', 20_000, 'both lines up');
  return gateway;
}

/** The highest RSS of a process while waiting ms, sampled every second, and the last sample. */
async function watchRss(pid: number, ms: number, wait: (ms: number) => Promise<unknown>) {
  let max = rss(pid);
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await wait(1000);
    max = Math.max(max, rss(pid));
  }
  return { last: rss(pid), max };
}

async function main(): Promise<void> {
  const { dir, cleanup } = scratchDir('bench-status');
  const cloud = await startCloud(dir);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  // Baseline: the same gateway without the status page.
  mkdirSync(join(dir, 'plain'));
  const plain = await gatewayWithLinesUp(join(dir, 'plain'), cloud, { enabled: false });
  const rssWithoutPage = await watchRss(plain.child.pid as number, watchMs, sleep);
  await plain.stop();

  const port = await freePort();
  const gateway = await gatewayWithLinesUp(dir, cloud, {
    listen: { host: '127.0.0.1', port },
    passwordHash: await hashPassword(PASSWORD),
  });
  const browser = await launchChromium();
  try {
    const pid = gateway.child.pid as number;
    const rssBefore = rss(pid);

    const page = await browser.newPage();
    const url = `http://127.0.0.1:${port}/`;
    // A first visit: the login form, then the page with everything it loads.
    // Bodies are read as they come: a page navigated away from has none to give.
    const loads: Array<Promise<{ path: string; transferredBytes: number; bytes: number } | null>> = [];
    page.on('response', (r) => loads.push(measure(r)));
    await page.goto(`${url}login`);
    await page.fill('input[name=password]', PASSWORD);
    let liveBytes = 0;
    page.on('websocket', (ws) => ws.on('framereceived', (f) => (liveBytes += Buffer.byteLength(f.payload))));
    await Promise.all([page.waitForURL(url), page.click('button[type=submit]')]);
    await page.locator('#live.ok').waitFor();
    await page.locator('#chart canvas').first().waitFor();
    const firstLoad = (await Promise.all(loads)).filter((f) => f !== null);
    const weight = {
      transferredBytes: firstLoad.reduce((n, f) => n + f.transferredBytes, 0),
      uncompressedBytes: firstLoad.reduce((n, f) => n + f.bytes, 0),
      files: firstLoad,
    };

    const liveAtStart = liveBytes;
    const open = await watchRss(pid, watchMs, (ms) => page.waitForTimeout(ms));
    const liveBytesPerMinute = Math.round(((liveBytes - liveAtStart) / watchMs) * 60_000);

    const report = {
      at: new Date().toISOString(),
      node: process.version,
      watchMs,
      pageWeight: weight,
      gatewayRss: {
        statusPageOffBytes: rssWithoutPage.last,
        statusPageOffMaxBytes: rssWithoutPage.max,
        linesUpBytes: rssBefore,
        pageOpenBytes: open.last,
        pageOpenMaxBytes: open.max,
      },
      liveBytesPerMinute,
    };
    console.log('status page');
    console.log(`  page weight, first load: ${(weight.transferredBytes / 1024).toFixed(1)} KiB transferred`);
    console.log(
      `                           ${(weight.uncompressedBytes / 1024).toFixed(1)} KiB uncompressed`,
    );
    for (const f of weight.files)
      console.log(`    ${f.path.padEnd(20)} ${f.transferredBytes} B (${f.bytes} B)`);
    console.log(
      `  gateway RSS, no page:    ${mb(rssWithoutPage.last)} MB (max ${mb(rssWithoutPage.max)} MB over ${args.watch})`,
    );
    console.log(`  gateway RSS, lines up:   ${mb(rssBefore)} MB`);
    console.log(`  gateway RSS, page open:  ${mb(open.last)} MB (max ${mb(open.max)} MB over ${args.watch})`);
    console.log(`  live updates:            ${(liveBytesPerMinute / 1024).toFixed(1)} KiB/min`);
    const out = join(dirname(here), 'results', 'status-page.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`  written: ${out}`);
  } finally {
    await browser.close();
    await gateway.stop();
    await cloud.proc.stop();
    cleanup();
  }
}

await main();

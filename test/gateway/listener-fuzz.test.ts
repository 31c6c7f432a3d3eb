import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../../src/secrets/password-hash.ts';
import { scratchDir, startGatewayProcess } from '../support/chain.ts';
import { type CliProcess, listeningPort } from '../support/cli-process.ts';
import type { RawAnswer } from '../support/raw-http.ts';
import {
  describeExchange,
  FuzzSender,
  type GeneratedRequest,
  pathMutation,
  requestTarget,
  upgradeHeaders,
} from '../support/request-fuzz.ts';
import { Browser } from './status/page-harness.ts';

/**
 * Issue 13, class level, the gateway's side: generated hostile request lines and handshakes
 * against a real `mfp-gateway run` process — its status page, its push proxy listener (with
 * the direct relay) and its TCP syslog intake. None carries a credential, so no protected
 * route may answer 2xx (nor set a session, nor open the live socket), no device may be
 * welcomed, nothing may be written, and the process must be up and serving at the end.
 */

const RUNS_STATUS = 2000;
const RUNS_PROXY = 1000;
const RUNS_UPGRADE = 600;
const RUNS_HELLO = 300;
const RUNS_SYSLOG = 200;
const CONNECTIONS = 4;
const PASSWORD = 'fuzz the gateway password';
const DEVICE_TOKEN = randomBytes(16).toString('hex');

let scratch: ReturnType<typeof scratchDir>;
let gateway: CliProcess;
const ports = { status: 0, proxy: 0, syslog: 0 };
const sender = new FuzzSender(CONNECTIONS);
const send = (port: number, req: GeneratedRequest) => sender.send(port, req);

beforeAll(async () => {
  scratch = scratchDir('gateway-fuzz');
  // Port 0 for each listener, read back from the log: a port reserved with freePort() is free
  // again until the gateway binds it, and on a busy CI machine another process's bind can take it.
  gateway = startGatewayProcess(
    scratch.dir,
    { url: 'ws://127.0.0.1:1/push', token: 't'.repeat(24) },
    {
      log: { level: 'info' },
      status: {
        listen: { host: '127.0.0.1', port: 0 },
        passwordHash: await hashPassword(PASSWORD),
      },
      pushProxy: {
        listen: { host: '127.0.0.1', port: 0 },
        devices: [{ id: 'mfp-1', token: DEVICE_TOKEN }],
      },
      journal: { syslog: { udp: false, tcp: { host: '127.0.0.1', port: 0 } } },
    },
  );
  ports.status = await listeningPort(gateway, 'status page listening', 'url', 30_000);
  ports.proxy = await listeningPort(gateway, 'push proxy listening', 'port', 30_000);
  ports.syslog = await listeningPort(gateway, 'syslog intake listening', 'tcp', 30_000);
}, 60_000);

afterAll(async () => {
  sender.destroy();
  await gateway?.stop();
  scratch?.cleanup();
});

/** One way to spell a path differently. */
const mutation = pathMutation({
  slashes: ['/assets/../'],
  appends: ['?offset=%zz', '?offset=99999999999999999999'],
});

const STATUS_ROUTES = [
  '/',
  '/api/status',
  '/api/diagnostics',
  '/api/live',
  '/api/power-override',
  '/metrics',
  '/login',
  '/logout',
  '/set-password',
  '/setup/onboard',
  '/setup/recheck',
  '/assets/app.js',
  '/assets/app.css',
  '/assets/../api/status',
  '/health',
  '/ready',
  '/favicon.ico',
  '//',
];
const PROXY_ROUTES = [
  '/push-proxy',
  '/direct/v1/jobs/job-1/connect',
  '/direct/v1/jobs/job-1/document',
  '/direct/v1/jobs/job-1/complete',
  '/direct/v1/jobs/%E0%A4%A/document',
  '//',
  '/',
];

/** The request target: origin, absolute, authority or asterisk form, or nothing. */
function target(routes: readonly string[]) {
  return requestTarget(() => routes, {
    mutation,
    hosts: ['x', '127.0.0.1', 'localhost:1', '[::1]', 'user:pw@x'],
    authority: 'gateway.example:8080',
  });
}

const method = fc.constantFrom(
  'GET',
  'GET',
  'POST',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'get',
  'PROPFIND',
);

/** Host headers: the box's own address, a rebound name, odd spellings, none. */
const host = (port: number) =>
  fc.constantFrom(
    `127.0.0.1:${port}`,
    `127.0.0.1:${port}`,
    `127.0.0.1:${port}`,
    `127.0.0.1:${port}`,
    `localhost:${port}`,
    `localhost:${port}`,
    `attacker.example:${port}`,
    '127.0.0.1.nip.io',
    `[::ffff:127.0.0.1]:${port}`,
    'user@127.0.0.1',
    `${'a'.repeat(300)}`,
    null,
  );

/** Credentials, all wrong: forged cookies and CSRF tokens, setup codes, passwords. */
const credentials = fc.array(
  fc.constantFrom(
    'Cookie: mfpgw_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'Cookie: mfpgw_session=%zz; mfpgw_form=x',
    'Cookie: mfpgw_form=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'X-Setup-Code: AAAA-BBBB-CCCC',
    `Authorization: Bearer ${randomBytes(16).toString('hex')}`,
    'Authorization: Basic YWRtaW46YWRtaW4=',
    'Origin: http://attacker.example',
    'Origin: null',
    'X-Forwarded-For: 127.0.0.1',
    'X-Forwarded-Host: 127.0.0.1',
  ),
  { maxLength: 3 },
);

const extraHeaders = fc.array(
  fc.oneof(
    fc.constantFrom(
      'Content-Type: application/x-www-form-urlencoded',
      'Content-Type: application/json',
      'Content-Type: text/plain',
      'Expect: 100-continue',
      'Transfer-Encoding: chunked',
      'X-Bad: \u00e9\u00ff',
    ),
    fc.integer({ min: 1000, max: 40_000 }).map((n) => `X-Pad: ${'a'.repeat(n)}`),
    fc
      .integer({ min: 10, max: 120 })
      .map((n) => Array.from({ length: n }, (_, i) => `X-H${i}: v`).join('\r\n')),
  ),
  { maxLength: 3 },
);

const body = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&password=guess&confirm=guess',
    `password=${encodeURIComponent(PASSWORD.slice(0, -1))}`,
    'setupCode=AAAA-BBBB-CCCC&password=12345678&confirm=12345678&id=x&url=wss%3A%2F%2Fevil.example%2Fpush&token=kkkkkkkkkkkkkkkkkkkk',
    '{"mode":"power-saving","forMs":60000}',
    '{',
    '%zz=%zz',
  ),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
);

let statuses = new Map<number, number>();

function checkStatusPage(req: GeneratedRequest, answer: RawAnswer): void {
  statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  const what = describeExchange(req, answer);
  expect(answer.status, what).not.toBe(101);
  expect(answer.headers['set-cookie'] ?? '', what).not.toMatch(/mfpgw_session=[^;]/);
  if (answer.status >= 200 && answer.status < 300) {
    const text = answer.body.toString('latin1');
    expect(text, what).not.toMatch(/mfpgw_info|"clientId"|type="module" src="\/assets\/app\.js"/);
    expect(answer.headers['content-type'] ?? '', what).not.toMatch(/gzip/);
  }
  expect(gateway.child.exitCode, `the gateway exited after ${what}`).toBeNull();
}

/** The push proxy listener answers nothing with 2xx without a handed-over job; an upgrade opens only at its path. */
function checkProxy(req: GeneratedRequest, answer: RawAnswer): void {
  statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  const what = describeExchange(req, answer);
  expect(answer.status >= 200 && answer.status < 300, what).toBe(false);
  if (answer.status === 101) expect(req.target.split('?')[0], what).toBe('/push-proxy');
  expect(gateway.child.exitCode, `the gateway exited after ${what}`).toBeNull();
}

async function stillServing(): Promise<void> {
  expect(gateway.child.exitCode).toBeNull();
  const base = `http://127.0.0.1:${ports.status}`;
  expect((await fetch(`${base}/health`)).status).toBe(200);
  const browser = new Browser(base);
  expect((await browser.login(PASSWORD)).status).toBe(303);
  expect((await browser.request('/api/status')).status).toBe(200);
  // Nothing was changed: no first password, no power override.
  const state = join(scratch.dir, 'gateway-state');
  expect(existsSync(join(state, 'status-password'))).toBe(false);
  expect(JSON.parse((await browser.request('/api/status')).text).power?.decision?.source ?? 'base').not.toBe(
    'override',
  );
}

function generated(port: number, routes: readonly string[], upgrade: boolean) {
  return fc
    .record({
      method: upgrade ? fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD') : method,
      target: target(routes),
      host: host(port),
      credentials,
      headers: extraHeaders,
      body: upgrade ? fc.constant('') : body,
      upgrade: upgradeHeaders('http://attacker.example'),
    })
    .map(
      (r): GeneratedRequest => ({
        method: r.method,
        target: r.target,
        host: r.host,
        headers: [
          ...r.credentials,
          ...(upgrade
            ? [
                `Connection: ${r.upgrade.connection}`,
                `Upgrade: ${r.upgrade.upgrade}`,
                `Sec-WebSocket-Version: ${r.upgrade.version}`,
                `Sec-WebSocket-Key: ${r.upgrade.key}`,
                ...(r.upgrade.extra ? [r.upgrade.extra] : []),
              ]
            : []),
          ...r.headers.filter((h) => !upgrade || !h.startsWith('Transfer-Encoding')),
        ],
        body: r.body,
        upgrade,
      }),
    );
}

describe('the gateway’s listeners under generated hostile requests (issue 13)', () => {
  it(`status page: ${RUNS_STATUS} request lines and ${RUNS_UPGRADE} upgrades without a credential reach nothing protected`, async () => {
    await fc.assert(
      fc.asyncProperty(generated(ports.status, STATUS_ROUTES, false), async (req) => {
        checkStatusPage(req, await send(ports.status, req));
      }),
      { numRuns: RUNS_STATUS, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(generated(ports.status, STATUS_ROUTES, true), async (req) => {
        checkStatusPage(req, await send(ports.status, req));
      }),
      { numRuns: RUNS_UPGRADE, endOnFailure: true },
    );
    await stillServing();
    console.info('status page: answers by status', Object.fromEntries(statuses));
    statuses = new Map();
  }, 60_000);

  it(`push proxy and direct relay: ${RUNS_PROXY} request lines and ${RUNS_UPGRADE} upgrades; the process stays up`, async () => {
    await fc.assert(
      fc.asyncProperty(generated(ports.proxy, PROXY_ROUTES, false), async (req) => {
        checkProxy(req, await send(ports.proxy, req));
      }),
      { numRuns: RUNS_PROXY, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(generated(ports.proxy, PROXY_ROUTES, true), async (req) => {
        checkProxy(req, await send(ports.proxy, req));
      }),
      { numRuns: RUNS_UPGRADE, endOnFailure: true },
    );
    await stillServing();
    console.info('push proxy: answers by status', Object.fromEntries(statuses));
    statuses = new Map();
  }, 60_000);

  it(`push proxy WebSocket: ${RUNS_HELLO} generated first frames never get a welcome without the device's token`, async () => {
    const hello = fc.oneof(
      fc
        .record({
          type: fc.constantFrom('hello', 'HELLO', 'keepalive', 'push-ack', 'sleep'),
          v: fc.oneof(fc.constant(1), fc.integer(), fc.string(), fc.constant(null)),
          deviceId: fc.oneof(
            fc.constantFrom('mfp-1', 'MFP-1', 'mfp-1 ', '', '../mfp-1'),
            fc.string({ maxLength: 300 }),
          ),
          token: fc.oneof(
            fc.constantFrom(DEVICE_TOKEN.slice(0, -1), `${DEVICE_TOKEN}x`, DEVICE_TOKEN.toUpperCase(), ''),
            fc.string({ maxLength: 100 }),
          ),
        })
        .map((m) => ({ text: JSON.stringify(m), binary: false })),
      fc.string({ maxLength: 2000 }).map((text) => ({ text, binary: false })),
      fc
        .uint8Array({ maxLength: 2000 })
        .map((b) => ({ text: Buffer.from(b).toString('latin1'), binary: true })),
      fc
        .integer({ min: 64 * 1024, max: 200 * 1024 })
        .map((n) => ({ text: `{"type":"hello","x":"${'a'.repeat(n)}"}`, binary: false })),
    );
    const welcomed: string[] = [];
    await fc.assert(
      fc.asyncProperty(hello, async ({ text, binary }) => {
        const ws = new WebSocket(`ws://127.0.0.1:${ports.proxy}/push-proxy`);
        ws.on('error', () => {});
        await new Promise<void>((resolve) => {
          ws.on('message', (data) => {
            if (String(data).includes('"welcome"')) welcomed.push(text.slice(0, 200));
          });
          ws.once('close', () => resolve());
          ws.once('open', () => ws.send(binary ? Buffer.from(text, 'latin1') : text));
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 3000).unref();
        });
        expect(welcomed).toEqual([]);
        expect(gateway.child.exitCode).toBeNull();
      }),
      { numRuns: RUNS_HELLO, endOnFailure: true },
    );
    // The device with its token still gets in.
    const ws = new WebSocket(`ws://127.0.0.1:${ports.proxy}/push-proxy`);
    const first = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.once('open', () =>
      ws.send(JSON.stringify({ type: 'hello', v: 1, deviceId: 'mfp-1', token: DEVICE_TOKEN })),
    );
    expect(JSON.parse(await first)).toMatchObject({ type: 'welcome', deviceId: 'mfp-1' });
    ws.terminate();
  }, 60_000);

  it(`syslog TCP: ${RUNS_SYSLOG} connections of generated bytes; a well-formed message still gets stored`, async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
      fc
        .constantFrom(
          '999999999999 x',
          '0 ',
          '-1 <1>1',
          '\n\n\n',
          '<999>1 - - - - - -\n',
          'GET / HTTP/1.1\r\n\r\n',
        )
        .map((t) => Buffer.from(t)),
      fc
        .integer({ min: 10_000, max: 100_000 })
        .map((n) => Buffer.from(`${n} <134>1 - - - - - - ${'x'.repeat(n)}`)),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (chunk) => {
        await new Promise<void>((resolve) => {
          const socket = connect(ports.syslog, '127.0.0.1', () => socket.end(chunk));
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.resume();
        });
        expect(gateway.child.exitCode).toBeNull();
      }),
      { numRuns: RUNS_SYSLOG, endOnFailure: true },
    );
    const line = '<134>1 2026-01-05T09:30:00.250+01:00 mfp-3f printer 77 CONN - fuzz survivor';
    await new Promise<void>((resolve) => {
      const socket = connect(ports.syslog, '127.0.0.1', () =>
        socket.end(`${Buffer.byteLength(line)} ${line}`),
      );
      socket.on('close', () => resolve());
    });
    const browser = new Browser(`http://127.0.0.1:${ports.status}`);
    await browser.login(PASSWORD);
    await expect
      .poll(async () => (await browser.request('/api/status')).text, { timeout: 10_000 })
      .toContain('fuzz survivor');
    await stillServing();
  }, 60_000);
});

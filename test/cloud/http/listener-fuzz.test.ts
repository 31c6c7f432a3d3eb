import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CloudHandle, scratchDir, startCloud } from '../../support/chain.ts';
import { rawHello } from '../../support/raw-gateway.ts';
import type { RawAnswer } from '../../support/raw-http.ts';
import {
  describeExchange,
  FuzzSender,
  type GeneratedRequest,
  pathMutation,
  requestTarget,
  upgradeHeaders,
} from '../../support/request-fuzz.ts';

/**
 * Issue 13, class-level: thousands of generated request lines against the real cloud process
 * (its one port: API, health, direct endpoints, the push and direct-stream WebSockets). None
 * carries a valid credential for what it asks, so nothing may answer 2xx but the health check,
 * no upgrade may succeed, and the process must still be up and serving at the end. Requests go
 * over a few keep-alive connections (upgrades on their own) so a run stays short.
 */

const RUNS_HTTP = 3000;
const RUNS_UPGRADE = 800;
const RUNS_FIRST_FRAME = 300;
const CONNECTIONS = 4;

let scratch: ReturnType<typeof scratchDir>;
let cloud: CloudHandle;
let jobId: string;
const sender = new FuzzSender(CONNECTIONS);
const send = (req: GeneratedRequest) => sender.send(cloud.port, req);

beforeAll(async () => {
  scratch = scratchDir('listener-fuzz');
  cloud = await startCloud(scratch.dir);
  const res = await fetch(`http://127.0.0.1:${cloud.port}/api/v1/jobs?gateway=gw1&device=mfp&type=print`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cloud.apiToken}`, 'content-type': 'application/pdf' },
    body: randomBytes(2048),
  });
  expect(res.status).toBe(202);
  jobId = ((await res.json()) as { id: string }).id;
}, 60_000);

afterAll(async () => {
  sender.destroy();
  await cloud?.proc.stop();
  scratch?.cleanup();
});

const ROUTES = () => [
  '/api/v1/gateways',
  '/api/v1/gateways/gw1',
  '/api/v1/gateways/gw1/log',
  '/api/v1/gateways/gw1/push',
  '/api/v1/gateways/gw1/token',
  '/api/v1/gateways/gw1/devices',
  '/api/v1/gateways/gw1/devices/mfp',
  '/api/v1/gateways/gw1/devices/mfp/push',
  '/api/v1/jobs',
  `/api/v1/jobs/${jobId}`,
  '/api/v1/devices',
  '/api/v1/metrics',
  `/direct/v1/jobs/${jobId}/connect`,
  `/direct/v1/jobs/${jobId}/document`,
  `/direct/v1/jobs/${jobId}/complete`,
  `/direct/v1/jobs/${jobId}/stream`,
  '/direct/v1/jobs/%E0%A4%A/stream',
  '/push',
  '/health',
  '/',
];

/** One way to spell a path differently. */
const mutation = pathMutation({ appends: ['?limit=99999999999999999999'] });

/** The request target: origin, absolute, authority or asterisk form. */
const target = requestTarget(ROUTES, {
  mutation,
  hosts: ['x', 'cloud.example', '127.0.0.1:1', '[::1]', 'user:pw@x'],
  authority: 'cloud.example:443',
});

const method = fc.constantFrom(
  'GET',
  'GET',
  'POST',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'get',
  'PROPFIND',
);

/** Credentials that are all wrong for what they are sent to. */
const authorization = () =>
  fc.constantFrom(
    null,
    'Bearer ',
    'Bearer wrong-token-0123456789abcdef',
    `Bearer ${cloud.gatewayToken}`,
    `Basic ${Buffer.from(`api:${cloud.apiToken}`).toString('base64')}`,
    `Bearer ${cloud.apiToken.slice(0, -1)}`,
    `Bearer ${cloud.apiToken}x`,
    `Token ${cloud.apiToken}`,
    'Bearer \u00ff\u00fe',
  );

const extraHeaders = fc.array(
  fc.oneof(
    fc.constantFrom(
      'Content-Type: application/json',
      'Content-Type: application/pdf',
      'Content-Type: text/plain',
      'Idempotency-Key: k',
      'X-Mfp-Gateway: gw2',
      'X-Mfp-Gateway: GW1',
      'X-Forwarded-For: 127.0.0.1',
      'Expect: 100-continue',
      'Transfer-Encoding: chunked',
      'Host: other.example',
      'Cookie: a=b',
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
    '{"type":"x","payload":1}',
    '{"id":"evil","token":"x"}',
    '{"disabled":true}',
    '{',
    'null',
    '%PDF-1.4',
  ),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
);

let statuses = new Map<number, number>();

function check(req: GeneratedRequest, answer: RawAnswer): void {
  statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  const what = describeExchange(req, answer);
  expect(answer.status, what).not.toBe(101);
  if (answer.status >= 200 && answer.status < 300) {
    // Only the health check is public; its answer is this and nothing else.
    expect(req.method.toUpperCase() === 'HEAD' || answer.body.toString() === '{"ok":true}', what).toBe(true);
  }
  expect(cloud.proc.child.exitCode, `the cloud exited after ${what}`).toBeNull();
}

async function stillServing(): Promise<void> {
  expect(cloud.proc.child.exitCode).toBeNull();
  expect((await fetch(`http://127.0.0.1:${cloud.port}/health`)).status).toBe(200);
  expect((await cloud.api('/api/v1/gateways')).status).toBe(200);
  expect((await cloud.api('/api/v1/gateways/gw1')).body).toMatchObject({ id: 'gw1', disabled: false });
}

describe('the cloud listener under generated hostile requests (issue 13)', () => {
  it(`request lines: ${RUNS_HTTP} without a credential reach nothing but /health, and the cloud stays up`, async () => {
    const request = fc.record({
      method,
      target,
      auth: authorization(),
      headers: extraHeaders,
      body,
      upgrade: fc.constant(false),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const req: GeneratedRequest = {
          host: 'cloud.example',
          method: r.method,
          target: r.target,
          headers: [...(r.auth === null ? [] : [`Authorization: ${r.auth}`]), ...r.headers],
          body: r.body,
          upgrade: false,
        };
        check(req, await send(req));
      }),
      { numRuns: RUNS_HTTP, endOnFailure: true },
    );
    await stillServing();
    console.info('request lines: answers by status', Object.fromEntries(statuses));
    statuses = new Map();
  }, 180_000);

  it(`upgrade handshakes: ${RUNS_UPGRADE} to every route (push, direct stream, API) never open a WebSocket without a credential`, async () => {
    const request = fc.record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD'),
      target,
      auth: authorization(),
      gatewayHeader: fc.constantFrom(null, 'gw2', 'GW1', 'gw1x', ''),
      upgrade: upgradeHeaders('http://evil.example'),
      headers: extraHeaders,
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const u = r.upgrade;
        const req: GeneratedRequest = {
          host: 'cloud.example',
          method: r.method,
          target: r.target,
          headers: [
            ...(r.auth === null ? [] : [`Authorization: ${r.auth}`]),
            ...(r.gatewayHeader === null ? [] : [`X-Mfp-Gateway: ${r.gatewayHeader}`]),
            `Connection: ${u.connection}`,
            `Upgrade: ${u.upgrade}`,
            `Sec-WebSocket-Version: ${u.version}`,
            `Sec-WebSocket-Key: ${u.key}`,
            ...(u.extra ? [u.extra] : []),
            ...r.headers.filter((h) => !h.startsWith('Transfer-Encoding')),
          ],
          body: '',
          upgrade: true,
        };
        check(req, await send(req));
      }),
      { numRuns: RUNS_UPGRADE, endOnFailure: true },
    );
    await stillServing();
    console.info('upgrades: answers by status', Object.fromEntries(statuses));
  }, 180_000);

  it(`push line first frames: ${RUNS_FIRST_FRAME} generated hellos on an authenticated line; only a true hello for the line's gateway is welcomed`, async () => {
    const field = fc.constantFrom(...Object.keys(rawHello));
    const oddValue = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(
        -1,
        1e308,
        Number.MAX_SAFE_INTEGER + 2,
        '',
        'gw2',
        'GW1',
        'gw1\u0000',
        '__proto__',
        30 * 86_400_000,
      ),
      fc.string({ maxLength: 300 }),
    );
    const frame = fc.oneof(
      fc.record({
        kind: fc.constant('hello' as const),
        changes: fc.dictionary(field, oddValue, { maxKeys: 3 }),
        drop: fc.option(field),
      }),
      fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 2000 }) }),
      fc.record({ kind: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 2000 }) }),
      fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 1000, max: 30_000 }) }),
      fc.record({ kind: fc.constant('huge' as const), size: fc.integer({ min: 60_000, max: 300_000 }) }),
      fc.constant({ kind: 'proto' as const }),
    );
    const encodeFrame = (f: Record<string, unknown>): string | Buffer => {
      switch (f.kind) {
        case 'hello': {
          const hello: Record<string, unknown> = { ...rawHello, ...(f.changes as object) };
          if (typeof f.drop === 'string') delete hello[f.drop];
          return JSON.stringify(hello);
        }
        case 'json':
          return JSON.stringify(f.value);
        case 'text':
          return f.text as string;
        case 'binary':
          return Buffer.from(f.bytes as Uint8Array);
        case 'deep':
          return `${'['.repeat(f.depth as number)}${']'.repeat(f.depth as number)}`;
        case 'huge':
          return JSON.stringify({ ...rawHello, software: 'x'.repeat(f.size as number) });
        default:
          return `{"__proto__":{"gatewayId":"gw1"},"constructor":{"prototype":{"v":1}},${JSON.stringify(rawHello).slice(1)}`;
      }
    };
    let welcomed = 0;
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        const data = encodeFrame(f as Record<string, unknown>);
        const ws = new WebSocket(`ws://127.0.0.1:${cloud.port}/push`, {
          headers: { authorization: `Bearer ${cloud.gatewayToken}`, 'x-mfp-gateway': 'gw1' },
        });
        ws.on('error', () => {});
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('unexpected-response', (_req, res) =>
            reject(new Error(`handshake answered ${res.statusCode}`)),
          );
        });
        const first = new Promise<Record<string, unknown> | null>((resolve) => {
          ws.once('message', (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>));
          ws.once('close', () => resolve(null));
        });
        ws.send(data);
        const answer = await first;
        if (answer?.type === 'welcome') {
          welcomed++;
          const sent = JSON.parse(String(data)) as Record<string, unknown>;
          expect(sent.gatewayId, String(data).slice(0, 300)).toBe('gw1');
          expect(sent.v).toBe(1);
        }
        ws.terminate();
        expect(cloud.proc.child.exitCode).toBeNull();
      }),
      { numRuns: RUNS_FIRST_FRAME, endOnFailure: true },
    );
    await stillServing();
    console.info(`push first frames: ${welcomed} of ${RUNS_FIRST_FRAME} welcomed`);
  }, 180_000);
});

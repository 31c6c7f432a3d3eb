import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_ROUTES } from '../../../src/cloud/api/api-auth.ts';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { RawHttpConnection } from '../../support/raw-http.ts';
import { API_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

let cloud: CloudServer;
let conn: RawHttpConnection;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  conn?.destroy();
  await cloud.stop();
});

/** Sends one raw request line (no library rewrites it) with optional extra headers and body. */
async function send(line: string, headers: string[] = [], body = ''): Promise<number> {
  if (!conn?.open) conn = new RawHttpConnection(cloud.port);
  const text = [
    line,
    'Host: cloud.example',
    ...headers,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  const answer = await conn.exchange(text.join('\r\n'), { head: line.startsWith('HEAD ') });
  return answer.status;
}

const bearer = `Authorization: Bearer ${API_TOKEN}`;

// Issue 13.1: the check looked at the raw target, Fastify routes other spellings of the same path.
describe('the cloud API token is checked on the matched route', () => {
  it.each([
    'GET /api/v1/gateways HTTP/1.1',
    'GET /%61pi/v1/gateways HTTP/1.1',
    'GET /%61%70%69/v1/%67ateways HTTP/1.1',
    'GET http://x/api/v1/gateways HTTP/1.1',
    'GET http://x/%61pi/v1/gateways HTTP/1.1',
    'GET /api/v1/gateways/ HTTP/1.1',
    'GET /api/v1/gateways?after= HTTP/1.1',
    'HEAD /api/v1/gateways HTTP/1.1',
    'GET /api/v1/gateways/gw1 HTTP/1.1',
    'GET /%61pi/v1/gateways/gw1/log HTTP/1.1',
    'GET /%61pi/v1/jobs HTTP/1.1',
    'GET /%61pi/v1/devices HTTP/1.1',
    'GET /%61pi/v1/metrics HTTP/1.1',
    'GET /no/such/route HTTP/1.1',
  ])('%s answers 401 without the token', async (line) => {
    expect(await send(line)).toBe(401);
    expect(await send(line, ['Authorization: Bearer wrong-token-0123456789'])).toBe(401);
    expect(await send(line, ['Authorization: Bearer '])).toBe(401);
    expect(
      await send(line, [`Authorization: Basic ${Buffer.from(`x:${API_TOKEN}`).toString('base64')}`]),
    ).toBe(401);
  });

  it('lets the same spellings through with the token (they are the same route)', async () => {
    expect(await send('GET /%61pi/v1/gateways HTTP/1.1', [bearer])).toBe(200);
    expect(await send('GET http://x/api/v1/gateways HTTP/1.1', [bearer])).toBe(200);
  });

  it('refuses changes without the token: a job, a push, a device override, the admin API', async () => {
    const json = 'Content-Type: application/json';
    expect(
      await send(
        'POST http://x/api/v1/jobs?gateway=gw1&device=mfp&type=print HTTP/1.1',
        ['Content-Type: application/pdf'],
        '%PDF-1.4',
      ),
    ).toBe(401);
    expect(await send('POST /%61pi/v1/gateways/gw1/push HTTP/1.1', [json], '{"type":"x","payload":1}')).toBe(
      401,
    );
    expect(
      await send('PUT /%61pi/v1/gateways/gw1/devices/mfp HTTP/1.1', [json], '{"directCapable":true}'),
    ).toBe(401);
    expect(await send('POST /%61pi/v1/gateways HTTP/1.1', [json], '{"id":"evil"}')).toBe(401);
    expect(await send('PATCH http://x/api/v1/gateways/gw1 HTTP/1.1', [json], '{"disabled":true}')).toBe(401);
    expect(await send('POST /api/v1/gateways/gw1/token HTTP/1.1', [json], '{}')).toBe(401);
    expect(await send('DELETE /%61pi/v1/gateways/gw1 HTTP/1.1')).toBe(401);
    expect(await cloud.registry.get('evil')).toBeUndefined();
    expect((await cloud.registry.get('gw1'))?.disabled).toBe(false);
    expect(await cloud.jobStore.list({ limit: 10 })).toEqual([]);
  });

  it('keeps the public list public and no more: health, and the direct endpoints with their job token', async () => {
    expect(Object.keys(PUBLIC_ROUTES).every((r) => /^(GET|HEAD|POST) \/(health|direct\/)/.test(r))).toBe(
      true,
    );
    expect(await send('GET /health HTTP/1.1')).toBe(200);
    expect(await send('GET /%68ealth HTTP/1.1')).toBe(200);
    expect(await send('POST /direct/v1/jobs/nope/connect HTTP/1.1')).toBeGreaterThanOrEqual(400);
    expect(await send('GET /direct/v1/jobs/nope/document HTTP/1.1')).toBeGreaterThanOrEqual(400);
  });
});

import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_PUSHES_IN_FLIGHT } from '../../../src/cloud/api/http-api.ts';
import { cloudPerTest, GW1_AUTH } from '../../support/cloud-per-test.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';
import { API_TOKEN } from '../../support/test-cloud.ts';

const site = cloudPerTest({ config: { push: { ackTimeout: '5s', deadline: '5s' } } });

function connect(headers: Record<string, string>): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${site.cloud.port}/push`, { headers });
}

const auth = GW1_AUTH;

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('cloud push endpoint against a misbehaving peer', () => {
  it('answers a wrong token with HTTP 401', async () => {
    const ws = connect({ authorization: 'Bearer wrong', 'x-mfp-gateway': 'gw1' });
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
    ws.terminate();
  });

  it('answers garbage instead of a hello with an error and closes', async () => {
    const ws = connect(auth);
    await new Promise((r) => ws.once('open', r));
    const closing = closed(ws);
    ws.send('{not json');
    expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'MFP_ERR_INVALID_JSON' });
    expect(await closing).toBe(1008);
  });

  it('keeps an open line after unknown and malformed messages, and still serves', async () => {
    const ws = connect(auth);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify(rawHello));
    expect(await nextMessage(ws)).toMatchObject({ type: 'welcome', connectionId: 'line-0' });
    ws.send(JSON.stringify({ type: 'teleport' }));
    const err = await nextMessage(ws);
    expect(err).toMatchObject({ type: 'error', code: 'MFP_ERR_UNKNOWN_TYPE' });
    ws.send(JSON.stringify({ type: 'keepalive', seq: -1 }));
    expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'MFP_ERR_INVALID_MESSAGE' });
    ws.send(
      JSON.stringify({
        type: 'keepalive',
        seq: 1,
        powerMode: 'normal',
        keepaliveMs: 1000,
        policyLimited: false,
      }),
    );
    expect(await nextMessage(ws)).toMatchObject({ type: 'keepalive-ack', seq: 1 });
    ws.close();
  });

  it('closes a line that sends an oversized frame with 1009', async () => {
    const ws = connect(auth);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify(rawHello));
    await nextMessage(ws);
    const closing = closed(ws);
    ws.send('x'.repeat(200_000));
    expect(await closing).toBe(1009);
    const res = await fetch(`http://127.0.0.1:${site.cloud.port}/health`);
    expect(res.status).toBe(200);
  });

  it('refuses a hello for another gateway than the token names', async () => {
    const ws = connect(auth);
    await new Promise((r) => ws.once('open', r));
    const closing = closed(ws);
    ws.send(JSON.stringify({ ...rawHello, gatewayId: 'someone-else' }));
    // Issue 13.5: not MFP_ERR_UNSUPPORTED_VERSION, which sent operators after the wrong problem.
    expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'MFP_ERR_GATEWAY_MISMATCH' });
    expect(await closing).toBe(1008);
  });

  it('lets a reconnecting line take over its old session at once', async () => {
    const first = connect(auth);
    await new Promise((r) => first.once('open', r));
    first.send(JSON.stringify(rawHello));
    await nextMessage(first);
    const firstClosed = closed(first);
    const second = connect(auth);
    await new Promise((r) => second.once('open', r));
    second.send(JSON.stringify(rawHello));
    expect(await nextMessage(second)).toMatchObject({ type: 'welcome', tookOver: true });
    expect(await firstClosed).toBe(1006);
    expect(site.cloud.push.directory.lines('gw1')).toHaveLength(1);
    second.close();
  });
});

describe('cloud push API bounds', () => {
  it('refuses pushes beyond the in-flight limit with 429 instead of queueing without bound', async () => {
    const api = (path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${site.cloud.port}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
    const ws = connect(auth);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify(rawHello));
    await nextMessage(ws);
    // The gateway never acknowledges: every push stays in flight until its deadline.
    const pending = Array.from({ length: MAX_PUSHES_IN_FLIGHT }, () =>
      api('/api/v1/gateways/gw1/push', { type: 't', payload: 1 }),
    );
    await new Promise<void>((resolve) => {
      let seen = 0;
      ws.on('message', () => {
        if (++seen === MAX_PUSHES_IN_FLIGHT) resolve();
      });
    });
    const refused = await api('/api/v1/gateways/gw1/push', { type: 't', payload: 2 });
    expect(refused.status).toBe(429);
    ws.terminate();
    await Promise.all(pending);
  });

  it('answers an API call without the token with 401 and an unknown gateway with 404', async () => {
    expect((await fetch(`http://127.0.0.1:${site.cloud.port}/api/v1/gateways/gw1`)).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${site.cloud.port}/api/v1/gateways/nope`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(res.status).toBe(404);
  });
});

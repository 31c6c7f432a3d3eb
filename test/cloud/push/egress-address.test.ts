import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../../src/config/cloud-config.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';
import { API_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

const tokens = { gw1: '1'.repeat(32), gw2: '2'.repeat(32), gw3: '3'.repeat(32) };
let cloud: CloudServer | undefined;
const opened: WebSocket[] = [];
afterEach(async () => {
  for (const ws of opened.splice(0)) ws.terminate();
  await cloud?.stop();
});

async function start(trustedProxies: string[]): Promise<CloudServer> {
  cloud = await startTestCloud({
    listen: { trustedProxies },
    gateways: Object.entries(tokens).map(([id, token]) => ({ id, token })),
  });
  return cloud;
}

/** A raw line of a gateway arriving as if through a balancer that saw `forwardedFor`. */
async function line(gatewayId: keyof typeof tokens, forwardedFor: string): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${cloud?.port}/push`, {
    headers: {
      authorization: `Bearer ${tokens[gatewayId]}`,
      'x-mfp-gateway': gatewayId,
      'x-forwarded-for': forwardedFor,
    },
  });
  opened.push(ws);
  await new Promise((r) => ws.once('open', r));
  const welcome = nextMessage(ws);
  ws.send(JSON.stringify({ ...rawHello, gatewayId }));
  expect(await welcome).toMatchObject({ type: 'welcome' });
}

async function site(gatewayId: string): Promise<{ site: string; egress: string | null }> {
  const res = await fetch(`http://127.0.0.1:${cloud?.port}/api/v1/gateways/${gatewayId}`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  const body = (await res.json()) as { site: string; connections: { egressAddress: string | null }[] };
  return { site: body.site, egress: body.connections[0]?.egressAddress ?? null };
}

describe('the egress address behind a load balancer (issue 18 item 7)', () => {
  it('takes a trusted balancer’s X-Forwarded-For: two offices on one balancer are two sites', async () => {
    await start(['127.0.0.1']);
    await line('gw1', '198.51.100.7');
    await line('gw2', '198.51.100.7');
    await line('gw3', '203.0.113.50');
    expect(await site('gw1')).toEqual({ site: 'example.com@198.51.100.7', egress: '198.51.100.7' });
    expect((await site('gw2')).site).toBe((await site('gw1')).site);
    expect((await site('gw3')).site).not.toBe((await site('gw1')).site);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    await start([]);
    await line('gw1', '198.51.100.7');
    await line('gw3', '203.0.113.50');
    expect(await site('gw1')).toMatchObject({ egress: '127.0.0.1' });
    expect((await site('gw3')).site).toBe((await site('gw1')).site);
  });

  it('refuses a config whose trusted proxy is not an address or range', () => {
    expect(() =>
      parseCloudConfig({
        listen: { trustedProxies: ['balancer.example'] },
        api: { token: API_TOKEN },
        store: { path: ':memory:' },
      }),
    ).toThrow(/CIDR/);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CloudHandle, startCloud, startGatewayProcess } from '../support/chain.ts';
import { eventually } from '../support/cli-process.ts';
import { processTeardown } from '../support/teardown.ts';

interface GatewayView {
  id: string;
  connected: boolean;
  disabled: boolean;
  source: string;
  maxTunnels: number;
  token?: string;
}

const { track, scratch } = processTeardown();

const connected = (cloud: CloudHandle, id: string, want: boolean) =>
  eventually(
    async () => (await cloud.api<GatewayView>(`/api/v1/gateways/${id}`)).body,
    (g) => g.connected === want,
    20_000,
    `${id} to be ${want ? 'connected' : 'disconnected'}`,
    100,
  );

describe('gateways registered at run time through the admin API', () => {
  it('registers gateways that connect at once, pages them, and closes their lines on rotate, disable and delete', async () => {
    const dir = scratch('gateway-admin');
    const cloud = await startCloud(dir, { gateways: [] });
    track(cloud.proc);
    const post = (body: unknown) =>
      cloud.api<GatewayView>('/api/v1/gateways', { method: 'POST', body: JSON.stringify(body) });

    expect((await cloud.api('/api/v1/gateways')).body).toEqual({ gateways: [], next: null });
    const gw1 = await post({ id: 'gw1', maxTunnels: 2 });
    expect(gw1.status).toBe(201);
    expect(gw1.body).toMatchObject({
      id: 'gw1',
      connected: false,
      disabled: false,
      source: 'api',
      maxTunnels: 2,
    });
    expect(gw1.body.token).toMatch(/^mfpgw_/);
    expect((await post({ id: 'gw1' })).status).toBe(409);
    expect((await post({ id: 'no spaces' })).status).toBe(400);
    const gw2 = await post({ id: 'gw2' });

    const gateway = (id: string, token: string) => {
      const own = join(dir, id);
      return track(
        startGatewayProcess(
          dir,
          { url: `ws://127.0.0.1:${cloud.port}/push`, token: token },
          {
            gateway: { id, domain: 'a.test.example.co.jp', stateDir: join(own, 'state') },
          },
        ),
      );
    };
    gateway('gw1', gw1.body.token as string);
    await connected(cloud, 'gw1', true);
    // The token was shown once: reads never carry it, nor its hash.
    const read = await cloud.api<Record<string, unknown>>('/api/v1/gateways/gw1');
    expect(Object.keys(read.body)).not.toContain('token');
    expect(JSON.stringify(read.body)).not.toContain('sha256:');

    const first = await cloud.api<{ gateways: GatewayView[]; next: string }>('/api/v1/gateways?limit=1');
    expect(first.body.gateways.map((g) => [g.id, g.connected])).toEqual([['gw1', true]]);
    const second = await cloud.api<{ gateways: GatewayView[]; next: string | null }>(
      `/api/v1/gateways?limit=1&after=${first.body.next}`,
    );
    expect(second.body.gateways.map((g) => g.id)).toEqual(['gw2']);
    const last = await cloud.api(`/api/v1/gateways?limit=1&after=${second.body.next}`);
    expect(last.body).toEqual({ gateways: [], next: null });

    // A new token closes the lines of the old one; the gateway, still holding it, is refused.
    const rotated = await cloud.api<GatewayView>('/api/v1/gateways/gw1/token', { method: 'POST' });
    expect(rotated.body.token).toMatch(/^mfpgw_/);
    expect(rotated.body.token).not.toBe(gw1.body.token);
    await connected(cloud, 'gw1', false);
    await cloud.proc.waitFor(
      (l) => l.msg === 'push line refused: unknown or disabled gateway, or bad token' && l.gateway === 'gw1',
      20_000,
      'the old token to be refused',
    );

    gateway('gw2', gw2.body.token as string);
    await connected(cloud, 'gw2', true);
    const disabled = await cloud.api<GatewayView>('/api/v1/gateways/gw2', {
      method: 'PATCH',
      body: JSON.stringify({ disabled: true }),
    });
    expect(disabled.body).toMatchObject({ disabled: true, source: 'api' });
    await connected(cloud, 'gw2', false);
    const push = await cloud.api('/api/v1/gateways/gw2/push', {
      method: 'POST',
      body: JSON.stringify({ type: 'x', payload: 1 }),
    });
    expect(push.status).toBe(409);

    expect((await cloud.api('/api/v1/gateways/gw2', { method: 'DELETE' })).status).toBe(204);
    expect((await cloud.api('/api/v1/gateways/gw2')).status).toBe(404);
    expect((await cloud.api('/api/v1/gateways/gw2', { method: 'DELETE' })).status).toBe(404);
  });
});

import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { PROTOCOL_VERSION } from '../../../src/protocol/messages.ts';
import { decodeStreamFromCloud } from '../../../src/protocol/push-proxy/codec.ts';
import {
  type CloudToStream,
  type GatewayToStream,
  MAX_PROXY_MESSAGE_BYTES,
} from '../../../src/protocol/push-proxy/messages.ts';
import { JsonLineChannel } from '../../../src/tunnel/json-line-channel.ts';
import { TunnelMux } from '../../../src/tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../../../src/tunnel/ws-transport.ts';
import { cloudPerTest } from '../../support/cloud-per-test.ts';
import { API_TOKEN } from '../../support/test-cloud.ts';

const site = cloudPerTest({ config: { push: { ackTimeout: '300ms', deadline: '1500ms' } } });

/** A gateway line by hand: hello naming its proxied devices, then a client-side mux. */
async function gatewayLine(proxiedDevices: string[]) {
  const ws = await site.openPush();
  ws.send(
    JSON.stringify({
      type: 'hello',
      v: PROTOCOL_VERSION,
      gatewayId: 'gw1',
      clientId: randomUUID(),
      connectionId: 'line-0',
      role: 'push',
      domain: 'a.example.com',
      uptimeMs: 1000,
      cpuLoad: 0.1,
      powerMode: 'normal',
      keepaliveMs: 50_000,
      policyLimited: false,
      software: 'test',
      lost: [],
      proxiedDevices,
    }),
  );
  await new Promise((resolve) => ws.once('message', resolve));
  const mux = new TunnelMux({ transport: wsTunnelTransport(ws), clock: systemClock, side: 'client' });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return { ws, mux, closed };
}

/** The gateway's end of a device stream, attached, answering pushes with `answer`. */
async function attachDevice(
  mux: TunnelMux,
  deviceId: string,
  answer: (
    pushId: string,
  ) => Omit<Extract<GatewayToStream, { type: 'push-status' }>, 'pushId' | 'type' | 'at'>[],
) {
  const stream = await mux.openStream({ jobId: `push-proxy:${deviceId}`, deviceId, proxy: 'push' });
  const channel = new JsonLineChannel<CloudToStream, GatewayToStream>({
    stream,
    decode: decodeStreamFromCloud,
    maxLineBytes: MAX_PROXY_MESSAGE_BYTES,
  });
  const pushes: string[] = [];
  channel.onMessage = (m) => {
    if (m.type !== 'push') return;
    pushes.push(m.pushId);
    for (const s of answer(m.pushId))
      channel.send({ type: 'push-status', pushId: m.pushId, at: Date.now(), ...s });
  };
  channel.send({
    type: 'attach',
    v: 1,
    deviceId,
    state: 'awake',
    since: Date.now(),
    keepaliveMs: 300_000,
    held: 0,
  });
  return { channel, pushes };
}

const api = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  site.cloud.app.inject({
    method,
    url,
    payload: payload as never,
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });

const pushTo = (device: string) =>
  api('POST', `/api/v1/gateways/gw1/devices/${device}/push`, { type: 'scan', payload: 1 });

function attached(device: string): Promise<void> {
  return vi.waitFor(
    async () => {
      const state = (await api('GET', '/api/v1/gateways/gw1')).json();
      const seen = state.proxiedDevices.some(
        (d: { id: string; attached: boolean }) => d.id === device && d.attached,
      );
      if (!seen) throw new Error(`${device} did not attach`);
    },
    { interval: 10 },
  );
}

describe('cloud side of the push proxy', () => {
  it('refuses streams that are not push-proxy streams of a device the line reported', async () => {
    const { mux } = await gatewayLine(['d1']);
    await expect(mux.openStream({ jobId: 'j', deviceId: 'd1' })).rejects.toMatchObject({
      code: 'MFP_TUN_ERR_OPEN_REFUSED',
      remoteCode: 'NOT_ALLOWED',
    });
    await expect(
      mux.openStream({ jobId: 'push-proxy:d9', deviceId: 'd9', proxy: 'push' }),
    ).rejects.toMatchObject({
      remoteCode: 'NOT_ALLOWED',
    });
    expect((await pushTo('d9')).statusCode).toBe(404);
    const big = await api('POST', '/api/v1/gateways/gw1/devices/d1/push', {
      type: 'scan',
      payload: 'x'.repeat(70_000),
    });
    expect(big.statusCode).toBe(413);
  });

  it('pushes over the device stream: delivered is 200, held is 202, each a record of the device connection', async () => {
    const { mux } = await gatewayLine(['d1', 'd2']);
    await attachDevice(mux, 'd1', () => [{ status: 'received' }, { status: 'delivered' }]);
    await attachDevice(mux, 'd2', () => [
      { status: 'received' },
      { status: 'held', held: 1, expiresAt: Date.now() + 60_000 },
    ]);
    await attached('d1');
    await attached('d2');
    const delivered = await pushTo('d1');
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json()).toMatchObject({
      delivered: true,
      held: false,
      connection: 'proxy/d1',
      line: 'line-0',
    });
    const held = await pushTo('d2');
    expect(held.statusCode).toBe(202);
    expect(held.json()).toMatchObject({
      delivered: false,
      held: true,
      heldCount: 1,
      expiresAt: expect.any(String),
    });
    const log = (await api('GET', '/api/v1/gateways/gw1/log')).json();
    expect(
      log.records.map((r: { connectionId: string; status: string }) => [r.connectionId, r.status]),
    ).toEqual([
      ['proxy/d1', 'OK'],
      ['proxy/d2', 'OK'],
    ]);
    const state = (await api('GET', '/api/v1/gateways/gw1')).json();
    expect(state.proxiedDevices.map((d: { id: string; pushes: unknown }) => [d.id, d.pushes])).toEqual([
      ['d1', { delivered: 1, held: 0, expired: 0, refused: 0, failed: 0 }],
      ['d2', { delivered: 0, held: 1, expired: 0, refused: 0, failed: 0 }],
    ]);
  });

  it('takes a missing receipt as a dead line: drops it, logs NG, and answers 503 at the deadline', async () => {
    const { mux, closed } = await gatewayLine(['d1']);
    const device = await attachDevice(mux, 'd1', () => []);
    await attached('d1');
    const answer = await pushTo('d1');
    await closed;
    expect(device.pushes).toHaveLength(1);
    expect(answer.statusCode).toBe(503);
    expect(answer.json()).toMatchObject({ delivered: false, held: false, refused: false });
    const log = (await api('GET', '/api/v1/gateways/gw1/log')).json();
    expect(log.records).toEqual([
      expect.objectContaining({ connectionId: 'proxy/d1', status: 'NG', failure: 'ack-timeout' }),
    ]);
  });

  it('says refused when the gateway’s hold queue is full', async () => {
    const { mux } = await gatewayLine(['d1']);
    await attachDevice(mux, 'd1', () => [{ status: 'received' }, { status: 'refused', reason: 'hold.max' }]);
    await attached('d1');
    const answer = await pushTo('d1');
    expect(answer.statusCode).toBe(503);
    expect(answer.json()).toMatchObject({ refused: true, reason: 'hold.max' });
  });
});

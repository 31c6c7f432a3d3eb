import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { DirectRelay } from '../../../src/gateway/push-proxy/direct-relay.ts';
import { PushProxy, type PushProxySettings } from '../../../src/gateway/push-proxy/push-proxy.ts';
import { decodeForDevice, decodeStreamFromGateway } from '../../../src/protocol/push-proxy/codec.ts';
import {
  type CloudToStream,
  type GatewayToDevice,
  type GatewayToStream,
  MAX_PROXY_MESSAGE_BYTES,
} from '../../../src/protocol/push-proxy/messages.ts';
import { JsonLineChannel } from '../../../src/tunnel/json-line-channel.ts';
import { capturedLogs } from '../../support/captured-logs.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { muxPair, settle } from '../../tunnel/mux-pair.ts';

const defer = deferredTeardown();
const TOKENS = { a: 'token-of-device-a-000', b: 'token-of-device-b-000' };
const KEEPALIVE_MS = 60_000;

type Cloud = JsonLineChannel<GatewayToStream, CloudToStream> & { heard: GatewayToStream[] };

/** A push proxy on a real LAN socket, its streams opened on an in-memory line to a scripted cloud. */
async function harness(hold: Partial<PushProxySettings['hold']> = {}, dir = scratchDir()) {
  const pair = muxPair();
  const { logger, logs } = capturedLogs();
  const cloud = new Map<string, Cloud>();
  pair.cloud.onStream((request) => {
    const channel = new JsonLineChannel<GatewayToStream, CloudToStream>({
      stream: request.accept(),
      decode: decodeStreamFromGateway,
      maxLineBytes: MAX_PROXY_MESSAGE_BYTES,
    }) as Cloud;
    channel.heard = [];
    channel.onMessage = (m) => channel.heard.push(m);
    cloud.set(request.target.deviceId as string, channel);
  });
  const settings: PushProxySettings = {
    listen: { host: '127.0.0.1', port: 0 },
    devices: [
      { id: 'a', token: TOKENS.a },
      { id: 'b', token: TOKENS.b },
    ],
    lanKeepalive: KEEPALIVE_MS,
    ackTimeout: 5000,
    hold: { max: 10, maxBytes: 1_000_000, ttl: 3_600_000, ...hold },
  };
  const proxy = new PushProxy({
    settings,
    stateDir: dir,
    open: (target) => ({ line: 'line-0', stream: pair.gateway.openStream(target) }),
    clock: pair.clock,
    logger,
    backoff: { initialMs: 100, maxMs: 1000 },
    relay: new DirectRelay({
      listenHost: '127.0.0.1',
      relayUrl: undefined,
      agentFor: () => undefined,
      ca: undefined,
      clock: pair.clock,
      logger: logger,
    }),
  });
  const port = await proxy.start();
  defer(() => proxy.stop());
  await settle();
  const stream = (id: string) => {
    const channel = cloud.get(id);
    if (!channel) throw new Error(`no stream for device ${id}`);
    return channel;
  };
  return { proxy, port, clock: pair.clock, logs, stream };
}

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mfpgw-push-proxy-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A LAN device speaking the proxy protocol by hand. */
async function device(port: number, deviceId: string, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/push-proxy`);
  defer(() => ws.terminate());
  const heard: GatewayToDevice[] = [];
  const waiters: { match: (m: GatewayToDevice) => boolean; resolve: (m: GatewayToDevice) => void }[] = [];
  ws.on('message', (data) => {
    const decoded = decodeForDevice(data as Buffer);
    if (!decoded.ok) throw decoded.error;
    heard.push(decoded.message);
    for (const w of [...waiters]) {
      if (w.match(decoded.message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(decoded.message);
      }
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  const send = (message: unknown) => ws.send(JSON.stringify(message));
  send({ type: 'hello', v: 1, deviceId, token });
  const next = <T extends GatewayToDevice['type']>(
    type: T,
    match: (m: GatewayToDevice) => boolean = () => true,
  ) =>
    new Promise<Extract<GatewayToDevice, { type: T }>>((resolve) => {
      const found = heard.find((m) => m.type === type && match(m));
      if (found) resolve(found as Extract<GatewayToDevice, { type: T }>);
      else
        waiters.push({
          match: (m) => m.type === type && match(m),
          resolve: resolve as (m: GatewayToDevice) => void,
        });
    });
  return { ws, heard, send, next, closed };
}

const push = (pushId: string) => ({
  type: 'push' as const,
  pushId,
  dataType: 'scan',
  payload: { id: pushId },
});

function statusOf(cloud: Cloud, pushId: string, status: string): Promise<GatewayToStream> {
  return vi.waitFor(
    () => {
      const found = cloud.heard.find(
        (m) => m.type === 'push-status' && m.pushId === pushId && m.status === status,
      );
      if (!found) throw new Error(`no ${status} for ${pushId}; heard ${JSON.stringify(cloud.heard)}`);
      return found;
    },
    { interval: 5 },
  );
}

describe('push proxy: silent sockets (issue 13, finding 9)', () => {
  it('keeps a real device in: silent sockets past the bounds close, oldest first, instead of the newcomer', async () => {
    const h = await harness();
    const silent: WebSocket[] = [];
    for (let i = 0; i < 40; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}/push-proxy`);
      defer(() => ws.terminate());
      ws.on('error', () => {});
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
      });
      silent.push(ws);
    }
    const d = await device(h.port, 'a', TOKENS.a);
    expect(await d.next('welcome')).toMatchObject({ deviceId: 'a' });
    // One source keeps at most 4 sockets that have not said hello; the newest ones stay.
    await vi.waitFor(() =>
      expect(silent.filter((ws) => ws.readyState === WebSocket.OPEN).length).toBeLessThanOrEqual(4),
    );
    expect(silent.at(-1)?.readyState).toBe(WebSocket.OPEN);
    expect(silent[0]?.readyState).not.toBe(WebSocket.OPEN);
  });
});

describe('push proxy on the gateway', () => {
  it('opens one stream per device and attaches it with the device state', async () => {
    const h = await harness();
    expect(h.stream('a').heard[0]).toMatchObject({ type: 'attach', deviceId: 'a', state: 'gone', held: 0 });
    expect(h.stream('b').heard[0]).toMatchObject({
      type: 'attach',
      deviceId: 'b',
      keepaliveMs: KEEPALIVE_MS,
    });
  });

  it('refuses a wrong token, an unknown device and another device’s token, and logs each', async () => {
    const h = await harness();
    for (const [id, token] of [
      ['a', 'wrong-token-000000000'],
      ['zz', TOKENS.a],
      ['a', TOKENS.b],
    ] as const) {
      const d = await device(h.port, id, token);
      expect(await d.next('error')).toMatchObject({ code: 'MFP_PXY_ERR_AUTH' });
      expect(await d.closed).toBe(1008);
    }
    expect(h.proxy.status().refused).toBe(3);
    expect(h.logs.filter((l) => String(l.msg).startsWith('device refused'))).toHaveLength(3);
    expect(h.proxy.status().devices.every((d) => d.state === 'gone')).toBe(true);
  });

  it('answers keep-alives on the LAN with the interval it chose; nothing goes upstream', async () => {
    const h = await harness();
    const a = await device(h.port, 'a', TOKENS.a);
    expect(await a.next('welcome')).toMatchObject({ keepaliveMs: KEEPALIVE_MS, held: 0 });
    await statusOrState(h.stream('a'), 'awake');
    const upstreamBefore = h.stream('a').heard.length;
    for (let seq = 0; seq < 3; seq++) {
      a.send({ type: 'keepalive', seq });
      expect(await a.next('keepalive-ack', (m) => m.type === 'keepalive-ack' && m.seq === seq)).toMatchObject(
        {
          keepaliveMs: KEEPALIVE_MS,
        },
      );
    }
    await settle();
    expect(h.stream('a').heard).toHaveLength(upstreamBefore);
    expect(h.proxy.status().devices.find((d) => d.id === 'a')?.keepalives.count).toBe(3);
  });

  it('gives a device only its own pushes', async () => {
    const h = await harness();
    const a = await device(h.port, 'a', TOKENS.a);
    const b = await device(h.port, 'b', TOKENS.b);
    await a.next('welcome');
    await b.next('welcome');
    h.stream('a').send(push('for-a'));
    const got = await a.next('push');
    a.send({ type: 'push-ack', pushId: got.pushId });
    await statusOf(h.stream('a'), 'for-a', 'delivered');
    expect(
      h
        .stream('a')
        .heard.filter((m) => m.type === 'push-status')
        .map((m) => m.type === 'push-status' && m.status),
    ).toEqual(['received', 'delivered']);
    expect(b.heard.filter((m) => m.type === 'push')).toEqual([]);
  });

  it('holds pushes for a device gone silent, in order, and hands them over when it returns', async () => {
    const h = await harness();
    const a = await device(h.port, 'a', TOKENS.a);
    await a.next('welcome');
    h.clock.advance(2 * KEEPALIVE_MS + 5000);
    expect(await a.closed).toBe(1006);
    await statusOrState(h.stream('a'), 'gone', 2);
    for (const id of ['p1', 'p2', 'p3']) {
      h.stream('a').send(push(id));
      expect(await statusOf(h.stream('a'), id, 'held')).toMatchObject({ held: Number(id[1]) });
    }
    const back = await device(h.port, 'a', TOKENS.a);
    expect(await back.next('welcome')).toMatchObject({ held: 3 });
    const order: string[] = [];
    for (const id of ['p1', 'p2', 'p3']) {
      const p = await back.next('push', (m) => m.type === 'push' && m.pushId === id);
      expect(p.heldSince).toEqual(expect.any(Number));
      order.push(p.pushId);
      back.send({ type: 'push-ack', pushId: p.pushId });
    }
    expect(back.heard.filter((m) => m.type === 'push').map((m) => m.type === 'push' && m.pushId)).toEqual(
      order,
    );
    await statusOf(h.stream('a'), 'p3', 'delivered');
    expect(h.proxy.status().held.pushes).toBe(0);
  });

  it('tells the cloud a sleeping device’s push expired, and refuses pushes past hold.max', async () => {
    const h = await harness({ max: 2, ttl: 600_000 });
    const a = await device(h.port, 'a', TOKENS.a);
    await a.next('welcome');
    a.send({ type: 'sleep' });
    a.ws.close(1000, 'sleep');
    await statusOrState(h.stream('a'), 'sleeping');
    h.stream('a').send(push('old'));
    await statusOf(h.stream('a'), 'old', 'held');
    h.clock.advance(300_000);
    h.stream('a').send(push('new'));
    await statusOf(h.stream('a'), 'new', 'held');
    h.stream('a').send(push('third'));
    expect(await statusOf(h.stream('a'), 'third', 'refused')).toMatchObject({
      reason: expect.stringMatching(/hold.max/),
    });
    h.clock.advance(300_000);
    expect(await statusOf(h.stream('a'), 'old', 'expired')).toMatchObject({ held: 1 });
    expect(h.proxy.status().devices.find((d) => d.id === 'a')?.pushes).toEqual({
      delivered: 0,
      held: 2,
      expired: 1,
      refused: 1,
    });
  });
});

describe('push proxy across a gateway restart', () => {
  it('still shows a device that went to sleep as asleep since then; one that was connected comes back gone', async () => {
    const dir = scratchDir();
    const before = await harness({}, dir);
    const a = await device(before.port, 'a', TOKENS.a);
    const b = await device(before.port, 'b', TOKENS.b);
    await Promise.all([a.next('welcome'), b.next('welcome')]);
    before.clock.advance(90_000);
    a.send({ type: 'sleep' });
    a.ws.close(1000, 'sleep');
    await statusOrState(before.stream('a'), 'sleeping');
    const asleep = before.proxy.status().devices.find((d) => d.id === 'a');
    await before.proxy.stop();

    const after = await harness({}, dir);
    expect(after.stream('a').heard[0]).toMatchObject({
      type: 'attach',
      state: 'sleeping',
      since: asleep?.since,
    });
    expect(after.stream('b').heard[0]).toMatchObject({ type: 'attach', state: 'gone' });
    expect(after.proxy.status().devices.map((d) => [d.id, d.state])).toEqual([
      ['a', 'sleeping'],
      ['b', 'gone'],
    ]);
  });
});

/** Waits for the n-th state message (or attach) naming the state. */
function statusOrState(cloud: Cloud, state: string, nth = 1): Promise<void> {
  return vi.waitFor(
    () => {
      const seen = cloud.heard.filter(
        (m) => (m.type === 'state' || m.type === 'attach') && m.state === state,
      );
      if (seen.length < nth) throw new Error(`no state ${state}; heard ${JSON.stringify(cloud.heard)}`);
    },
    { interval: 5 },
  );
}

import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { pushProxyView } from '../../../src/gateway/status/gateway-providers.ts';
import type { PushProxyView } from '../../../src/gateway/status/status-model.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { startTestPage } from './page-harness.ts';
import {
  lanDevice,
  proxied,
  proxyProviders,
  proxyStatus,
  startProxy,
  startProxyPage,
  T0,
  tokenOf,
} from './proxy-harness.ts';

const defer = deferredTeardown();

describe('pushProxyView', () => {
  it('maps each device’s state, held pushes, push counts, keep-alives, last seen and bytes, and sums the totals', () => {
    const view = pushProxyView(
      proxyStatus(
        [
          proxied('mfp1', {
            state: 'awake',
            since: T0 + 1000,
            remoteAddress: '192.168.1.20',
            software: 'sim-mfp 1.0',
            keepalives: { count: 4, shortestGapMs: 299_000, lastAt: T0 + 900_000 },
            pushes: { delivered: 7, held: 2, expired: 0, refused: 0 },
            bytes: { fromDevice: 300, toDevice: 1200, upstreamIn: 2000, upstreamOut: 400 },
            upstream: { ...proxied('x').upstream, state: 'up', line: 'line-0' },
          }),
          proxied('mfp2', {
            state: 'sleeping',
            since: T0 + 5000,
            held: 3,
            pushes: { delivered: 1, held: 3, expired: 1, refused: 0 },
            bytes: { fromDevice: 100, toDevice: 50, upstreamIn: 10, upstreamOut: 0 },
          }),
          proxied('mfp3'),
        ],
        { refused: 2, held: { pushes: 3, bytes: 420 } },
      ),
    );
    expect(view).toEqual<PushProxyView>({
      listening: { host: '0.0.0.0', port: 8081 },
      keepaliveMs: 300_000,
      refused: 2,
      held: { pushes: 3, bytes: 420 },
      bytes: { lan: 1650, cloud: 2410 },
      devices: [
        {
          id: 'mfp1',
          state: 'awake',
          since: T0 + 1000,
          remoteAddress: '192.168.1.20',
          software: 'sim-mfp 1.0',
          keepaliveMs: 300_000,
          keepalives: 4,
          shortestGapMs: 299_000,
          lastSeenAt: T0 + 900_000,
          held: 0,
          pushes: { delivered: 7, held: 2, expired: 0, refused: 0 },
          bytes: { lan: 1500, cloud: 2400 },
          upstream: 'up',
        },
        expect.objectContaining({ id: 'mfp2', state: 'sleeping', held: 3, lastSeenAt: T0 + 5000 }),
        expect.objectContaining({ id: 'mfp3', state: 'gone', lastSeenAt: null, upstream: 'down' }),
      ],
    });
  });

  it('takes an awake device without keep-alives yet as seen when it connected', () => {
    const [device] = pushProxyView(proxyStatus([proxied('mfp1', { state: 'awake', since: T0 + 7 })])).devices;
    expect(device?.lastSeenAt).toBe(T0 + 7);
  });
});

describe('the push proxy section', () => {
  it('is null (hidden) in the page’s state when the proxy is not configured', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { auth: 'none' }, defer);
    const status = (await (await fetch(`${url}/api/status`)).json()) as Record<string, unknown>;
    expect(status).toHaveProperty('pushProxy', null);
  });

  it('follows a real proxy’s devices: connected, asleep, gone, and refused connections', async () => {
    const clock = new ManualClock(T0);
    const { proxy, port } = await startProxy(clock, defer, ['mfp1', 'mfp2']);
    const providers = proxyProviders(clock, proxy);
    const row = (id: string) => providers.pushProxy()?.devices.find((d) => d.id === id);

    expect(providers.pushProxy()).toMatchObject({
      listening: { host: '127.0.0.1', port },
      keepaliveMs: 60_000,
      refused: 0,
      held: { pushes: 0, bytes: 0 },
    });
    expect(row('mfp1')).toMatchObject({ state: 'gone', lastSeenAt: null, keepaliveMs: 60_000 });

    const mfp1 = await lanDevice(port, 'mfp1', defer);
    expect(mfp1.answer).toMatchObject({ type: 'welcome', keepaliveMs: 60_000 });
    clock.advance(30_000);
    mfp1.send({ type: 'keepalive', seq: 1 });
    await vi.waitFor(() => expect(row('mfp1')?.keepalives).toBe(1));
    expect(row('mfp1')).toMatchObject({
      state: 'awake',
      since: T0,
      remoteAddress: '127.0.0.1',
      software: 'sim-mfp 1.0',
      lastSeenAt: T0 + 30_000,
      upstream: 'down',
    });
    expect(row('mfp1')?.bytes.lan).toBeGreaterThan(0);

    mfp1.send({ type: 'sleep' });
    clock.advance(5_000);
    mfp1.ws.close();
    await vi.waitFor(() => expect(row('mfp1')?.state).toBe('sleeping'));
    expect(row('mfp1')).toMatchObject({ since: T0 + 35_000, lastSeenAt: T0 + 35_000, keepalives: 1 });

    const mfp2 = await lanDevice(port, 'mfp2', defer);
    mfp2.ws.terminate();
    await vi.waitFor(() => expect(row('mfp2')).toMatchObject({ state: 'gone', lastSeenAt: T0 + 35_000 }));

    const impostor = await lanDevice(port, 'mfp2', defer, tokenOf('mfp1'));
    expect(impostor.answer).toMatchObject({ type: 'error', code: 'MFP_PXY_ERR_AUTH' });
    await vi.waitFor(() => expect(providers.pushProxy()?.refused).toBe(1));
    expect(row('mfp2')?.state).toBe('gone');
  });

  it('is pushed to a watching browser when a proxied device wakes, within a tick and without polling', async () => {
    const clock = new ManualClock(T0);
    const { port, url } = await startProxyPage(clock, defer, ['mfp1'], {
      live: { minGap: '1s', refresh: '1h' },
    });

    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`);
    defer(() => ws.terminate());
    const messages: {
      type: string;
      status?: { pushProxy: PushProxyView };
      sections?: Record<string, unknown>;
    }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await vi.waitFor(() => expect(messages).toHaveLength(1));
    expect(messages[0]?.status?.pushProxy.devices).toEqual([
      expect.objectContaining({ id: 'mfp1', state: 'gone' }),
    ]);

    // Nothing changed: the ticks send nothing. A fixed wait, as it proves that no message comes.
    clock.advance(5_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(messages).toHaveLength(1);

    await lanDevice(port, 'mfp1', defer);
    clock.advance(1_000);
    await vi.waitFor(() => expect(messages).toHaveLength(2));
    expect(messages[1]).toMatchObject({
      type: 'patch',
      sections: { pushProxy: { devices: [expect.objectContaining({ id: 'mfp1', state: 'awake' })] } },
    });
  });
});

import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cloudPerTest } from '../../support/cloud-per-test.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';

const site = cloudPerTest({ gw1: { cpuThreshold: '85%', lineThreshold: '1m' } });

async function gatewayLoad(): Promise<Record<string, unknown> | null> {
  return (await site.api<{ load: Record<string, unknown> | null }>('/api/v1/gateways/gw1')).body.load;
}

async function openLine(): Promise<WebSocket> {
  const ws = await site.openPush();
  const welcome = nextMessage(ws);
  ws.send(JSON.stringify(rawHello));
  expect(await welcome).toMatchObject({ type: 'welcome' });
  return ws;
}

describe('the gateway’s load reaches the cloud (seed 001’s CPU and line-speed triggers)', () => {
  it('takes CPU usage and line speed from keep-alives and load messages, and refuses bad ones', async () => {
    const ws = await openLine();
    expect(await gatewayLoad()).toBeNull();

    const ack = nextMessage(ws);
    ws.send(
      JSON.stringify({
        type: 'keepalive',
        seq: 0,
        powerMode: 'normal',
        keepaliveMs: 1000,
        policyLimited: false,
        cpuUsage: 0.25,
        lineBytesPerSec: null,
      }),
    );
    expect(await ack).toMatchObject({ type: 'keepalive-ack', seq: 0 });
    expect(await gatewayLoad()).toMatchObject({ cpuUsage: 0.25, lineBytesPerSec: null });

    ws.send(JSON.stringify({ type: 'load', cpuUsage: 0.9, lineBytesPerSec: 250_000 }));
    await expect.poll(gatewayLoad).toMatchObject({ cpuUsage: 0.9, lineBytesPerSec: 250_000 });

    // A keep-alive from a gateway that predates load reports changes nothing.
    const ack2 = nextMessage(ws);
    ws.send(
      JSON.stringify({
        type: 'keepalive',
        seq: 1,
        powerMode: 'normal',
        keepaliveMs: 1000,
        policyLimited: false,
      }),
    );
    await ack2;
    expect(await gatewayLoad()).toMatchObject({ cpuUsage: 0.9, lineBytesPerSec: 250_000 });

    const error = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'load', cpuUsage: 1.5, lineBytesPerSec: -1 }));
    expect(await error).toMatchObject({ type: 'error' });
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(await gatewayLoad()).toMatchObject({ cpuUsage: 0.9, lineBytesPerSec: 250_000 });
    ws.terminate();
  });
});

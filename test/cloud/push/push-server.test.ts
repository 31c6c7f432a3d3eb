import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { type CloudServer, startCloudServer } from '../../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../../src/config/cloud-config.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';

// PushServer's own decisions on the manual clock: the cloud runs in this process, its timers on
// the test's clock, and raw WebSocket peers play the gateway.
const TOKEN = 'g'.repeat(32);
const HELLO_DEADLINE_MS = 10_000;

let cloud: CloudServer | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function start(): Promise<{ cloud: CloudServer; clock: ManualClock }> {
  const clock = new ManualClock();
  cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: 'a'.repeat(32) },
      gateways: [{ id: 'gw1', token: TOKEN }],
      store: { path: ':memory:' },
    }),
    { logger: silentLogger(), clock },
  );
  return { cloud, clock };
}

/** A raw line that authenticates as gw1 and is open, hello not yet said. */
async function openLine(
  server: CloudServer,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/push`, {
    headers: { authorization: `Bearer ${TOKEN}`, 'x-mfp-gateway': 'gw1' },
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('PushServer on the manual clock', () => {
  it('closes a line that never says hello at the deadline', async () => {
    const { cloud: server, clock } = await start();
    const { closed } = await openLine(server);
    clock.advance(HELLO_DEADLINE_MS);
    expect(await closed).toEqual({ code: 1008, reason: 'no hello' });
  });

  it('welcomes a hello that comes just before the deadline', async () => {
    const { cloud: server, clock } = await start();
    const { ws } = await openLine(server);
    clock.advance(HELLO_DEADLINE_MS - 1);
    const welcome = nextMessage(ws);
    ws.send(JSON.stringify(rawHello));
    expect(await welcome).toMatchObject({ type: 'welcome' });
    // Past the deadline now, the line stays: the timer ended with the hello.
    clock.advance(HELLO_DEADLINE_MS);
    expect(server.push.directory.get('gw1')?.lines.size).toBe(1);
    ws.close();
  });

  it('refuses a hello that names another gateway with its own error code', async () => {
    const { cloud: server } = await start();
    const { ws, closed } = await openLine(server);
    const answer = nextMessage(ws);
    ws.send(JSON.stringify({ ...rawHello, gatewayId: 'gw2' }));
    expect(await answer).toMatchObject({ type: 'error', code: 'MFP_ERR_GATEWAY_MISMATCH' });
    expect((await closed).code).toBe(1008);
  });

  it('lets no line authorized before a credentials change in, even if its hello comes after', async () => {
    const { cloud: server, clock } = await start();
    const { ws, closed } = await openLine(server);
    server.push.closeGateway('gw1', 'token rotated');
    clock.advance(1_000);
    ws.send(JSON.stringify(rawHello));
    expect(await closed).toEqual({ code: 1000, reason: 'gateway credentials changed' });
    // A line opened after the change is welcome.
    const fresh = await openLine(server);
    const welcome = nextMessage(fresh.ws);
    fresh.ws.send(JSON.stringify(rawHello));
    expect(await welcome).toMatchObject({ type: 'welcome' });
    fresh.ws.close();
  });
});

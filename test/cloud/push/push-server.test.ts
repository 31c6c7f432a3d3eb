import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';
import { startTestCloud } from '../../support/test-cloud.ts';

// PushServer's own decisions on the manual clock: the cloud runs in this process, its timers on
// the test's clock, and raw WebSocket peers play the gateway.
const TOKEN = 'g'.repeat(32);
const HELLO_DEADLINE_MS = 10_000;

let cloud: CloudServer | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function start(
  keepalive: Record<string, unknown> = {},
): Promise<{ cloud: CloudServer; clock: ManualClock }> {
  const clock = new ManualClock();
  cloud = await startTestCloud({ gateways: [{ id: 'gw1', token: TOKEN }], keepalive }, { clock });
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

  it('asks for a lost line over the line heard from last, a probe line too (7 s proxy: push lines dead)', async () => {
    const { cloud: server, clock } = await start();
    const said = async (connectionId: string, role: 'push' | 'probe') => {
      const { ws } = await openLine(server);
      const welcome = nextMessage(ws);
      ws.send(JSON.stringify({ ...rawHello, connectionId, role }));
      await welcome;
      return ws;
    };
    const push = await said('line-0', 'push');
    const probe = await said('probe', 'probe');
    const lost = await said('probe-1', 'probe');
    // The push line has been silent for 5 s (behind a 7 s proxy, soon dead); the probe line
    // just answered (a probe-ack, here for no probe at all: any packet proves the line).
    clock.advance(5_000);
    probe.send(JSON.stringify({ type: 'probe-ack', probeId: 'none' }));
    const probeLine = () => server.push.directory.lines('gw1').find((l) => l.connectionId === 'probe');
    await vi.waitFor(() => expect(probeLine()?.silenceMs()).toBe(0));
    const restore = new Promise<[string, Record<string, unknown>]>((resolve) => {
      for (const [name, ws] of [
        ['line-0', push],
        ['probe', probe],
      ] as const)
        ws.on('message', (d) => {
          const message = JSON.parse(String(d)) as Record<string, unknown>;
          if (message.type === 'restore') resolve([name, message]);
        });
    });
    expect(server.push.restore('gw1', ['probe-1'], 'probe failed')).toBe(true);
    expect(await restore).toEqual(['probe', expect.objectContaining({ connectionIds: ['probe-1'] })]);
    for (const ws of [push, probe, lost]) ws.close();
  });

  it('ends probing on the probe lines themselves: says so, then closes them (their own close may never arrive)', async () => {
    // With probing off, the first plan for a probe line is "stop": as at convergence.
    const { cloud: server } = await start({ probe: false });
    const push = await openLine(server);
    const pushWelcome = nextMessage(push.ws);
    push.ws.send(JSON.stringify(rawHello));
    await pushWelcome;
    const probe = await openLine(server);
    const received: Record<string, unknown>[] = [];
    probe.ws.on('message', (d) => received.push(JSON.parse(String(d)) as Record<string, unknown>));
    probe.ws.send(JSON.stringify({ ...rawHello, connectionId: 'probe', role: 'probe' }));
    expect(await probe.closed).toEqual({ code: 1000, reason: 'probing finished' });
    expect(received.map((m) => m.type)).toEqual(['welcome', 'advice']);
    expect(received[1]).toMatchObject({ probe: false });
    push.ws.close();
  }, 10_000);

  it('drops a probe line that does not answer the close that ends probing after a probe answer wait', async () => {
    const { cloud: server, clock } = await start({ probe: false });
    const probe = await openLine(server);
    probe.ws.send(JSON.stringify({ ...rawHello, connectionId: 'probe', role: 'probe' }));
    // A line the middlebox forgot: nothing the cloud sends reaches the gateway, nothing comes back.
    (probe.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const probeLines = () => server.push.directory.lines('gw1', 'probe');
    await vi.waitFor(() => expect(probeLines()).toHaveLength(1));
    await vi.waitFor(() => {
      clock.advance(3_000);
      expect(probeLines()).toHaveLength(0);
    });
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

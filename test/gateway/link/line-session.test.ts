import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { LineSession } from '../../../src/gateway/link/line-session.ts';
import { lineHeaders } from '../../../src/gateway/link/line-supervisor.ts';
import type { Hello } from '../../../src/protocol/messages.ts';
import { rawHello } from '../../support/raw-gateway.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { GATEWAY_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

const defer = deferredTeardown();

describe("a gateway line session's tunnels", () => {
  it('carry a tunnel the cloud opens, byte-exact, with one message listener on the socket', async () => {
    const clock = new SystemClock();
    const cloud = await startTestCloud({}, { clock });
    defer(() => cloud.stop());
    let tunnelFrames = 0;
    const session = new LineSession({
      url: `${cloud.url.replace('http', 'ws')}/push`,
      headers: lineHeaders('gw1', GATEWAY_TOKEN),
      clock,
      hello: rawHello as Hello,
      openTimeoutMs: 5000,
      // The device end: answers with the bytes it got, reversed.
      onTunnel: (request) => {
        const stream = request.accept();
        stream.on('error', () => {});
        const got: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => got.push(chunk));
        stream.on('end', () => stream.end(Buffer.concat(got).reverse()));
      },
    });
    session.onTunnelFrames = () => tunnelFrames++;
    await session.open();
    defer(() => session.close());

    const ws = (session as unknown as { ws: import('ws').WebSocket }).ws;
    expect(ws.listenerCount('message')).toBe(1);

    const line = cloud.push.directory.lines('gw1')[0];
    const mux = line?.tunnels;
    if (!mux) throw new Error('no tunnels on the cloud side of the line');
    const stream = await mux.openStream({ jobId: 'job-1', host: '10.0.0.7', port: 9100 });
    stream.on('error', () => {});
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const back: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => back.push(chunk));
    stream.end(payload);
    await once(stream, 'end');
    expect(Buffer.concat(back).equals(Buffer.from(payload).reverse())).toBe(true);
    expect(tunnelFrames).toBeGreaterThan(0);
    expect(ws.listenerCount('message')).toBe(1);
  });
});

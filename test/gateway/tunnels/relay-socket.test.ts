import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { TunnelAllowList } from '../../../src/gateway/tunnels/allow-list.ts';
import { TunnelEndpoint } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { wsMuxPair } from '../../tunnel/ws-pair.ts';

// The real node:net, with the options of every connect() the code under test asks for recorded.
const asked = vi.hoisted(() => [] as net.NetConnectOpts[]);
vi.mock('node:net', async (importOriginal) =>
  (await import('../../support/connect-recorder.ts')).recordingConnect(await importOriginal(), asked),
);

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe("a tunnel's socket to the device", () => {
  it('sends each piece on at once (TCP_NODELAY), and relays the exchange', async () => {
    // Nagle's algorithm would hold a request's second piece until the device's delayed ACK,
    // ~40 ms an exchange (bench/tunnel-round-trip.ts: 41 ms before, 0.4 ms after).
    const device = net.createServer((socket) => {
      socket.on('data', () => socket.write('ok'));
      socket.on('error', () => {});
    });
    device.listen(0, '127.0.0.1');
    await once(device, 'listening');
    closers.push(() => void device.close());
    const port = (device.address() as net.AddressInfo).port;
    const pair = await wsMuxPair();
    closers.push(pair.close);
    const endpoint = new TunnelEndpoint({
      allowList: new TunnelAllowList([{ cidr: '127.0.0.1/32', ports: [port] }], { allowLocal: true }),
      maxConcurrent: 4,
      connectTimeoutMs: 5000,
      clock: new SystemClock(),
      logger: silentLogger(),
    });
    pair.gateway.onStream((request) => endpoint.handle(request));

    const stream = await pair.cloud.openStream({ jobId: 'job-1', host: '127.0.0.1', port });
    stream.on('error', () => {});
    stream.write('request');
    const [answer] = (await once(stream, 'data')) as [Buffer];
    expect(answer.toString()).toBe('ok');
    expect(asked).toEqual([expect.objectContaining({ host: '127.0.0.1', port, noDelay: true })]);
  });
});

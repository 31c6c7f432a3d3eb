import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { CloudLine } from '../../../src/cloud/push/cloud-line.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import type { Hello } from '../../../src/protocol/messages.ts';
import { TunnelMux } from '../../../src/tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../../../src/tunnel/ws-transport.ts';
import { rawHello } from '../../support/raw-gateway.ts';
import { wsPair } from '../../tunnel/ws-pair.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A cloud line on the server end of a real WebSocket pair, the gateway's multiplexer on the client end. */
async function lineWithGateway() {
  const pair = await wsPair();
  closers.push(pair.close);
  const clock = new SystemClock();
  const line = new CloudLine({
    ws: pair.server,
    hello: rawHello as Hello,
    egressAddress: '127.0.0.1',
    clock,
    logger: silentLogger(),
    events: { onMessage: () => {}, onClose: () => {} },
  });
  line.attach();
  const gateway = new TunnelMux({ transport: wsTunnelTransport(pair.client), clock, side: 'client' });
  return { pair, line, gateway };
}

describe("a cloud line's tunnels, made at their first use", () => {
  it('has no multiplexer until one is used: the listeners stay one per socket', async () => {
    const { pair, line } = await lineWithGateway();
    expect(pair.server.listenerCount('message')).toBe(1);
    expect((line as unknown as { mux?: TunnelMux }).mux).toBeUndefined();
    expect(line.tunnels).toBeDefined();
    expect(pair.server.listenerCount('message')).toBe(1);
  });

  it('takes a stream the gateway opens first, its first frames included, byte-exact', async () => {
    const { line, gateway } = await lineWithGateway();
    const got: Buffer[] = [];
    const ended = new Promise<void>((resolve) =>
      line.onStream((request) => {
        const stream = request.accept();
        // The pair is cut at the test's end, half-open streams and all.
        stream.on('error', () => {});
        stream.on('data', (chunk: Buffer) => got.push(chunk));
        stream.on('end', resolve);
      }),
    );
    const stream = await gateway.openStream({ jobId: 'job-1', host: '10.0.0.7', port: 9100 });
    stream.on('error', () => {});
    const payload = Buffer.alloc(300_000, 7);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    stream.end(payload);
    await ended;
    expect(Buffer.concat(got).equals(payload)).toBe(true);
  });

  it('opens a stream to the gateway on first use', async () => {
    const { line, gateway } = await lineWithGateway();
    gateway.onStream((request) => {
      const stream = request.accept();
      stream.on('error', () => {});
      stream.end(Buffer.from('pong'));
      stream.resume();
    });
    const mux = line.tunnels;
    if (!mux) throw new Error('no tunnels on an open line');
    const stream = await mux.openStream({ jobId: 'job-2', host: '10.0.0.7', port: 9100 });
    stream.on('error', () => {});
    const [chunk] = (await once(stream, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('pong');
  });

  it('makes none for a line that closed without carrying any', async () => {
    const { pair, line } = await lineWithGateway();
    pair.client.close();
    await once(pair.server, 'close');
    expect(line.isOpen).toBe(false);
    expect(line.tunnels).toBeUndefined();
  });
});

import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { SystemClock } from '../../src/clock/system-clock.ts';
import { TunnelFrameDecoder } from '../../src/protocol/tunnel/frame-decoder.ts';
import { encodeFrames } from '../../src/protocol/tunnel/frame-encoder.ts';
import { INITIAL_WINDOW, type TunnelFrame } from '../../src/protocol/tunnel/frame-types.ts';
import { TunnelCode } from '../../src/protocol/tunnel/tunnel-codes.ts';
import type { TunnelError } from '../../src/tunnel/tunnel-error.ts';
import { TunnelMux } from '../../src/tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../../src/tunnel/ws-transport.ts';
import { failure, nextAccepted, payload, readAll, target, writeAll } from './mux-pair.ts';
import { until, wsMuxPair, wsPair } from './ws-pair.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function pair() {
  const p = await wsMuxPair();
  cleanups.push(p.close);
  return p;
}

describe('TunnelMux over a real WebSocket on loopback', () => {
  it('moves 20 MB through one stream byte-exact, and a reply back', async () => {
    const { cloud, gateway } = await pair();
    const job = payload(20 * 1024 * 1024);
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream({ jobId: 'job-20mb', host: '10.0.0.7', port: 9100 });
    const remote = await accepted;
    const [got] = await Promise.all([readAll(remote), writeAll(stream, job.data)]);
    expect(got).toEqual({ bytes: job.data.length, sha256: job.sha256 });
    expect(stream.offsets).toMatchObject({ sent: job.data.length, acknowledged: job.data.length });
    const [reply] = await Promise.all([readAll(stream), writeAll(remote, Buffer.from('{"pages": 412}'))]);
    expect(reply.bytes).toBe(14);
    await until(
      () => cloud.stats().streams === 0 && gateway.stats().streams === 0,
      'both ends to forget the stream',
    );
    expect(gateway.stats().memoryReserved).toBe(0);
  });

  it('moves 100 concurrent streams byte-exact', async () => {
    const { cloud, gateway } = await pair();
    const received = new Map<number, Promise<{ sha256: string }>>();
    gateway.onStream((request) => {
      const stream = request.accept();
      received.set(stream.id, readAll(stream));
      stream.end();
    });
    const jobs = Array.from({ length: 100 }, (_, i) => payload(256 * 1024 + i * 4099));
    const streams = await Promise.all(jobs.map((_, i) => cloud.openStream(target(`job-${i}`))));
    await Promise.all(streams.map((s, i) => writeAll(s, (jobs[i] as { data: Buffer }).data)));
    const sums = await Promise.all(streams.map((s) => received.get(s.id)));
    expect(sums.map((s) => s?.sha256)).toEqual(jobs.map((j) => j.sha256));
  });

  it('holds a fast writer to one window while the reader is stopped, then delivers byte-exact', async () => {
    const { cloud, gateway, server } = await pair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    const job = payload(20 * 1024 * 1024);
    const writing = writeAll(stream, job.data);
    await until(() => stream.offsets.sent === INITIAL_WINDOW, 'the first window to be sent');
    // A fixed wait, as it proves that the sender sends nothing past the window.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(stream.offsets).toMatchObject({ sent: INITIAL_WINDOW, acknowledged: 0 });
    expect(gateway.stats().bufferedInbound).toBe(INITIAL_WINDOW);
    expect(gateway.stats().memoryReserved).toBe(INITIAL_WINDOW);
    expect(stream.writableNeedDrain).toBe(true);
    expect(stream.writableLength).toBeLessThanOrEqual(2 * stream.writableHighWaterMark);
    expect(server.bufferedAmount).toBe(0);

    const [got] = await Promise.all([readAll(remote), writing]);
    expect(got.sha256).toBe(job.sha256);
  });

  it('half-closes with FIN and aborts with RESET across the line', async () => {
    const { cloud, gateway } = await pair();
    let accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    let remote = await accepted;
    stream.end('job bytes');
    expect((await readAll(remote)).bytes).toBe(9);
    remote.write('still talking');
    remote.end();
    expect((await readAll(stream)).bytes).toBe(13);

    accepted = nextAccepted(gateway);
    const doomed = await cloud.openStream(target('job-2'));
    remote = await accepted;
    const failed = failure(doomed);
    remote.reset('TARGET_ERROR', 'paper jam');
    expect(await failed).toMatchObject({ code: 'MFP_TUN_ERR_STREAM_RESET', remoteCode: 'TARGET_ERROR' });
  });

  it('fails both ends with TRANSPORT_CLOSED and resumable offsets when the socket dies mid-transfer', async () => {
    const { cloud, gateway, server } = await pair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    const job = payload(20 * 1024 * 1024);
    const got: Buffer[] = [];
    let gotBytes = 0;
    const receiverFailed = failure(remote);
    remote.on('data', (chunk: Buffer) => {
      got.push(chunk);
      gotBytes += chunk.length;
      if (gotBytes >= 5 * 1024 * 1024 && gotBytes - chunk.length < 5 * 1024 * 1024) server.terminate();
    });
    const senderError = (await writeAll(stream, job.data).catch((error) => error)) as TunnelError;
    const receiverError = await receiverFailed;
    expect(senderError.code).toBe('MFP_TUN_ERR_TRANSPORT_CLOSED');
    expect(receiverError.code).toBe('MFP_TUN_ERR_TRANSPORT_CLOSED');
    const { acknowledged, sent } = senderError.offsets as NonNullable<TunnelError['offsets']>;
    const { delivered } = receiverError.offsets as NonNullable<TunnelError['offsets']>;
    expect(delivered).toBe(gotBytes);
    expect(acknowledged).toBeGreaterThan(0);
    expect(acknowledged).toBeLessThanOrEqual(delivered);
    expect(delivered).toBeLessThanOrEqual(sent);
    expect(Buffer.concat(got).equals(job.data.subarray(0, delivered))).toBe(true);
  });

  it('closes the line with 1002 after GOAWAY when the peer overruns its window', async () => {
    const p = await wsPair();
    cleanups.push(p.close);
    const cloud = new TunnelMux({
      transport: wsTunnelTransport(p.server),
      clock: new SystemClock(),
      side: 'server',
    });
    const accepted = nextAccepted(cloud);
    const fromCloud: TunnelFrame[] = [];
    const decoder = new TunnelFrameDecoder();
    p.client.on('message', (data: Buffer) => {
      decoder.push(data);
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) fromCloud.push(f as TunnelFrame);
    });
    const closed = once(p.client, 'close') as Promise<[number, Buffer]>;
    const send = (...frames: TunnelFrame[]) => (p.client as WebSocket).send(encodeFrames(frames));
    send({ type: 'open', streamId: 1, target: { jobId: 'j', deviceId: 'd', resumeOffset: 0 } });
    const stream = await accepted;
    const failed = failure(stream);
    const chunk = Buffer.alloc(32 * 1024);
    for (let i = 0; i < 64; i++) send({ type: 'data', streamId: 1, payload: chunk });
    const error = await failed;
    expect(error.code).toBe('MFP_TUN_ERR_WINDOW_EXCEEDED');
    expect(error.offsets?.received).toBe(INITIAL_WINDOW);
    const [code] = await closed;
    expect(code).toBe(1002);
    expect(fromCloud.find((f) => f.type === 'goaway')).toMatchObject({ code: TunnelCode.FLOW_CONTROL });
  });
  it('tells each end’s buffer reclaimer of every tunnel byte it sends and receives', async () => {
    const { server, client, close } = await wsPair();
    cleanups.push(close);
    const counted = { cloud: 0, gateway: 0 };
    const clock = new SystemClock();
    const cloud = new TunnelMux({
      transport: wsTunnelTransport(server, { reclaimer: { relayed: (n) => (counted.cloud += n) } }),
      clock,
      side: 'server',
    });
    const gateway = new TunnelMux({
      transport: wsTunnelTransport(client, { reclaimer: { relayed: (n) => (counted.gateway += n) } }),
      clock,
      side: 'client',
    });
    const job = payload(3 * 1024 * 1024);
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target('job-reclaim'));
    const remote = await accepted;
    const [got] = await Promise.all([readAll(remote), writeAll(stream, job.data)]);
    expect(got.sha256).toBe(job.sha256);
    // Frame headers and window updates come on top of the document.
    expect(counted.cloud).toBeGreaterThan(job.data.length);
    expect(counted.gateway).toBeGreaterThan(job.data.length);
  });
});

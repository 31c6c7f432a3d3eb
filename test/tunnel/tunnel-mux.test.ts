import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TunnelFrameDecoder } from '../../src/protocol/tunnel/frame-decoder.ts';
import { INITIAL_WINDOW, type TunnelFrame } from '../../src/protocol/tunnel/frame-types.ts';
import { TunnelCode } from '../../src/protocol/tunnel/tunnel-codes.ts';
import { TunnelError } from '../../src/tunnel/tunnel-error.ts';
import type { StreamRequest } from '../../src/tunnel/tunnel-mux.ts';
import type { TunnelStream } from '../../src/tunnel/tunnel-stream.ts';
import { failure, muxPair, nextAccepted, payload, readAll, settle, target, writeAll } from './mux-pair.ts';
import { rawPeer } from './raw-peer.ts';

/** Every frame in the messages a transport sent. */
function framesIn(messages: Buffer[]): TunnelFrame[] {
  const decoder = new TunnelFrameDecoder();
  const frames: TunnelFrame[] = [];
  for (const message of messages) {
    decoder.push(message);
    for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(f as TunnelFrame);
  }
  return frames;
}

describe('TunnelMux over an in-memory line', () => {
  it('opens a stream, moves bytes both ways byte-exact and closes cleanly', async () => {
    const { cloud, gateway } = muxPair();
    const job = payload(3 * 1024 * 1024 + 17);
    const reply = payload(200_000);
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream({ jobId: 'job-1', deviceId: 'mfp-1', resumeOffset: 10 });
    const remote = await accepted;
    expect(remote.target).toEqual({ jobId: 'job-1', deviceId: 'mfp-1', resumeOffset: 10 });
    expect(remote.id).toBe(stream.id);
    expect(stream.id % 2).toBe(0);

    const [atGateway, atCloud] = await Promise.all([
      readAll(remote),
      readAll(stream),
      writeAll(stream, job.data),
      writeAll(remote, reply.data),
    ]);
    expect(atGateway.sha256).toBe(job.sha256);
    expect(atCloud.sha256).toBe(reply.sha256);
    await settle();
    expect(stream.offsets).toEqual({
      sent: job.data.length,
      acknowledged: job.data.length,
      received: reply.data.length,
      delivered: reply.data.length,
    });
    expect(remote.offsets.delivered).toBe(job.data.length);
    expect(cloud.stats()).toMatchObject({ streams: 0, memoryReserved: 0, bufferedInbound: 0 });
    expect(gateway.stats()).toMatchObject({ streams: 0, memoryReserved: 0, bufferedInbound: 0 });
  });

  it('moves 100 concurrent streams byte-exact', async () => {
    const { cloud, gateway } = muxPair();
    const results = new Map<number, Promise<{ sha256: string }>>();
    gateway.onStream((request) => {
      const stream = request.accept();
      results.set(stream.id, readAll(stream));
      stream.end();
    });
    const jobs = Array.from({ length: 100 }, (_, i) => payload(50_000 + i * 1000));
    const streams = await Promise.all(jobs.map((_, i) => cloud.openStream(target(`job-${i}`))));
    await Promise.all(streams.map((s, i) => writeAll(s, (jobs[i] as { data: Buffer }).data)));
    for (const [i, s] of streams.entries()) {
      expect((await results.get(s.id))?.sha256).toBe(jobs[i]?.sha256);
    }
  });

  it('shares the line round-robin: backlogged streams take turns frame by frame', async () => {
    const { cloud, gateway, cloudEnd } = muxPair({ maxDataFrame: 16 * 1024 }, 64 * 1024);
    gateway.onStream((request) => request.accept().resume());
    const streams = await Promise.all([1, 2, 3].map((i) => cloud.openStream(target(`job-${i}`))));
    cloudEnd.sent.length = 0;
    for (const s of streams) s.write(Buffer.alloc(1024 * 1024));
    await settle();
    const order = framesIn(cloudEnd.sent)
      .filter((f) => f.type === 'data')
      .map((f) => (f as { streamId: number }).streamId);
    const counts = new Map<number, number>();
    // Three streams, each with a window of a few frames: that many rounds before any credit returns.
    const framesPerWindow = INITIAL_WINDOW / (16 * 1024);
    expect(framesPerWindow).toBeGreaterThanOrEqual(2);
    for (const id of order.slice(0, 3 * framesPerWindow)) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      const values = [...counts.values()];
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    }
    expect(counts.size).toBe(3);
    expect(cloudEnd.sendsWhileBlocked).toBe(0);
  });

  it('earns the next window when a stopped reader drains a full window from a one-window buffer', async () => {
    // The stream buffer holds exactly one window: only read() hears the reader drain it
    // (_read runs once, before the first chunk is taken), so without it no WINDOW_UPDATE.
    const { cloud, gateway } = muxPair({}, undefined, { streamHighWaterMark: INITIAL_WINDOW });
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    remote.pause();
    const job = payload(4 * INITIAL_WINDOW);
    const writing = writeAll(stream, job.data);
    await settle(50);
    expect(remote.readableLength).toBe(INITIAL_WINDOW);

    const reading = readAll(remote);
    remote.resume();
    const [got] = await Promise.all([reading, writing]);
    expect(got.sha256).toBe(job.sha256);
  });

  it('lets a slow reader hold the sender to one window: bounded buffers, write() false, then byte-exact', async () => {
    const { cloud, gateway } = muxPair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    const job = payload(8 * 1024 * 1024);
    const writing = writeAll(stream, job.data);
    await settle(50);

    // The reader took nothing: exactly one window crossed, the rest waits in the writer.
    expect(stream.offsets.sent).toBe(INITIAL_WINDOW);
    expect(stream.offsets.acknowledged).toBe(0);
    expect(gateway.stats().bufferedInbound).toBe(INITIAL_WINDOW);
    expect(remote.readableLength).toBe(INITIAL_WINDOW);
    expect(stream.writableNeedDrain).toBe(true);
    expect(stream.writableLength).toBeLessThanOrEqual(2 * stream.writableHighWaterMark);
    expect(cloud.stats().pendingOutbound).toBeLessThanOrEqual(64 * 1024);
    expect(gateway.stats().memoryReserved).toBeLessThanOrEqual(gateway.stats().memoryCap);

    const [got] = await Promise.all([readAll(remote), writing]);
    expect(got.sha256).toBe(job.sha256);
  });

  it('grows the window of a fast stream beyond the initial window', async () => {
    const { cloud, gateway } = muxPair();
    let largest = 0;
    gateway.onStream((request) => {
      const s = request.accept();
      s.on('data', () => {
        largest = Math.max(largest, gateway.stats().memoryReserved);
      });
      s.on('end', () => s.end());
    });
    const stream = await cloud.openStream(target());
    await writeAll(stream, payload(16 * 1024 * 1024).data);
    expect(largest).toBeGreaterThan(INITIAL_WINDOW);
    expect(largest).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it("finishes the writer only when the peer's reader has consumed every byte", async () => {
    const { cloud, gateway } = muxPair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    let finished = false;
    stream.on('finish', () => {
      finished = true;
    });
    stream.end(Buffer.alloc(1000, 1));
    await settle();
    expect(finished).toBe(false);
    expect(stream.offsets).toMatchObject({ sent: 1000, acknowledged: 0 });
    remote.resume();
    await once(stream, 'finish');
    expect(stream.offsets.acknowledged).toBe(1000);
  });

  it('half-closes: after the peer FIN the stream still writes until it ends too', async () => {
    const { cloud, gateway } = muxPair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    remote.end('status: ready\n');
    const reply = await readAll(stream);
    expect(reply.bytes).toBe(14);
    const job = payload(300_000);
    const [got] = await Promise.all([readAll(remote), writeAll(stream, job.data)]);
    expect(got.sha256).toBe(job.sha256);
    await settle();
    expect(cloud.stats().streams).toBe(0);
    expect(gateway.stats().streams).toBe(0);
  });

  it('resets: destroy() sends CANCEL, destroy(error) INTERNAL, reset(code) that code', async () => {
    const { cloud, gateway } = muxPair();
    const cases: [(s: TunnelStream) => void, string, string][] = [
      [(s) => s.destroy(), 'CANCEL', 'stream destroyed'],
      [(s) => s.destroy(new Error('disk full')), 'INTERNAL', 'disk full'],
      [(s) => s.reset('TARGET_ERROR', 'printer jammed'), 'TARGET_ERROR', 'printer jammed'],
    ];
    for (const [abort, code, reason] of cases) {
      const accepted = nextAccepted(gateway);
      const stream = await cloud.openStream(target());
      stream.on('error', () => {});
      const remote = await accepted;
      const failed = failure(remote);
      abort(stream);
      const error = await failed;
      expect(error).toBeInstanceOf(TunnelError);
      expect(error.code).toBe('MFP_TUN_ERR_STREAM_RESET');
      expect(error.remoteCode).toBe(code);
      expect(error.message).toContain(reason);
    }
    await settle();
    expect(cloud.stats().memoryReserved).toBe(0);
    expect(gateway.stats().memoryReserved).toBe(0);
  });

  it('refuses by default, and as the acceptor decides', async () => {
    const { cloud, gateway } = muxPair();
    await expect(cloud.openStream(target())).rejects.toMatchObject({
      code: 'MFP_TUN_ERR_OPEN_REFUSED',
      remoteCode: 'NOT_ALLOWED',
    });
    gateway.onStream((request) => request.refuse('UNREACHABLE', `${request.target.deviceId}: ECONNREFUSED`));
    const refused = cloud.openStream(target());
    await expect(refused).rejects.toMatchObject({ remoteCode: 'UNREACHABLE' });
    await expect(refused).rejects.toThrow('mfp-1: ECONNREFUSED');
    gateway.onStream(() => {
      throw new Error('allow-list unreadable');
    });
    await expect(cloud.openStream(target())).rejects.toMatchObject({ remoteCode: 'INTERNAL' });
    await settle();
    expect(gateway.stats()).toMatchObject({ streams: 0, memoryReserved: 0 });
  });

  it('lets the acceptor decide later, and tells it when the initiator gave up', async () => {
    const { cloud, gateway, clock } = muxPair({ openTimeoutMs: 5000 });
    let request: StreamRequest | undefined;
    gateway.onStream((r) => {
      request = r;
    });
    const opening = cloud.openStream(target());
    await settle();
    expect(request?.signal.aborted).toBe(false);
    clock.advance(5000);
    await expect(opening).rejects.toMatchObject({ code: 'MFP_TUN_ERR_OPEN_TIMEOUT' });
    await settle();
    expect(request?.signal.aborted).toBe(true);
    expect(request?.signal.reason).toMatchObject({ code: 'MFP_TUN_ERR_STREAM_RESET', remoteCode: 'CANCEL' });
    const late = request?.accept() as TunnelStream;
    await expect(failure(late)).resolves.toMatchObject({ code: 'MFP_TUN_ERR_STREAM_RESET' });
    expect(gateway.stats().memoryReserved).toBe(0);
  });

  it('refuses streams beyond the memory cap, on either side', async () => {
    const remote = muxPair({}, undefined, { memoryCap: 4 * INITIAL_WINDOW });
    remote.gateway.onStream((request) => request.accept());
    await Promise.all([1, 2, 3, 4].map((i) => remote.cloud.openStream(target(`job-${i}`))));
    expect(remote.gateway.stats()).toMatchObject({ streams: 4, memoryReserved: 4 * INITIAL_WINDOW });
    await expect(remote.cloud.openStream(target('job-5'))).rejects.toMatchObject({
      code: 'MFP_TUN_ERR_OPEN_REFUSED',
      remoteCode: 'LIMIT',
    });

    const local = muxPair({ memoryCap: 2 * INITIAL_WINDOW });
    local.gateway.onStream((request) => request.accept());
    await local.cloud.openStream(target());
    await local.cloud.openStream(target());
    await expect(local.cloud.openStream(target())).rejects.toMatchObject({ code: 'MFP_TUN_ERR_LIMIT' });
  });

  it('close() fails every stream here with MUX_CLOSED and there with GOAWAY', async () => {
    const { cloud, gateway } = muxPair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    const here = failure(stream);
    const there = failure(remote);
    const closed = new Promise<TunnelError>((resolve) => gateway.onClose(resolve));
    stream.write(Buffer.alloc(5000));
    await settle();
    cloud.close('maintenance');
    expect(await here).toMatchObject({ code: 'MFP_TUN_ERR_MUX_CLOSED', offsets: { sent: 5000 } });
    const error = await there;
    expect(error).toMatchObject({
      code: 'MFP_TUN_ERR_GOAWAY',
      remoteCode: 'NO_ERROR',
      offsets: { received: 5000 },
    });
    expect(error.message).toContain('maintenance');
    expect((await closed).code).toBe('MFP_TUN_ERR_GOAWAY');
    await expect(cloud.openStream(target())).rejects.toMatchObject({ code: 'MFP_TUN_ERR_MUX_CLOSED' });
  });

  it('fails every stream with TRANSPORT_CLOSED and the offsets to resume from when the line dies', async () => {
    const { cloud, gateway, cloudEnd } = muxPair();
    const accepted = nextAccepted(gateway);
    const stream = await cloud.openStream(target());
    const remote = await accepted;
    const job = payload(4 * 1024 * 1024);
    const got: Buffer[] = [];
    let gotBytes = 0;
    const there = failure(remote);
    const cut = new Promise<void>((resolve) => {
      remote.on('data', (chunk: Buffer) => {
        got.push(chunk);
        gotBytes += chunk.length;
        if (gotBytes >= 1024 * 1024) {
          cloudEnd.cut();
          resolve();
        }
      });
    });
    const here = writeAll(stream, job.data).catch((error: TunnelError) => error);
    await cut;
    const senderError = (await here) as TunnelError;
    const receiverError = await there;
    expect(senderError.code).toBe('MFP_TUN_ERR_TRANSPORT_CLOSED');
    expect(receiverError.code).toBe('MFP_TUN_ERR_TRANSPORT_CLOSED');
    expect(senderError.message).toContain('resume from the acknowledged offset');
    const sent = senderError.offsets as NonNullable<TunnelError['offsets']>;
    const delivered = (receiverError.offsets as NonNullable<TunnelError['offsets']>).delivered;
    expect(delivered).toBe(gotBytes);
    expect(sent.acknowledged).toBeLessThanOrEqual(delivered);
    expect(sent.acknowledged).toBeGreaterThan(0);
    expect(delivered).toBeLessThanOrEqual(sent.sent);
    // What was delivered is exactly the job's first bytes: resuming there loses and repeats nothing.
    expect(Buffer.concat(got).equals(job.data.subarray(0, delivered))).toBe(true);
    expect(cloud.closed && gateway.closed).toBe(true);
  });
});

describe('TunnelMux against a peer that breaks the rules', () => {
  it('answers DATA beyond the window with GOAWAY FLOW_CONTROL, not with memory', async () => {
    const peer = rawPeer();
    const accepted = nextAccepted(peer.mux);
    peer.send({ type: 'open', streamId: 2, target: { jobId: 'j', deviceId: 'd', resumeOffset: 0 } });
    const stream = await accepted;
    const failed = failure(stream);
    await settle();
    const chunk = Buffer.alloc(16 * 1024);
    for (let i = 0; i < 64; i++) peer.send({ type: 'data', streamId: 2, payload: chunk });
    const error = await failed;
    expect(error.code).toBe('MFP_TUN_ERR_WINDOW_EXCEEDED');
    expect(error.offsets?.received).toBe(INITIAL_WINDOW);
    await settle();
    expect(peer.sentOfType('goaway')).toEqual([
      expect.objectContaining({ type: 'goaway', code: TunnelCode.FLOW_CONTROL }),
    ]);
    expect(peer.muxEnd.closedWith?.error).toMatchObject({ code: 'MFP_TUN_ERR_WINDOW_EXCEEDED' });
    expect(peer.mux.closed).toBe(true);
  });

  it('answers frames for streams that never existed, and OPENs with the wrong id, with GOAWAY PROTOCOL', async () => {
    for (const frame of [
      { type: 'data', streamId: 8, payload: Buffer.from('x') },
      { type: 'open', streamId: 3, target: { jobId: 'j', deviceId: 'd', resumeOffset: 0 } },
      { type: 'window-update', streamId: 5, consumed: 0, window: 10 },
    ] satisfies TunnelFrame[]) {
      const peer = rawPeer();
      const closed = new Promise<TunnelError>((resolve) => peer.mux.onClose(resolve));
      peer.send(frame);
      expect((await closed).code).toBe('MFP_TUN_ERR_PROTOCOL');
      await settle();
      expect(peer.sentOfType('goaway')[0]?.code).toBe(TunnelCode.PROTOCOL);
    }
  });

  it('answers a malformed frame with GOAWAY FRAME and the decoder code', async () => {
    const peer = rawPeer();
    const closed = new Promise<TunnelError>((resolve) => peer.mux.onClose(resolve));
    peer.peerEnd.send(Buffer.from([1, 0x42, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
    expect((await closed).code).toBe('MFP_TUN_ERR_BAD_TYPE');
    await settle();
    expect(peer.sentOfType('goaway')[0]?.code).toBe(TunnelCode.FRAME);
  });

  it('ignores frames that cross its RESET on the wire', async () => {
    const peer = rawPeer();
    const accepted = nextAccepted(peer.mux);
    peer.send({ type: 'open', streamId: 2, target: { jobId: 'j', deviceId: 'd', resumeOffset: 0 } });
    const stream = await accepted;
    stream.destroy();
    peer.send({ type: 'data', streamId: 2, payload: Buffer.from('late') }, { type: 'fin', streamId: 2 });
    await settle();
    expect(peer.mux.closed).toBe(false);
    expect(peer.sentOfType('reset')).toEqual([
      expect.objectContaining({ streamId: 2, code: TunnelCode.CANCEL }),
    ]);
  });

  it('answers PINGs, the latest one when flooded', async () => {
    const peer = rawPeer();
    const ping = (n: number) => ({ type: 'ping' as const, ack: false, opaque: Buffer.alloc(8, n) });
    peer.send(ping(1), ping(2), ping(3));
    await settle();
    expect(peer.sentOfType('ping')).toEqual([{ type: 'ping', ack: true, opaque: Buffer.alloc(8, 3) }]);
  });

  it('gives up on a peer that opens streams faster than it reads the answers', async () => {
    const peer = rawPeer({ maxQueuedControlFrames: 100 }, 1);
    peer.muxEnd.hold();
    const closed = new Promise<TunnelError>((resolve) => peer.mux.onClose(resolve));
    for (let id = 2; id < 2 + 2 * 300; id += 2) {
      peer.send({ type: 'open', streamId: id, target: { jobId: 'j', deviceId: 'd', resumeOffset: 0 } });
    }
    expect((await closed).code).toBe('MFP_TUN_ERR_CONTROL_FLOOD');
  });
});

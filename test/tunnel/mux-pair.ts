import { createHash, randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import type { TunnelError } from '../../src/tunnel/tunnel-error.ts';
import { TunnelMux, type TunnelMuxOptions } from '../../src/tunnel/tunnel-mux.ts';
import type { TunnelStream } from '../../src/tunnel/tunnel-stream.ts';
import { type MemoryTransport, transportPair } from './memory-transport.ts';

export type MuxTuning = Omit<TunnelMuxOptions, 'transport' | 'clock' | 'side'>;

/**
 * A cloud-side (server) and gateway-side (client) mux over an in-memory transport pair;
 * `tuning` applies to both, `gatewayTuning` on top of it to the gateway only.
 */
export function muxPair(
  tuning: MuxTuning = {},
  transportHighWaterMark?: number,
  gatewayTuning: MuxTuning = {},
) {
  const clock = new ManualClock();
  const [cloudEnd, gatewayEnd] = transportPair(transportHighWaterMark);
  const cloud = new TunnelMux({ transport: cloudEnd, clock, side: 'server', ...tuning });
  const gateway = new TunnelMux({
    transport: gatewayEnd,
    clock,
    side: 'client',
    ...tuning,
    ...gatewayTuning,
  });
  return { clock, cloud, gateway, cloudEnd, gatewayEnd } as {
    clock: ManualClock;
    cloud: TunnelMux;
    gateway: TunnelMux;
    cloudEnd: MemoryTransport;
    gatewayEnd: MemoryTransport;
  };
}

/** A target descriptor for tests. */
export function target(jobId = 'job-1') {
  return { jobId, deviceId: 'mfp-1' };
}

/** Random bytes and their sha256. */
export function payload(bytes: number): { data: Buffer; sha256: string } {
  const data = randomBytes(bytes);
  return { data, sha256: sha256(data) };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes data in chunks, honouring write() === false, then ends. */
export async function writeAll(stream: Writable, data: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let at = 0; at < data.length; at += chunk) {
    if (!stream.write(data.subarray(at, at + chunk))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off('error', onError);
          resolve();
        };
        const onError = (error: Error) => {
          stream.off('drain', onDrain);
          reject(error);
        };
        stream.once('drain', onDrain);
        stream.once('error', onError);
      });
    }
  }
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** Reads a stream to its end: sha256 and byte count. */
export function readAll(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.once('error', reject);
  });
}

/** Resolves on the next turn of the event loop, after pending deliveries. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets the in-memory line run until nothing moves for a few turns. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}

/** The next stream the acceptor is offered, accepted. */
export function nextAccepted(mux: TunnelMux): Promise<TunnelStream> {
  return new Promise((resolve) => mux.onStream((request) => resolve(request.accept())));
}

/** The error a stream fails with. */
export function failure(stream: TunnelStream): Promise<TunnelError> {
  return new Promise((resolve) => stream.once('error', (error) => resolve(error as TunnelError)));
}

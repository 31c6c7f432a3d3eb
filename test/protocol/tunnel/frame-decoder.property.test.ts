import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TunnelFrameError } from '../../../src/protocol/tunnel/errors.ts';
import { TunnelFrameDecoder } from '../../../src/protocol/tunnel/frame-decoder.ts';
import { encodeFrames } from '../../../src/protocol/tunnel/frame-encoder.ts';
import {
  FRAME_HEADER_BYTES,
  MAX_WINDOW,
  type TunnelFrame,
} from '../../../src/protocol/tunnel/frame-types.ts';

const MAX_PAYLOAD = 8192;

const streamId = fc.integer({ min: 1, max: 0xffff_ffff });
const code = fc.integer({ min: 0, max: 0xffff });
// Up to 4 bytes per character and 60 characters: always within MAX_REASON_BYTES, so reasons round-trip.
const reason = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', 'é', '€', '𝄞'), maxLength: 60 });
const name = fc.string({ unit: fc.constantFrom('a', 'b', '-', '7', 'ß'), minLength: 1, maxLength: 40 });

const frameArb: fc.Arbitrary<TunnelFrame> = fc.oneof(
  fc.record({
    type: fc.constant('open' as const),
    streamId,
    target: fc.record({ jobId: name, deviceId: name, resumeOffset: fc.maxSafeNat() }),
  }),
  fc.record({ type: fc.constant('open-ok' as const), streamId }),
  fc.record({ type: fc.constant('open-refused' as const), streamId, code, reason }),
  fc.record({
    type: fc.constant('data' as const),
    streamId,
    payload: fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((b) => Buffer.from(b)),
  }),
  fc.record({
    type: fc.constant('window-update' as const),
    streamId,
    consumed: fc.maxSafeNat(),
    window: fc.integer({ min: 0, max: MAX_WINDOW }),
  }),
  fc.record({ type: fc.constant('fin' as const), streamId }),
  fc.record({ type: fc.constant('reset' as const), streamId, code, reason }),
  fc.record({
    type: fc.constant('ping' as const),
    ack: fc.boolean(),
    opaque: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b)),
  }),
  fc.record({ type: fc.constant('goaway' as const), code, reason }),
);

/** Cuts bytes into chunks at the given (unsorted, possibly repeated) points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * Decodes chunks as one message. Fails the property if anything is thrown, or if the
 * decoder returns more results than the bytes could hold (a loop that makes no progress).
 */
function decodeChunks(chunks: Buffer[]): { frames: TunnelFrame[]; error: TunnelFrameError | undefined } {
  const decoder = new TunnelFrameDecoder({ maxFramePayload: MAX_PAYLOAD });
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const frames: TunnelFrame[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (;;) {
      const step = decoder.next();
      if (step === undefined) break;
      if (step instanceof TunnelFrameError) return { frames, error: step };
      frames.push(step);
      if (frames.length > total / FRAME_HEADER_BYTES)
        throw new Error('decoder produced frames out of nothing');
    }
  }
  return { frames, error: decoder.end() };
}

type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'length'; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.nat({ max: 0xffff_ffff }) }),
);

/** Flips bits, cuts, inserts bytes, or rewrites the first frame's length field. */
function mutate(bytes: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    if (m.kind === 'flip') {
      const at = m.at % out.length;
      out[at] = (out[at] as number) ^ m.bits;
    } else if (m.kind === 'truncate') {
      out = out.subarray(0, m.at % out.length);
    } else if (m.kind === 'insert') {
      const at = m.at % (out.length + 1);
      out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    } else if (out.length >= FRAME_HEADER_BYTES) {
      out.writeUInt32BE(m.value, 8);
    }
  }
  return out;
}

describe('tunnel frame decoder properties', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('decodes any sequence of frames, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const { frames: decoded, error } = decodeChunks(split(encodeFrames(frames), cuts));
          expect(error).toBeUndefined();
          expect(decoded).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random bytes with frames or a TunnelFrameError, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const { error } = decodeChunks(split(Buffer.from(bytes), cuts));
        if (error !== undefined) expect(error).toBeInstanceOf(TunnelFrameError);
      }),
      { numRuns: 2000 },
    );
  });

  it('answers mutated and truncated frames with frames or a TunnelFrameError, never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 6 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (frames, mutations, cuts) => {
          const { frames: decoded, error } = decodeChunks(
            split(mutate(encodeFrames(frames), mutations), cuts),
          );
          if (error !== undefined) expect(error).toBeInstanceOf(TunnelFrameError);
          // Whatever got through is a well-formed frame: it survives another round trip unchanged.
          if (decoded.length > 0) expect(decodeChunks([encodeFrames(decoded)]).frames).toEqual(decoded);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never allocates more than the largest allowed payload, whatever a header claims', () => {
    const sizes: number[] = [];
    let allocations = 0;
    for (const method of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
      const original = Buffer[method].bind(Buffer);
      vi.spyOn(Buffer, method).mockImplementation(((size: number, ...rest: unknown[]) => {
        sizes.push(size);
        return (original as (...a: unknown[]) => Buffer)(size, ...rest);
      }) as never);
    }
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (frames, mutations, cuts) => {
          const chunks = split(mutate(encodeFrames(frames), mutations), cuts);
          sizes.length = 0;
          decodeChunks(chunks);
          allocations += sizes.length;
          for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_PAYLOAD);
        },
      ),
      { numRuns: 1000 },
    );
    // The spy saw the decoder's copies of split headers and payloads.
    expect(allocations).toBeGreaterThan(0);
  });
});

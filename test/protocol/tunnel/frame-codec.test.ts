import { describe, expect, it } from 'vitest';
import { TunnelFrameError } from '../../../src/protocol/tunnel/errors.ts';
import { TunnelFrameDecoder } from '../../../src/protocol/tunnel/frame-decoder.ts';
import { encodeFrame, encodeFrames, FrameBatch } from '../../../src/protocol/tunnel/frame-encoder.ts';
import {
  FRAME_HEADER_BYTES,
  MAX_REASON_BYTES,
  type TunnelFrame,
} from '../../../src/protocol/tunnel/frame-types.ts';
import { TunnelCode, tunnelCodeName } from '../../../src/protocol/tunnel/tunnel-codes.ts';

/** One frame of every type. */
const everyType: TunnelFrame[] = [
  { type: 'open', streamId: 2, target: { jobId: 'job-7', deviceId: 'mfp-3f', resumeOffset: 4096 } },
  { type: 'open-ok', streamId: 2 },
  {
    type: 'open-refused',
    streamId: 4,
    code: TunnelCode.NOT_ALLOWED,
    reason: 'mfp-9 is not on the allow-list',
  },
  { type: 'data', streamId: 2, payload: Buffer.from('%!PS-Adobe-3.0\n') },
  { type: 'window-update', streamId: 2, consumed: 2 ** 40 + 17, window: 1024 * 1024 },
  { type: 'fin', streamId: 2 },
  { type: 'reset', streamId: 6, code: TunnelCode.TARGET_ERROR, reason: 'ECONNRESET from 10.0.0.7:9100' },
  { type: 'ping', ack: false, opaque: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) },
  { type: 'ping', ack: true, opaque: Buffer.from([8, 7, 6, 5, 4, 3, 2, 1]) },
  { type: 'goaway', code: TunnelCode.NO_ERROR, reason: 'line replaced' },
];

/** Pulls every frame out of a decoder; stops at the first error, which is returned last. */
function drain(decoder: TunnelFrameDecoder): (TunnelFrame | TunnelFrameError)[] {
  const out: (TunnelFrame | TunnelFrameError)[] = [];
  for (;;) {
    const step = decoder.next();
    if (step === undefined) return out;
    out.push(step);
    if (step instanceof TunnelFrameError) return out;
  }
}

function decodeAll(bytes: Buffer, maxFramePayload?: number): (TunnelFrame | TunnelFrameError)[] {
  const decoder = new TunnelFrameDecoder({ maxFramePayload });
  decoder.push(bytes);
  const out = drain(decoder);
  const end = decoder.end();
  if (end && out.at(-1) !== end) out.push(end);
  return out;
}

/** The error a single (possibly malformed) message decodes to. */
function errorOf(bytes: Buffer, maxFramePayload?: number): TunnelFrameError {
  const last = decodeAll(bytes, maxFramePayload).at(-1);
  if (!(last instanceof TunnelFrameError)) throw new Error(`expected an error, got ${JSON.stringify(last)}`);
  return last;
}

/** A header with the given fields and payload. */
function raw(
  fields: {
    version?: number;
    type: number;
    flags?: number;
    reserved?: number;
    streamId: number;
    length?: number;
  },
  payload = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header[0] = fields.version ?? 1;
  header[1] = fields.type;
  header[2] = fields.flags ?? 0;
  header[3] = fields.reserved ?? 0;
  header.writeUInt32BE(fields.streamId, 4);
  header.writeUInt32BE(fields.length ?? payload.length, 8);
  return Buffer.concat([header, payload]);
}

describe('tunnel frame codec', () => {
  it.each(everyType.map((frame) => [frame.type, frame] as const))('round-trips %s', (_type, frame) => {
    expect(decodeAll(encodeFrame(frame))).toEqual([frame]);
  });

  it('lays out the header as documented: version, type, flags, reserved, stream id, length', () => {
    const bytes = encodeFrame({ type: 'data', streamId: 0x01020304, payload: Buffer.from('abc') });
    expect([...bytes]).toEqual([1, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    const update = encodeFrame({ type: 'window-update', streamId: 1, consumed: 2 ** 32 + 5, window: 7 });
    expect([...update.subarray(12)]).toEqual([0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 7]);
    expect(encodeFrame({ type: 'ping', ack: true, opaque: Buffer.alloc(8) })[2]).toBe(1);
  });

  it('decodes frames merged into one chunk and split at every byte boundary', () => {
    const bytes = encodeFrames(everyType);
    expect(decodeAll(bytes)).toEqual(everyType);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new TunnelFrameDecoder();
      decoder.push(bytes.subarray(0, cut));
      const first = drain(decoder);
      decoder.push(bytes.subarray(cut));
      expect([...first, ...drain(decoder)]).toEqual(everyType);
      expect(decoder.end()).toBeUndefined();
    }
  });

  it('decodes a message fed one byte at a time', () => {
    const bytes = encodeFrames(everyType);
    const decoder = new TunnelFrameDecoder();
    const out: (TunnelFrame | TunnelFrameError)[] = [];
    for (const byte of bytes) {
      decoder.push(Buffer.from([byte]));
      out.push(...drain(decoder));
    }
    expect(out).toEqual(everyType);
  });

  it('reports a message that ends inside a frame as truncated', () => {
    const bytes = encodeFrame(everyType[3] as TunnelFrame);
    for (const cut of [1, FRAME_HEADER_BYTES - 1, FRAME_HEADER_BYTES, bytes.length - 1]) {
      const error = errorOf(bytes.subarray(0, cut));
      expect(error.code).toBe('MFP_TUN_ERR_TRUNCATED');
      expect(error.wireCode).toBe(TunnelCode.FRAME);
    }
  });

  it('refuses a bad version, type, flags and reserved byte', () => {
    expect(errorOf(raw({ version: 2, type: 0, streamId: 1 }, Buffer.from('x'))).code).toBe(
      'MFP_TUN_ERR_BAD_VERSION',
    );
    const badType = errorOf(raw({ type: 0x9, streamId: 1 }));
    expect(badType.code).toBe('MFP_TUN_ERR_BAD_TYPE');
    expect(badType.message).toContain('0x9');
    expect(errorOf(raw({ type: 0, flags: 1, streamId: 1 }, Buffer.from('x'))).code).toBe(
      'MFP_TUN_ERR_BAD_FLAGS',
    );
    expect(errorOf(raw({ type: 7, flags: 2, streamId: 0 }, Buffer.alloc(8))).code).toBe(
      'MFP_TUN_ERR_BAD_FLAGS',
    );
    expect(errorOf(raw({ type: 5, reserved: 1, streamId: 1 })).code).toBe('MFP_TUN_ERR_BAD_FLAGS');
  });

  it('refuses stream frames on stream 0 and connection frames on a stream', () => {
    expect(errorOf(raw({ type: 0, streamId: 0 }, Buffer.from('x'))).code).toBe('MFP_TUN_ERR_BAD_STREAM_ID');
    expect(errorOf(raw({ type: 7, streamId: 3 }, Buffer.alloc(8))).code).toBe('MFP_TUN_ERR_BAD_STREAM_ID');
    expect(errorOf(raw({ type: 8, streamId: 3 }, Buffer.alloc(2))).code).toBe('MFP_TUN_ERR_BAD_STREAM_ID');
  });

  it('refuses an oversized frame from its header alone, before any payload arrives', () => {
    const decoder = new TunnelFrameDecoder({ maxFramePayload: 8192 });
    decoder.push(raw({ type: 0, streamId: 1, length: 0xffff_ffff }));
    const error = decoder.next();
    expect(error).toBeInstanceOf(TunnelFrameError);
    expect((error as TunnelFrameError).code).toBe('MFP_TUN_ERR_FRAME_TOO_LARGE');
    expect((error as TunnelFrameError).message).toContain('8192');
    expect(errorOf(raw({ type: 0, streamId: 1 }, Buffer.alloc(8193)), 8192).code).toBe(
      'MFP_TUN_ERR_FRAME_TOO_LARGE',
    );
    expect(decodeAll(raw({ type: 0, streamId: 1 }, Buffer.alloc(8192)), 8192)).toHaveLength(1);
  });

  it('refuses lengths a frame type cannot have', () => {
    const cases = [
      raw({ type: 0, streamId: 1 }),
      raw({ type: 1, streamId: 1 }),
      raw({ type: 1, streamId: 1 }, Buffer.alloc(4097)),
      raw({ type: 2, streamId: 1 }, Buffer.alloc(1)),
      raw({ type: 3, streamId: 1 }, Buffer.alloc(1)),
      raw({ type: 4, streamId: 1 }, Buffer.alloc(11)),
      raw({ type: 5, streamId: 1 }, Buffer.alloc(1)),
      raw({ type: 6, streamId: 1 }, Buffer.alloc(2 + MAX_REASON_BYTES + 1)),
      raw({ type: 7, streamId: 0 }, Buffer.alloc(9)),
      raw({ type: 8, streamId: 0 }, Buffer.alloc(0)),
    ];
    for (const bytes of cases) expect(errorOf(bytes).code).toBe('MFP_TUN_ERR_BAD_LENGTH');
  });

  it('refuses payloads that do not make sense', () => {
    const open = (json: string) => raw({ type: 1, streamId: 1 }, Buffer.from(json));
    expect(errorOf(open('{"jobId": "j"')).code).toBe('MFP_TUN_ERR_BAD_PAYLOAD');
    expect(errorOf(open('{"deviceId": "mfp-1"}')).message).toContain('jobId');
    expect(errorOf(open('{"jobId": "j"}')).message).toContain('deviceId, or a host and a port');
    expect(errorOf(open('{"jobId": "j", "host": "10.0.0.7", "port": 70000}')).message).toContain('port');
    expect(errorOf(raw({ type: 1, streamId: 1 }, Buffer.from([0x7b, 0xff, 0x7d]))).code).toBe(
      'MFP_TUN_ERR_BAD_PAYLOAD',
    );
    const update = Buffer.alloc(12);
    update.writeUInt32BE(0x20_0000, 0);
    expect(errorOf(raw({ type: 4, streamId: 1 }, update)).message).toContain('2^53');
    update.writeUInt32BE(0, 0);
    update.writeUInt32BE(0x8000_0000, 8);
    expect(errorOf(raw({ type: 4, streamId: 1 }, update)).message).toContain('2^31');
    const badReason = Buffer.from([0, 1, 0xe2, 0x82]);
    expect(errorOf(raw({ type: 6, streamId: 1 }, badReason)).message).toContain('UTF-8');
  });

  it('passes fields it does not know through to the layers above, and fills in resumeOffset', () => {
    const bytes = raw(
      { type: 1, streamId: 1 },
      Buffer.from('{"jobId":"j","host":"10.0.0.7","port":9100,"later":true}'),
    );
    expect(decodeAll(bytes)).toEqual([
      {
        type: 'open',
        streamId: 1,
        target: { jobId: 'j', host: '10.0.0.7', port: 9100, resumeOffset: 0, later: true },
      },
    ]);
  });

  it('keeps failing with the first error once it has failed', () => {
    const decoder = new TunnelFrameDecoder();
    decoder.push(raw({ type: 0x7f, streamId: 1 }));
    const first = decoder.next();
    decoder.push(encodeFrame(everyType[1] as TunnelFrame));
    expect(decoder.next()).toBe(first);
    expect(decoder.end()).toBe(first);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('cuts long reasons at a character boundary', () => {
    const reason = '€'.repeat(200);
    const [frame] = decodeAll(encodeFrame({ type: 'reset', streamId: 1, code: 2, reason }));
    const cut = (frame as { reason: string }).reason;
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(cut).toBe('€'.repeat(Math.floor(MAX_REASON_BYTES / 3)));
  });

  it('keeps unknown wire codes as numbers and names the known ones', () => {
    const [frame] = decodeAll(encodeFrame({ type: 'goaway', code: 999, reason: '' }));
    expect(frame).toEqual({ type: 'goaway', code: 999, reason: '' });
    expect(tunnelCodeName(999)).toBe('CODE_999');
    expect(tunnelCodeName(TunnelCode.FLOW_CONTROL)).toBe('FLOW_CONTROL');
  });

  it('shares a large received buffer with big payloads but copies small ones out of it', () => {
    const big = Buffer.alloc(40_000, 1);
    const small = Buffer.alloc(100, 2);
    const bytes = encodeFrames([
      { type: 'data', streamId: 1, payload: big },
      { type: 'data', streamId: 1, payload: small },
    ]);
    const [a, b] = decodeAll(bytes) as { payload: Buffer }[];
    expect(a?.payload.buffer).toBe(bytes.buffer);
    expect(b?.payload.buffer).not.toBe(bytes.buffer);
    expect(b?.payload).toEqual(small);
  });

  it('batches frames up to a byte budget', () => {
    const batch = new FrameBatch(100);
    expect(batch.add({ type: 'data', streamId: 1, payload: Buffer.alloc(60) })).toBe(true);
    expect(batch.room).toBe(100 - 72);
    expect(batch.add({ type: 'data', streamId: 1, payload: Buffer.alloc(17) })).toBe(false);
    expect(batch.add({ type: 'fin', streamId: 1 })).toBe(true);
    expect(batch.frameCount).toBe(2);
    expect(batch.toBuffer()).toHaveLength(84);
  });

  it('refuses a decoder limit below what OPEN needs', () => {
    expect(() => new TunnelFrameDecoder({ maxFramePayload: 100 })).toThrow(RangeError);
  });
});

describe('the example in docs/tunnel-frames.md', () => {
  const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

  it('encodes to the bytes the spec shows', () => {
    const target = { jobId: 'j-1', deviceId: 'mfp-1', resumeOffset: 0 };
    expect(encodeFrame({ type: 'open', streamId: 2, target })).toEqual(
      Buffer.concat([hex('01 01 00 00 00 00 00 02 00 00 00 33'), Buffer.from(JSON.stringify(target))]),
    );
    expect(encodeFrame({ type: 'open-ok', streamId: 2 })).toEqual(hex('01 02 00 00 00 00 00 02 00 00 00 00'));
    expect(
      encodeFrames([
        { type: 'data', streamId: 2, payload: Buffer.from('%!') },
        { type: 'fin', streamId: 2 },
      ]),
    ).toEqual(hex('01 00 00 00 00 00 00 02 00 00 00 02 25 21  01 05 00 00 00 00 00 02 00 00 00 00'));
    expect(encodeFrame({ type: 'window-update', streamId: 2, consumed: 2, window: 256 * 1024 })).toEqual(
      hex('01 04 00 00 00 00 00 02 00 00 00 0c  00 00 00 00 00 00 00 02 00 04 00 00'),
    );
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  connectCommandSchema,
  dataHeader,
  encodeConnect,
  encodeEnd,
  encodeEvent,
  encodeInterrupt,
  JobEventDecoder,
  type JobRecord,
  JobRecordDecoder,
  JobStreamError,
} from '../../../src/protocol/job/job-records.ts';

const sha = 'a'.repeat(64);

/** The document in DATA records with a CONNECT after the first, then INTERRUPT and END. */
function stream(document: Buffer, chunk: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < document.length; at += chunk) {
    const piece = document.subarray(at, at + chunk);
    parts.push(dataHeader(piece.length), piece);
    if (at === 0) parts.push(encodeConnect({ url: 'https://cloud.example.com', token: 't'.repeat(32) }));
  }
  parts.push(encodeInterrupt({ offset: document.length }));
  parts.push(encodeEnd({ size: document.length, sha256: sha }));
  return Buffer.concat(parts);
}

/** Feeds bytes in pieces of random sizes and joins what comes out. */
function decodeInPieces(bytes: Buffer, seed: number): JobRecord[] {
  const decoder = new JobRecordDecoder();
  const out: JobRecord[] = [];
  let at = 0;
  let s = seed;
  while (at < bytes.length) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % 7000);
    out.push(...decoder.push(bytes.subarray(at, at + n)));
    at += n;
  }
  expect(decoder.atBoundary).toBe(true);
  return out;
}

describe('job records', () => {
  it('carry a document byte-exact, with CONNECT in between, then INTERRUPT and END, whatever the chunking', () => {
    const document = randomBytes(300_000);
    for (const seed of [1, 2, 3, 99]) {
      const records = decodeInPieces(stream(document, 64 * 1024), seed);
      const data = Buffer.concat(records.filter((r) => r.type === 'data').map((r) => r.payload));
      expect(data.equals(document)).toBe(true);
      const control = records.filter((r) => r.type !== 'data');
      expect(control).toEqual([
        {
          type: 'connect',
          command: { url: 'https://cloud.example.com', token: 't'.repeat(32), via: 'own', mode: 'pull' },
        },
        { type: 'interrupt', interrupt: { offset: document.length } },
        { type: 'end', end: { size: document.length, sha256: sha } },
      ]);
    }
  });

  it('CONNECT says how the device connects: "own" when the cloud does not say, "gateway" when it must be relayed', () => {
    const base = { url: 'http://cloud.example.com:8443/mfp', token: 't'.repeat(32) };
    const decode = (command: Record<string, unknown>) => {
      const body = Buffer.from(JSON.stringify(command));
      const header = Buffer.from([2, 0, 0, 0, 0]);
      header.writeUInt32BE(body.length, 1);
      return new JobRecordDecoder().push(Buffer.concat([header, body]));
    };
    expect(connectCommandSchema.parse(base).via).toBe('own');
    expect(decode(base)).toEqual([{ type: 'connect', command: { ...base, via: 'own', mode: 'pull' } }]);
    expect(new JobRecordDecoder().push(encodeConnect({ ...base, via: 'gateway' }))).toEqual([
      { type: 'connect', command: { ...base, via: 'gateway', mode: 'pull' } },
    ]);
    expect(decode({ ...base, mode: 'push' })).toEqual([
      { type: 'connect', command: { ...base, via: 'own', mode: 'push' } },
    ]);
    expect(() => decode({ ...base, via: 'carrier-pigeon' })).toThrow(/CONNECT record: via/);
    expect(() => decode({ ...base, mode: 'carrier-pigeon' })).toThrow(/CONNECT record: mode/);
    expect(() => decode({ ...base, via: 'gateway', url: 'ftp://cloud.example.com' })).toThrow(
      /CONNECT record: url/,
    );
  });

  it('rejects unknown types, oversized and empty records and bad control payloads with a typed error', () => {
    const cases: [string, Buffer][] = [
      ['unknown record type 9', Buffer.from([9, 0, 0, 0, 1, 0])],
      ['DATA record of 0 bytes', Buffer.from([1, 0, 0, 0, 0])],
      ['DATA record of 4294967295 bytes', Buffer.from([1, 0xff, 0xff, 0xff, 0xff])],
      ['control record of 1048576 bytes', Buffer.from([2, 0, 0x10, 0, 0])],
      ['CONNECT record is not JSON', Buffer.concat([Buffer.from([2, 0, 0, 0, 3]), Buffer.from('{{{')])],
      [
        'INTERRUPT record: offset',
        Buffer.concat([Buffer.from([4, 0, 0, 0, 13]), Buffer.from('{"offset":-1}')]),
      ],
      [
        'END record: sha256',
        Buffer.concat([
          Buffer.from([3, 0, 0, 0, 22]),
          Buffer.from('{"size":1,"sha256":"x"}').subarray(0, 22),
        ]),
      ],
    ];
    for (const [message, bytes] of cases) {
      const decoder = new JobRecordDecoder();
      let error: unknown;
      try {
        decoder.push(bytes);
      } catch (err) {
        error = err;
      }
      expect(error, message).toBeInstanceOf(JobStreamError);
      expect((error as JobStreamError).code).toBe('MFP_JOB_ERR_BAD_RECORD');
    }
  });

  it('never throws anything but JobStreamError on random bytes, and buffers no more than a control record', () => {
    for (let i = 0; i < 500; i++) {
      const decoder = new JobRecordDecoder();
      try {
        decoder.push(randomBytes(1 + (i % 200)));
      } catch (err) {
        expect(err).toBeInstanceOf(JobStreamError);
      }
    }
  });

  it('decodes event lines split anywhere and refuses junk and endless lines', () => {
    const bytes = Buffer.concat([
      encodeEvent({ event: 'ready', offset: 5 }),
      encodeEvent({ event: 'done', bytes: 10, pages: 2 }),
    ]);
    const decoder = new JobEventDecoder();
    const events = [...decoder.push(bytes.subarray(0, 7)), ...decoder.push(bytes.subarray(7))];
    expect(events).toEqual([
      { event: 'ready', offset: 5 },
      { event: 'done', bytes: 10, pages: 2 },
    ]);
    expect(() => new JobEventDecoder().push(Buffer.from('nope\n'))).toThrow(JobStreamError);
    expect(() => new JobEventDecoder().push(Buffer.from('{"event":"ready","offset":-1}\n'))).toThrow(
      JobStreamError,
    );
    expect(() => new JobEventDecoder().push(Buffer.alloc(10_000, 0x61))).toThrow(/event line over/);
  });
});

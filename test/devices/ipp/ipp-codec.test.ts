import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  findAttribute,
  GroupTag,
  IppDecodeError,
  integerValue,
  stringValues,
  ValueTag,
} from '../../../src/devices/ipp/ipp-codec.ts';

function attr(tag: number, name: string, value: Buffer): Buffer {
  const n = Buffer.from(name);
  const head = Buffer.alloc(3);
  head.writeUInt8(tag, 0);
  head.writeUInt16BE(n.length, 1);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(value.length);
  return Buffer.concat([head, n, len, value]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const HEADER = Buffer.from([1, 1, 0, 0, 0, 0, 0, 7]);

describe('IPP codec', () => {
  it('round-trips a request with multi-valued attributes', () => {
    const encoded = encodeMessage({
      code: 0x000b,
      requestId: 42,
      groups: [
        {
          tag: GroupTag.operation,
          attributes: [
            { name: 'attributes-charset', tag: ValueTag.charset, values: ['utf-8'] },
            {
              name: 'requested-attributes',
              tag: ValueTag.keyword,
              values: ['printer-state', 'printer-state-reasons'],
            },
            { name: 'job-id', tag: ValueTag.integer, values: [-5] },
            { name: 'last-document', tag: ValueTag.boolean, values: [true] },
          ],
        },
      ],
    });
    const decoded = decodeMessage(encoded);
    expect(decoded.code).toBe(0x000b);
    expect(decoded.requestId).toBe(42);
    expect(decoded.version).toEqual({ major: 1, minor: 1 });
    expect(stringValues(findAttribute(decoded, GroupTag.operation, 'requested-attributes'))).toEqual([
      'printer-state',
      'printer-state-reasons',
    ]);
    expect(integerValue(findAttribute(decoded, GroupTag.operation, 'job-id'))).toBe(-5);
    expect(findAttribute(decoded, GroupTag.operation, 'last-document')?.values).toEqual([true]);
    expect(encoded.at(-1)).toBe(GroupTag.endOfAttributes);
  });

  it('decodes collections, ranges, resolutions and text with language', () => {
    const textWithLang = Buffer.concat([
      Buffer.from([0, 2]),
      Buffer.from('en'),
      Buffer.from([0, 2]),
      Buffer.from('hi'),
    ]);
    const range = Buffer.concat([int32(1), int32(99)]);
    const res = Buffer.concat([int32(600), int32(300), Buffer.from([3])]);
    const body = Buffer.concat([
      HEADER,
      Buffer.from([GroupTag.printer]),
      attr(ValueTag.begCollection, 'media-col', Buffer.alloc(0)),
      attr(ValueTag.memberAttrName, '', Buffer.from('media-size')),
      attr(ValueTag.begCollection, '', Buffer.alloc(0)),
      attr(ValueTag.memberAttrName, '', Buffer.from('x-dimension')),
      attr(ValueTag.integer, '', int32(21000)),
      attr(ValueTag.endCollection, '', Buffer.alloc(0)),
      attr(ValueTag.endCollection, '', Buffer.alloc(0)),
      attr(ValueTag.rangeOfInteger, 'copies-supported', range),
      attr(ValueTag.resolution, 'printer-resolution-default', res),
      attr(ValueTag.textWithLanguage, 'printer-info', textWithLang),
      Buffer.from([GroupTag.endOfAttributes]),
    ]);
    const m = decodeMessage(body);
    expect(findAttribute(m, GroupTag.printer, 'media-col')?.values[0]).toEqual({
      'media-size': [{ 'x-dimension': [21000] }],
    });
    expect(findAttribute(m, GroupTag.printer, 'copies-supported')?.values[0]).toEqual({
      lower: 1,
      upper: 99,
    });
    expect(findAttribute(m, GroupTag.printer, 'printer-resolution-default')?.values[0]).toEqual({
      xres: 600,
      yres: 300,
      units: 3,
    });
    expect(stringValues(findAttribute(m, GroupTag.printer, 'printer-info'))).toEqual(['hi']);
  });

  it('rejects every truncation of a valid reply with a typed error', () => {
    const full = Buffer.concat([
      HEADER,
      Buffer.from([GroupTag.operation]),
      attr(ValueTag.charset, 'attributes-charset', Buffer.from('utf-8')),
      Buffer.from([GroupTag.job]),
      attr(ValueTag.integer, 'job-id', int32(3)),
      Buffer.from([GroupTag.endOfAttributes]),
    ]);
    expect(integerValue(findAttribute(decodeMessage(full), GroupTag.job, 'job-id'))).toBe(3);
    for (let cut = 0; cut < full.length; cut++) {
      let caught: unknown;
      try {
        decodeMessage(full.subarray(0, cut));
      } catch (err) {
        caught = err;
      }
      expect(caught, `cut at ${cut}`).toBeInstanceOf(IppDecodeError);
      expect((caught as IppDecodeError).code).toBe('IPP_ERR_TRUNCATED');
    }
  });

  it('rejects wrong value lengths, values before a group and unclosed collections', () => {
    const cases: Array<[Buffer, string]> = [
      [
        Buffer.concat([
          HEADER,
          Buffer.from([GroupTag.job]),
          attr(ValueTag.integer, 'job-id', Buffer.from([0, 1])),
          Buffer.from([3]),
        ]),
        'IPP_ERR_BAD_VALUE',
      ],
      [
        Buffer.concat([HEADER, attr(ValueTag.integer, 'job-id', int32(1)), Buffer.from([3])]),
        'IPP_ERR_BAD_TAG',
      ],
      [
        Buffer.concat([
          HEADER,
          Buffer.from([GroupTag.printer]),
          attr(ValueTag.begCollection, 'media-col', Buffer.alloc(0)),
          Buffer.from([GroupTag.endOfAttributes]),
        ]),
        'IPP_ERR_TRUNCATED',
      ],
      [
        Buffer.concat([
          HEADER,
          Buffer.from([GroupTag.job]),
          attr(ValueTag.endCollection, 'x', Buffer.alloc(0)),
          Buffer.from([3]),
        ]),
        'IPP_ERR_BAD_TAG',
      ],
    ];
    for (const [bytes, code] of cases) {
      expect(() => decodeMessage(bytes)).toThrow(expect.objectContaining({ code }));
    }
  });

  it('refuses collections nested beyond the depth limit', () => {
    const open = Buffer.concat([
      attr(ValueTag.begCollection, '', Buffer.alloc(0)),
      attr(ValueTag.memberAttrName, '', Buffer.from('m')),
    ]);
    const body = Buffer.concat([
      HEADER,
      Buffer.from([GroupTag.printer]),
      attr(ValueTag.begCollection, 'deep', Buffer.alloc(0)),
      attr(ValueTag.memberAttrName, '', Buffer.from('m')),
      ...Array.from({ length: 40 }, () => open),
    ]);
    expect(() => decodeMessage(body)).toThrow(expect.objectContaining({ code: 'IPP_ERR_TOO_DEEP' }));
  });
});

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { PjlParseError, PjlReader } from '../../../src/devices/pjl/pjl-reader.ts';

const END = '@PJL USTATUS JOB\r\nEND\r\nNAME="job-1"\r\nPAGES=3\r\n\f';
const STATUS = '@PJL INFO STATUS\r\nCODE=41303\r\nDISPLAY="LOAD PAPER"\r\nONLINE=TRUE\r\n\f';
const PAGECOUNT = '@PJL INFO PAGECOUNT\r\n183933\r\n\f';

describe('PJL reader', () => {
  it('parses unsolicited status and INFO replies into header, fields and words', () => {
    const messages = new PjlReader().push(Buffer.from(END + STATUS + PAGECOUNT, 'latin1'));
    expect(messages).toEqual([
      { header: ['USTATUS', 'JOB'], fields: { NAME: 'job-1', PAGES: '3' }, words: ['END'] },
      {
        header: ['INFO', 'STATUS'],
        fields: { CODE: '41303', DISPLAY: 'LOAD PAPER', ONLINE: 'TRUE' },
        words: [],
      },
      { header: ['INFO', 'PAGECOUNT'], fields: {}, words: ['183933'] },
    ]);
  });

  it('gives the same messages however the bytes are split', () => {
    const all = Buffer.from(`\r\n${END}${STATUS}${PAGECOUNT}`, 'latin1');
    const whole = new PjlReader().push(all);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 12 }), (cuts) => {
        const reader = new PjlReader();
        const points = [0, ...cuts.sort((a, b) => a - b), all.length];
        const got = points.slice(1).flatMap((end, i) => reader.push(all.subarray(points[i], end)));
        expect(got).toEqual(whole);
      }),
    );
  });

  it('rejects garbage as soon as it cannot be PJL, with typed codes', () => {
    const cases: Array<[string, string]> = [
      ['HTTP/1.1 400 Bad Request\r\n', 'PJL_ERR_GARBAGE'],
      ['\x00\x01\x02\x03', 'PJL_ERR_GARBAGE'],
      ['@PJX INFO\r\n\f', 'PJL_ERR_GARBAGE'],
      ['@PJL INFO STATUS\r\nCO DE=1\r\n\f', 'PJL_ERR_BAD_FIELD'],
      ['@PJL INFO STATUS\r\nDISPLAY="open\r\n\f', 'PJL_ERR_BAD_FIELD'],
      [`@PJL INFO STATUS\r\n${'X'.repeat(9000)}`, 'PJL_ERR_TOO_LONG'],
    ];
    for (const [text, code] of cases) {
      let caught: unknown;
      try {
        new PjlReader().push(Buffer.from(text, 'latin1'));
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(text.slice(0, 30))).toBeInstanceOf(PjlParseError);
      expect((caught as PjlParseError).code).toBe(code);
    }
  });

  it('does linear work on a reply read one byte at a time (issue 13, finding 15)', () => {
    // An 8 KiB reply byte by byte: count the bytes Buffer.concat copies (main copied all
    // that came before on every byte: 33 MB for this reply; 0.7 s).
    const body = `@PJL INFO STATUS\r\n${'DISPLAY="READY"\r\n'.repeat(400)}`.slice(0, 8000);
    const reply = Buffer.from(`${body}\f`, 'latin1');
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const reader = new PjlReader({ maxMessageBytes: 8192 });
      const got = [];
      for (let i = 0; i < reply.length; i++) got.push(...reader.push(reply.subarray(i, i + 1)));
      expect(got).toHaveLength(1);
      const copied = concat.mock.results.reduce((n, r) => n + (r.value as Buffer).length, 0);
      expect(copied).toBeLessThanOrEqual(2 * reply.length);
    } finally {
      concat.mockRestore();
    }
  });
});

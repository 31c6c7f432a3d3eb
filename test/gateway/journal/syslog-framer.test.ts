import { describe, expect, it } from 'vitest';
import {
  type FramedItem,
  SyslogFrameError,
  SyslogFramer,
} from '../../../src/gateway/journal/syslog-framer.ts';

const A = '<14>1 - mfp-a app - - - first';
const B = '<14>1 - mfp-b app - - - second, longer';
const counted = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;

function texts(items: FramedItem[]): string[] {
  return items.map((item) => (item instanceof SyslogFrameError ? `!${item.code}` : item.toString()));
}

/** Feeds the bytes to a fresh framer cut at the given offsets. */
function feed(bytes: Buffer, cuts: number[], max = 1024): string[] {
  const framer = new SyslogFramer(max);
  const out: FramedItem[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...framer.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return texts([...out, ...framer.end()]);
}

describe('SyslogFramer (RFC 6587)', () => {
  it('splits several octet-counted messages in one chunk', () => {
    expect(feed(Buffer.from(counted(A) + counted(B)), [])).toEqual([A, B]);
  });

  it('joins a message split across chunks, wherever the cuts fall', () => {
    const bytes = Buffer.from(counted(A) + counted(B));
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed(bytes, [cut])).toEqual([A, B]);
    }
    expect(
      feed(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual([A, B]);
  });

  it('counts octets, not characters, so an LF or multibyte text inside a message is kept', () => {
    const multi = '<14>1 - mfp app - - - line one\nline two — ü';
    expect(feed(Buffer.from(counted(multi) + counted(A)), [7])).toEqual([multi, A]);
  });

  it('falls back to LF framing for frames that start with "<", dropping a CR before the LF', () => {
    expect(feed(Buffer.from(`${A}\r\n${B}\n`), [5, 40])).toEqual([A, B]);
  });

  it('mixes both framings and skips blank lines between frames', () => {
    expect(feed(Buffer.from(`${counted(A)}\n${B}\n\n${counted(A)}`), [])).toEqual([A, B, A]);
  });

  it('keeps a last LF-framed line without its LF when the stream ends', () => {
    expect(feed(Buffer.from(`${A}\n${B}`), [])).toEqual([A, B]);
  });

  it('reports a counted message cut by the end of the stream', () => {
    expect(feed(Buffer.from(counted(A).slice(0, 10)), [])).toEqual(['!MFP_SYSLOG_ERR_TRUNCATED']);
  });

  it('skips an oversize counted message without buffering it, and goes on with the next', () => {
    const big = `<14>1 - - - - - ${'x'.repeat(200)}`;
    const framer = new SyslogFramer(100);
    const out = framer.push(Buffer.from(counted(big).slice(0, 50)));
    expect(framer.bufferedBytes).toBe(0);
    out.push(...framer.push(Buffer.from(counted(big).slice(50) + counted(A))));
    expect(texts(out)).toEqual(['!MFP_SYSLOG_ERR_FRAME_TOO_LARGE', A]);
  });

  it('skips an oversize LF line and goes on after its LF', () => {
    const big = `<14>1 - - - - - ${'x'.repeat(200)}`;
    expect(feed(Buffer.from(`${big}\n${A}\n`), [30, 120], 100)).toEqual([
      '!MFP_SYSLOG_ERR_FRAME_TOO_LARGE',
      A,
    ]);
  });

  it('fails for good on a frame that starts with neither a length nor "<"', () => {
    const framer = new SyslogFramer(1024);
    const out = framer.push(Buffer.from(`${counted(A)}GET / HTTP/1.1\r\n`));
    expect(texts(out)).toEqual([A, '!MFP_SYSLOG_ERR_BAD_FRAME']);
    expect((out[1] as SyslogFrameError).fatal).toBe(true);
    expect(framer.push(Buffer.from(counted(A)))).toEqual([]);
  });

  it('fails on a length that is not digits then a space, or too many digits', () => {
    expect(feed(Buffer.from('12x'), [])).toEqual(['!MFP_SYSLOG_ERR_BAD_FRAME']);
    expect(feed(Buffer.from('1234567890 '), [])).toEqual(['!MFP_SYSLOG_ERR_BAD_FRAME']);
  });
});

import { describe, expect, it } from 'vitest';
import { JsonLineReader } from '../../src/protocol/json-lines.ts';

describe('JSON line reader', () => {
  it('splits lines across chunks and keeps a partial line for later', () => {
    const reader = new JsonLineReader(100);
    expect(reader.push(Buffer.from('{"a":1}\n{"b"'))).toEqual([Buffer.from('{"a":1}')]);
    expect(reader.pending).toBe(4);
    expect(reader.push(Buffer.from(':2}\n\n'))).toEqual([Buffer.from('{"b":2}'), Buffer.alloc(0)]);
    expect(reader.pending).toBe(0);
  });

  it('refuses a line over the limit as soon as it is known, and for good', () => {
    const reader = new JsonLineReader(10);
    expect(reader.push(Buffer.from('0123456'))).toEqual([]);
    const error = reader.push(Buffer.from('7890'));
    expect(error).toMatchObject({ code: 'MFP_ERR_FRAME_TOO_LARGE', closeCode: 1009 });
    expect(reader.push(Buffer.from('\n'))).toMatchObject({ code: 'MFP_ERR_FRAME_TOO_LARGE' });
  });

  it('takes a line of exactly the limit', () => {
    const reader = new JsonLineReader(10);
    expect(reader.push(Buffer.from('0123456789\n'))).toEqual([Buffer.from('0123456789')]);
  });
});

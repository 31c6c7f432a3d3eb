import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogSpool } from '../../../src/gateway/mqtt/log-spool.ts';
import { scratchDir } from '../../support/chain.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();

function spoolFile(): string {
  const { dir, cleanup } = scratchDir('spool');
  defer(cleanup);
  return join(dir, 'spool', 'log.db');
}

describe('LogSpool', () => {
  it('keeps records across a reopen (a restart) until they are removed', () => {
    const file = spoolFile();
    const first = new LogSpool(file, 100);
    expect([first.append(1, { a: 1 }), first.append(2, { a: 2 }), first.append(3, { a: 3 })]).toEqual([
      1, 2, 3,
    ]);
    first.close();
    const again = new LogSpool(file, 100);
    defer(() => again.close());
    expect(again.oldest(0, 10).map((r) => [r.seq, JSON.parse(r.body)])).toEqual([
      [1, { a: 1 }],
      [2, { a: 2 }],
      [3, { a: 3 }],
    ]);
    again.remove(1, 2);
    expect(again.oldest(0, 10).map((r) => r.seq)).toEqual([3]);
    expect(again.append(4, { a: 4 })).toBe(4);
  });

  it('drops the oldest records past its bound and counts them durably', () => {
    const file = spoolFile();
    const spool = new LogSpool(file, 3);
    for (let i = 1; i <= 5; i++) spool.append(i, { i });
    expect(spool.oldest(0, 10).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(spool.dropped).toBe(2);
    spool.close();
    const again = new LogSpool(file, 3);
    defer(() => again.close());
    expect(again.dropped).toBe(2);
  });
});

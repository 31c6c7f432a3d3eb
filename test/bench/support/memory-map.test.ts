import { describe, expect, it } from 'vitest';
import { privatePartsOf } from '../../../bench/support/memory-map.ts';

/** One smaps entry: the mapping's line and the fields the parser reads. */
const entry = (range: string, perms: string, name: string, anonymousKB: number) =>
  `${range} ${perms} 00000000 00:00 0          ${name}\nSize: 1 kB\nRss: ${anonymousKB} kB\nAnonymous: ${anonymousKB} kB\nAnonHugePages: 0 kB\n`;

describe('private memory by kind of mapping', () => {
  it('tells V8 pages, JIT code, malloc arenas and the rest apart, and the parts sum to the whole', () => {
    const smaps = [
      entry('06b56000-06b7d000', 'rw-p', '/usr/bin/node', 148),
      entry('35271000-35b69000', 'rw-p', '[heap]', 8964),
      // Two V8 pages (256 KiB each), one only partly touched.
      entry('12867f40000-12867f80000', 'rw-p', '', 256),
      entry('16acb7e80000-16acb7ec0000', 'rw-p', '', 44),
      // V8's code range.
      entry('7feba6800000-7febc67c0000', 'rwxp', '', 1596),
      // glibc's second arena: 64 MiB-aligned.
      entry('7febe0000000-7febe0129000', 'rw-p', '', 1156),
      // A thread stack and a large mmapped block.
      entry('7febdefff000-7febdf7ff000', 'rw-p', '', 20),
      entry('7febe541e000-7febe553e000', 'rw-p', '', 1032),
      entry('7ffd0c588000-7ffd0c5a9000', 'rw-p', '[stack]', 68),
    ].join('');
    expect(privatePartsOf(smaps)).toEqual({
      v8PagesMB: 0.29,
      codeMB: 1.56,
      mallocMB: 9.88,
      otherMB: 1.24,
    });
  });

  it('reads nothing from an empty text', () => {
    expect(privatePartsOf('')).toEqual({ v8PagesMB: 0, codeMB: 0, mallocMB: 0, otherMB: 0 });
  });
});

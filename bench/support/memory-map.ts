/**
 * Where a Node process's private (anonymous) memory lies, from /proc/PID/smaps: which kind of
 * mapping holds each resident anonymous page. Enough to tell V8's heap from its JIT code and
 * from malloc's (Buffers' backing stores, SQLite, Node's and OpenSSL's own structures), which
 * is what a soak needs to say what grows. Linux x64 with glibc, as measured (docs/memory.md).
 */
import { readFileSync } from 'node:fs';

/** V8 allocates its heap (new, old, trusted spaces) in pages of this size, each its own mapping. */
const V8_PAGE_KB = 256;
/** glibc puts every malloc arena but the main one in heaps aligned to their 64 MiB maximum. */
const ARENA_ALIGN = 64 * 1024 * 1024;

/** Private memory by the kind of mapping that holds it, MB; the parts sum to the whole. */
export interface PrivateParts {
  /** V8's heap pages: unnamed 256 KiB read-write mappings. */
  v8PagesMB: number;
  /** V8's code range: the one read-write-execute mapping (JIT and builtins' code). */
  codeMB: number;
  /** glibc malloc: the main arena (`[heap]`) and the other arenas' 64 MiB-aligned heaps. */
  mallocMB: number;
  /** The rest: malloc's separately mapped large blocks, V8's large objects, thread stacks, libraries' data. */
  otherMB: number;
}

/** Sorts the anonymous pages of an smaps text (`Anonymous:` of each mapping) by kind of mapping. */
export function privatePartsOf(smaps: string): PrivateParts {
  const kB = { v8PagesMB: 0, codeMB: 0, mallocMB: 0, otherMB: 0 };
  let kind: keyof PrivateParts = 'otherMB';
  for (const line of smaps.split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (mapping) {
      const [, from = '', to = '', perms = '', name = ''] = mapping;
      const start = Number.parseInt(from, 16);
      const sizeKB = (Number.parseInt(to, 16) - start) / 1024;
      if (name === '[heap]') kind = 'mallocMB';
      else if (name !== '') kind = 'otherMB';
      else if (perms.startsWith('rwx')) kind = 'codeMB';
      else if (sizeKB === V8_PAGE_KB) kind = 'v8PagesMB';
      else if (perms.startsWith('rw') && start % ARENA_ALIGN === 0) kind = 'mallocMB';
      else kind = 'otherMB';
      continue;
    }
    const anonymous = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anonymous) kB[kind] += Number(anonymous[1]);
  }
  const mb = (n: number) => Number((n / 1024).toFixed(2));
  return {
    v8PagesMB: mb(kB.v8PagesMB),
    codeMB: mb(kB.codeMB),
    mallocMB: mb(kB.mallocMB),
    otherMB: mb(kB.otherMB),
  };
}

/** A process's private memory by kind of mapping now (reads /proc/PID/smaps). */
export function privateParts(pid: number): PrivateParts {
  return privatePartsOf(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
}

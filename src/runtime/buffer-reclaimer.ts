/**
 * Frees the memory of short-lived Buffers while a relay moves data. Every socket read is a
 * fresh 64 KiB ArrayBuffer, and so is every WebSocket message ws reassembles from two
 * reads; V8 gives that memory back only when the Buffer object is collected. A relay makes
 * them far faster than it makes JS objects, so the young generation seldom fills, the dead
 * Buffers pile up outside the heap and V8 falls back to full mark-compacts for "external
 * memory" — on loopback one every ~50 ms, a third of the gateway's CPU and tens of MB of
 * RSS. A minor GC (scavenge) every few MiB relayed frees them while they are young, for
 * ~0.05 ms each: bench:tunnel went from 3.5 to 1.5 CPU s/GiB and from 175 to 113 MB RSS
 * with 100 tunnels moving data.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes relayed between two minor collections: the sweet spot of bench:tunnel (1, 2, 4, 8 MiB tried). */
export const RECLAIM_EVERY_BYTES = 2 * 1024 * 1024;

/**
 * While data moves, at most one full (major) collection this often, in place of a minor one.
 * Buffers and objects that lived through a few scavenges (a socket's queued writes, a
 * tunnel's bookkeeping) die in the old generation, which V8 lets grow to a multiple of the
 * live heap before it collects it, and their freed memory lies about the malloc heap in
 * pieces meanwhile. An idle gateway relays nothing and pays nothing.
 */
export const MAJOR_EVERY_MS = 60_000;

export interface BufferReclaimer {
  /** Counts bytes that went through this process in Buffers; collects young garbage every so many. */
  relayed(bytes: number): void;
}

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

/**
 * V8's gc() without exposing it to every module: the flag is on only while one new
 * context is created, which is where V8 installs the function (the `expose-gc` package does
 * the same). A process started with --expose-gc already has it.
 */
function exposedGc(): GcFunction {
  const global = (globalThis as { gc?: GcFunction }).gc;
  if (global) return global;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * A reclaimer that collects after every `everyBytes` relayed: a full collection
 * (`collectMajor`) if none ran for `majorEveryMs` by `now`, else a minor one (`collect`).
 * Tests inject them all.
 */
export function bufferReclaimer(
  options: {
    everyBytes?: number;
    collect?: () => void;
    collectMajor?: () => void;
    majorEveryMs?: number;
    /** Monotonic milliseconds (the runtime layer sits below clock/). */
    now?: () => number;
  } = {},
): BufferReclaimer {
  const everyBytes = options.everyBytes ?? RECLAIM_EVERY_BYTES;
  const majorEveryMs = options.majorEveryMs ?? MAJOR_EVERY_MS;
  const now = options.now ?? (() => performance.now());
  let collect = options.collect;
  let collectMajor = options.collectMajor;
  let since = 0;
  // The first full collection comes a period after the first bytes, not at once.
  let lastMajor: number | undefined;
  return {
    relayed(bytes) {
      since += bytes;
      if (since < everyBytes) return;
      since = 0;
      const t = now();
      lastMajor ??= t;
      if (t - lastMajor >= majorEveryMs) {
        lastMajor = t;
        if (!collectMajor) {
          const gc = exposedGc();
          collectMajor = () => gc({ type: 'major' });
        }
        collectMajor();
        return;
      }
      if (!collect) {
        const gc = exposedGc();
        collect = () => gc({ type: 'minor' });
      }
      collect();
    },
  };
}

let shared: BufferReclaimer | undefined;

/** The process's one reclaimer: collection is process-wide, so every line counts toward the same budget. */
export function processBufferReclaimer(): BufferReclaimer {
  shared ??= bufferReclaimer();
  return shared;
}

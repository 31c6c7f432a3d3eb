/**
 * glibc's malloc_trim(0), through our own addon (native/malloc-trim.c). glibc's free()
 * gives memory back to the kernel only from the top of a heap; a free chunk below a live one
 * keeps its pages in the process's private memory until malloc_trim returns them (with
 * MADV_DONTNEED), and neither Node nor V8 ever calls it. In a gateway that opens and closes
 * tunnels for days, those pages come and go with each burst: over a 140-minute soak glibc's
 * heaps held 1.6-2.6 MB of them at any minute, and the amount drifted up by 0.26 MB/h in one
 * run of two (docs/memory.md). No package on npm calls it, and an FFI library (koffi) costs
 * 1.7 MB of private memory just to load: a 14 KB addon of our own costs nothing to speak of.
 * Built into the app's directory (board/bundle/build-native.ts); absent when run from src/.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's file name, next to the app's modules (dist/). */
export const MALLOC_TRIM_ADDON = 'malloc-trim.node';

/** Gives free heap pages back to the kernel; true when it released any. */
export type MallocTrim = () => boolean;

export type MallocTrimLoad = { trim: MallocTrim } | { unavailable: string };

/** Where the addon sits for this module: beside it, which in the built app is dist/. */
export function defaultMallocTrimFile(): string {
  return fileURLToPath(new URL(`./${MALLOC_TRIM_ADDON}`, import.meta.url));
}

/**
 * Loads the addon from file. Never throws: a missing or foreign addon (run from src/, or on
 * a libc without malloc_trim) leaves the process as it would be without it, with the reason.
 */
export function loadMallocTrim(file = defaultMallocTrimFile()): MallocTrimLoad {
  try {
    const addon = createRequire(import.meta.url)(file) as { trim?: unknown };
    if (typeof addon.trim !== 'function') return { unavailable: `${file} has no trim function` };
    const trim = addon.trim as () => unknown;
    return { trim: () => trim() === true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND')
      return { unavailable: `${file} is not there (run from src/, not a build)` };
    return { unavailable: `${file} could not be loaded: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * A benchmark's window into a Node process started with `--inspect=127.0.0.1:0`: the Chrome
 * DevTools protocol over the inspector's WebSocket. Enough to force a full GC and read the V8
 * heap by space afterwards, so a soak can measure the live heap rather than the garbage not
 * yet collected. The process itself runs unchanged; only the inspector's thread is added.
 */
import WebSocket from 'ws';

/** Node's inspector announces itself on stderr with this line. */
const LISTENING = /Debugger listening on (ws:\/\/\S+)/;
const CALL_TIMEOUT_MS = 30_000;

/** The inspector's WebSocket URL from a process's stderr so far, if it has announced it. */
export function inspectorUrl(stderr: string): string | undefined {
  return LISTENING.exec(stderr)?.[1];
}

/** The V8 heap of a process, MB, split into what a leak would grow and what the JIT grows. */
export interface HeapAfterGc {
  /** All of the V8 heap in use (`heapUsed`). */
  usedMB: number;
  /** JavaScript objects: new, old and large-object spaces. */
  objectsMB: number;
  /** The JIT's: machine code, bytecode and deoptimization data (code and trusted spaces). */
  codeMB: number;
  /** Of it, bytecode and its metadata (`v8.getHeapCodeStatistics()`): grows as functions first run. */
  bytecodeMB: number;
  /** Of it, machine code and its metadata: grows as the optimizing tiers compile hot functions. */
  machineCodeMB: number;
  /** Memory of ArrayBuffers and Buffers outside the V8 heap (`external`). */
  externalMB: number;
}

/** Space names of `v8.getHeapSpaceStatistics()` that hold the JIT's output rather than the program's objects. */
const CODE_SPACES =
  /^(code|trusted|shared_trusted|code_large_object|trusted_large_object|shared_trusted_large_object)_space$/;

/** Evaluated in the process: its heap by space and its memoryUsage, as JSON. */
const HEAP_EXPRESSION = `JSON.stringify({
  spaces: process.getBuiltinModule('v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]),
  code: process.getBuiltinModule('v8').getHeapCodeStatistics(),
  memory: process.memoryUsage(),
})`;

/** Splits a heap-by-space reading into the parts of HeapAfterGc. */
export function heapParts(reading: {
  spaces: [string, number][];
  code: { code_and_metadata_size: number; bytecode_and_metadata_size: number };
  memory: { heapUsed: number; external: number };
}): HeapAfterGc {
  const mb = (bytes: number) => Number((bytes / (1024 * 1024)).toFixed(3));
  let code = 0;
  let objects = 0;
  for (const [name, used] of reading.spaces) {
    if (CODE_SPACES.test(name)) code += used;
    else if (name !== 'read_only_space') objects += used;
  }
  return {
    usedMB: mb(reading.memory.heapUsed),
    objectsMB: mb(objects),
    codeMB: mb(code),
    bytecodeMB: mb(reading.code.bytecode_and_metadata_size),
    machineCodeMB: mb(reading.code.code_and_metadata_size),
    externalMB: mb(reading.memory.external),
  };
}

/** A DevTools protocol session with one process. */
export interface InspectorSession {
  /** Sends one command and resolves with its result. */
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Forces a full garbage collection, then reads the heap (what is left is live). */
  heapAfterGc(): Promise<HeapAfterGc>;
  /** A heap snapshot (V8 collects garbage first), as its JSON text. */
  heapSnapshot(): Promise<string>;
  close(): void;
}

/** Opens a DevTools protocol session on an inspector WebSocket URL. */
export async function openInspector(url: string): Promise<InspectorSession> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  let snapshotChunks: string[] | undefined;
  const pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      id?: number;
      method?: string;
      params?: { chunk?: string };
      result?: Record<string, unknown>;
      error?: { message: string };
    };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk')
      snapshotChunks?.push(message.params?.chunk ?? '');
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result ?? {});
  });
  socket.on('close', () => {
    for (const waiter of pending.values())
      waiter.reject(new Error('inspector: the process closed the session'));
    pending.clear();
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`inspector: ${method} unanswered after ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    call,
    async heapAfterGc() {
      await call('HeapProfiler.collectGarbage');
      const { result } = (await call('Runtime.evaluate', {
        expression: HEAP_EXPRESSION,
        returnByValue: true,
      })) as { result?: { value?: string } };
      if (typeof result?.value !== 'string') throw new Error('inspector: no heap reading');
      return heapParts(JSON.parse(result.value));
    },
    async heapSnapshot() {
      snapshotChunks = [];
      try {
        await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
        return snapshotChunks.join('');
      } finally {
        snapshotChunks = undefined;
      }
    },
    close: () => socket.close(),
  };
}

import type { DirectConnect } from '../device-driver.ts';

/** One step of a job's data part: the document's next chunk, or a connection-establishment command. */
export type DocumentStep = { chunk: Buffer } | { connect: DirectConnect };

/**
 * The document's chunks, with the connection-establishment commands (seed 001's 7G) that come
 * meanwhile put in between, in the order they come; ends with the document.
 *
 * Written by hand, not with Promise.race: racing each chunk against the one command promise,
 * which stays pending for the whole job when no switch comes, hangs a reaction on that promise
 * per chunk, and each reaction holds the chunk that won. A job's whole document stayed in
 * memory until the job was forgotten (bench:soak: +0.8 MB a minute with a 128 KiB job every
 * 10 s). Here the command promise has one listener at a time, and a step's result is
 * referenced by nothing once taken.
 */
export async function* documentSteps(
  chunks: AsyncIterator<Buffer | string>,
  nextConnect: (() => Promise<DirectConnect>) | undefined,
): AsyncGenerator<DocumentStep, void, undefined> {
  let command: DirectConnect | undefined;
  let wake: (() => void) | undefined;
  const watch = () => {
    nextConnect?.().then((c) => {
      command = c;
      wake?.();
    });
  };
  watch();
  let next = chunks.next();
  for (;;) {
    if (command) {
      const connect = command;
      command = undefined;
      watch();
      yield { connect };
      continue;
    }
    const pending = next;
    const step = await new Promise<IteratorResult<Buffer | string> | 'command'>((resolve, reject) => {
      wake = () => resolve('command');
      pending.then(resolve, reject);
    }).finally(() => {
      wake = undefined;
    });
    if (step === 'command') continue;
    if (step.done) return;
    next = chunks.next();
    yield { chunk: Buffer.isBuffer(step.value) ? step.value : Buffer.from(step.value) };
  }
}

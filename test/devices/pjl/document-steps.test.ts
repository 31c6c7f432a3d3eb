import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { DirectConnect } from '../../../src/devices/device-driver.ts';
import { type DocumentStep, documentSteps } from '../../../src/devices/pjl/document-steps.ts';

/** V8's gc(), as src/runtime/buffer-reclaimer.ts gets it. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as (o: { type: string }) => void)({ type: 'major' });
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** A document of `count` chunks made on demand, each remembered weakly. */
function weakDocument(count: number, size = 64 * 1024) {
  const refs: WeakRef<Buffer>[] = [];
  async function* chunks() {
    for (let i = 0; i < count; i++) {
      const chunk = Buffer.alloc(size, i);
      refs.push(new WeakRef(chunk));
      yield chunk;
    }
  }
  return { refs, chunks: chunks()[Symbol.asyncIterator]() };
}

const command = (n: number): DirectConnect => ({
  url: `https://cloud.example/d/${n}`,
  token: 't',
  mode: 'pull',
});

describe('documentSteps', () => {
  it('gives the chunks in order, then ends', async () => {
    const { chunks } = weakDocument(3, 4);
    const steps: DocumentStep[] = [];
    for await (const step of documentSteps(chunks, undefined)) steps.push(step);
    expect(steps.map((s) => ('chunk' in s ? s.chunk[0] : 'connect'))).toEqual([0, 1, 2]);
  });

  it('puts each command in between the chunks when it comes', async () => {
    let send: ((c: DirectConnect) => void) | undefined;
    const nextConnect = () => new Promise<DirectConnect>((resolve) => (send = resolve));
    const { chunks } = weakDocument(4, 4);
    const seen: string[] = [];
    for await (const step of documentSteps(chunks, nextConnect)) {
      if ('connect' in step) seen.push(step.connect.url);
      else {
        seen.push(`chunk ${step.chunk[0]}`);
        if (step.chunk[0] === 1) send?.(command(1));
      }
    }
    expect(seen).toEqual(['chunk 0', 'chunk 1', 'https://cloud.example/d/1', 'chunk 2', 'chunk 3']);
  });

  it('keeps no chunk it gave while no command comes (the whole job stayed in memory)', async () => {
    const never = new Promise<DirectConnect>(() => {});
    const { refs, chunks } = weakDocument(64);
    for await (const _ of documentSteps(chunks, () => never)) {
      // sent to the device
    }
    // A WeakRef keeps its target alive to the end of the job that made it: let those end first.
    await new Promise((resolve) => setImmediate(resolve));
    fullGc();
    await new Promise((resolve) => setImmediate(resolve));
    // At most the last, which the finished document generator itself still holds.
    expect(refs.slice(0, -1).filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });

  it('fails with the document when a read fails', async () => {
    async function* failing() {
      yield Buffer.from('a');
      throw new Error('the tunnel broke');
    }
    const steps = documentSteps(failing()[Symbol.asyncIterator](), () => new Promise(() => {}));
    await expect(
      (async () => {
        for await (const _ of steps) {
          // sent
        }
      })(),
    ).rejects.toThrow('the tunnel broke');
  });
});

import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { censusGrowth, heapCensus } from '../../../bench/support/heap-census.ts';
import { type InspectorSession, inspectorUrl, openInspector } from '../../../bench/support/inspector.ts';
import { reapOnExit } from '../../support/reap-on-exit.ts';

/** A Node process that only waits, with its inspector on a free port. */
async function inspectedProcess() {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '-e', 'setInterval(() => {}, 1000)'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  reapOnExit(child);
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const found = inspectorUrl(stderr);
      if (found) resolve(found);
    });
    child.once('exit', () => reject(new Error(`exited before its inspector listened: ${stderr}`)));
  });
  return { child, url };
}

describe('the inspector as a soak uses it', () => {
  let session: InspectorSession | undefined;
  let stop: (() => void) | undefined;
  afterEach(() => {
    session?.close();
    stop?.();
  });

  it('reads the live heap after a full GC: objects held show, garbage does not', async () => {
    const { child, url } = await inspectedProcess();
    stop = () => child.kill();
    session = await openInspector(url);
    const evaluate = (expression: string) => session?.call('Runtime.evaluate', { expression });
    const before = await session.heapAfterGc();

    // ~8 MB of small objects, kept by a global.
    await evaluate('globalThis.kept = Array.from({ length: 200_000 }, (_, i) => ({ i, name: `n${i}` })); 0');
    const holding = await session.heapAfterGc();
    expect(holding.objectsMB - before.objectsMB).toBeGreaterThan(5);

    // The same again, but unreachable once made: a full GC leaves none of it.
    await evaluate(
      'globalThis.kept = null; Array.from({ length: 200_000 }, (_, i) => ({ i, name: `n${i}` })).length',
    );
    const released = await session.heapAfterGc();
    expect(released.objectsMB - before.objectsMB).toBeLessThan(1);
    expect(released.usedMB).toBeGreaterThan(0);
    expect(released.codeMB).toBeGreaterThan(0);

    // A Buffer held outside the heap counts as external.
    await evaluate('globalThis.buffer = Buffer.alloc(4 * 1024 * 1024, 1); 0');
    const withBuffer = await session.heapAfterGc();
    expect(withBuffer.externalMB - released.externalMB).toBeGreaterThan(3.9);

    // Functions run for the first time add bytecode, counted apart from objects and machine code.
    await evaluate(
      'globalThis.fns = Array.from({ length: 2000 }, (_, i) => new Function("a", `return a * ${i} + ${i} - (a >> 1)`)); globalThis.fns.reduce((sum, f) => sum + f(3), 0)',
    );
    const withFunctions = await session.heapAfterGc();
    expect(withFunctions.bytecodeMB - withBuffer.bytecodeMB).toBeGreaterThan(0.05);
    expect(withFunctions.machineCodeMB).toBeGreaterThan(0);
  });

  it('diffs two heap snapshots by constructor: what accumulated between them comes first', async () => {
    const { child, url } = await inspectedProcess();
    stop = () => child.kill();
    session = await openInspector(url);
    const evaluate = (expression: string) => session?.call('Runtime.evaluate', { expression });
    await evaluate(
      'class Ticket { constructor(i) { this.i = i; this.note = `t${i}`; } }; globalThis.tickets = []; 0',
    );
    const before = heapCensus(await session.heapSnapshot());
    await evaluate('for (let i = 0; i < 5000; i++) tickets.push(new Ticket(i)); 0');
    const growth = censusGrowth(before, heapCensus(await session.heapSnapshot()));
    const tickets = growth.find((g) => g.kind === 'object:Ticket');
    expect(tickets?.count).toBe(5000);
    expect(growth.filter((g) => g.kind.startsWith('object:'))[0]?.kind).toBe('object:Ticket');
  });
});

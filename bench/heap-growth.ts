/**
 * Which kind of object accumulates in a running Node process: two heap snapshots through its
 * inspector, `--minutes` apart, counted by constructor and diffed (bench/support/heap-census.ts).
 * For a soak's gateway, started with `--inspect=127.0.0.1:0`: find its port with `ss -ltnp`.
 *
 *   node bench/heap-growth.ts --port 40123 [--minutes 5] [--top 30] [--save PREFIX]
 *
 * --save writes both snapshots (PREFIX-1.heapsnapshot, PREFIX-2.heapsnapshot) for DevTools'
 * comparison view, whose "objects allocated between" and retainers say who holds what grew.
 */
import { writeFileSync } from 'node:fs';
import { benchArgs, refuseArgs } from './support/bench-args.ts';
import { censusGrowth, heapCensus } from './support/heap-census.ts';
import { openInspector } from './support/inspector.ts';

const args = benchArgs(import.meta.url, {
  port: { type: 'string' },
  minutes: { type: 'string', default: '5' },
  top: { type: 'string', default: '30' },
  save: { type: 'string' },
});
if (!args.port) refuseArgs(import.meta.url, '--port: the inspector port of the process to watch');
const [target] = (await (await fetch(`http://127.0.0.1:${args.port}/json/list`)).json()) as {
  webSocketDebuggerUrl: string;
}[];
if (!target) throw new Error(`no inspector target on port ${args.port}`);
const session = await openInspector(target.webSocketDebuggerUrl);
try {
  const snapshot = async (n: number) => {
    const text = await session.heapSnapshot();
    if (args.save) writeFileSync(`${args.save}-${n}.heapsnapshot`, text);
    return heapCensus(text);
  };
  const first = await snapshot(1);
  console.log(`snapshot 1 taken; the next in ${args.minutes} min`);
  await new Promise((resolve) => setTimeout(resolve, Number(args.minutes) * 60_000));
  const growth = censusGrowth(first, await snapshot(2));
  const kB = (bytes: number) => (bytes / 1024).toFixed(1);
  console.log(`grown in ${args.minutes} min, in all ${kB(growth.reduce((s, g) => s + g.bytes, 0))} kB:`);
  for (const g of growth.slice(0, Number(args.top))) {
    console.log(`${kB(g.bytes).padStart(9)} kB ${String(g.count).padStart(7)}  ${g.kind}`);
  }
} finally {
  session.close();
}

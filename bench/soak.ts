/**
 * Soak benchmark: does the gateway's memory stay flat while it works? A real `mfp-gateway run`
 * process as shipped (the bundle, the unit's environment) keeps its push lines to a cloud in
 * this process on loopback, with keep-alives every few seconds, and for `--minutes` (60 by
 * default) gets, over and over: pushes, tunnels the cloud opens to a byte sink, moves data
 * through and closes, and print jobs to a sim MFP. Its private (anonymous) memory is sampled
 * every few seconds and reported every minute (the median of the minute, with the lowest and
 * highest, and split by kind of mapping: V8's heap pages, its JIT code, malloc's heaps, the
 * rest). At each minute's end the bench forces a full GC through the gateway's inspector
 * (`--inspect=127.0.0.1:0`, the only thing added to the shipped launch) and reads what is left:
 * the live heap by space (objects, JIT code, and of the code the bytecode and the machine code
 * apart) and Buffers outside it, and the private memory right after. After the warm-up,
 * least-squares lines through the minutes, each with its standard error, say whether anything
 * grows: what the gateway holds after a GC (objects + external) is where a leak shows, without
 * the GC's timing in the way; private memory after the GC is what the board pays, still with
 * the JIT's warm-up and malloc's swings in it.
 * Writes bench/results/soak.json (soak-rate-N.json with --rate) and exits non-zero when the
 * gateway died, or when the held memory's slope plus two standard errors, or the private
 * memory's slope after GC, is above the bound.
 *
 *   node bench/soak.ts [--minutes 60] [--warmup-minutes 30] [--rate 1] [--max-slope-mb-per-hour 0.5] [--out FILE]
 *
 * --rate N runs pushes, tunnels and jobs N times as often: what grows per operation grows N
 * times as fast, what grows with time (the JIT's warm-up, malloc's swings) does not; the
 * report counts the operations and says how many days of the normal rate they are.
 * The warm-up is half the run: V8 keeps optimizing colder and colder functions for about
 * half an hour at this pace (its code range grows ~4 MB/h at minutes 5-10, ~0.5 MB/h at
 * 30), glibc's heap swings by 1-3 MB for minutes at a time, and settled jobs are kept ten
 * minutes for their outcome (docs/memory.md).
 *
 * --only push|tunnels|jobs runs one kind of activity (to find which one grows); keep-alives run always.
 * BENCH_GATEWAY_ENV='NAME=value ...' adds to (or overrides) the unit's environment for the
 * gateway, e.g. to try a malloc or V8 setting, and BENCH_GATEWAY_NODE_ARGS adds to node's
 * command line (as in every bench that starts the shipped gateway); the JSON records both.
 * The bound: a board has ~130 MB between the idle gateway and the unit's MemoryHigh, so a
 * gateway that is to run a week must grow by less than 0.77 MB an hour; 0.5 leaves room.
 * Real time throughout: what leaks is what real sockets, timers and the GC leave behind,
 * which a simulated clock would not show. bench/heap-growth.ts says which kind of object
 * grows, when something does.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { startCloudServer } from '../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../src/config/cloud-config.ts';
import { silentLogger } from '../src/log/logger.ts';
import { scratchDir, secret, startGatewayProcess } from '../test/support/chain.ts';
import { listeningPort } from '../test/support/cli-process.ts';
import { startSimMfp } from '../test/support/jobs.ts';
import { benchArgs, refuseArgs } from './support/bench-args.ts';
import { receipt, startByteSink } from './support/byte-sink.ts';
import { type InspectorSession, inspectorUrl, openInspector } from './support/inspector.ts';
import { type PrivateParts, privateParts } from './support/memory-map.ts';
import { memory } from './support/proc-stats.ts';
import { shippedGateway } from './support/shipped-gateway.ts';
import {
  analyseSoak,
  type MinuteRow,
  type SoakAnalysis,
  STRETCH_MINUTES,
  type TrendPerHour,
} from './support/soak-analysis.ts';

const MIB = 1024 * 1024;
const MINUTE_MS = 60_000;
const SAMPLE_EVERY_MS = 5000;
const PUSH_EVERY_MS = 3000;
const TUNNELS_EVERY_MS = 5000;
const TUNNELS_AT_ONCE = 4;
const TUNNEL_BYTES = 256 * 1024;
const JOB_EVERY_MS = 10_000;
const JOB_BYTES = 128 * 1024;
const JOB_TIMEOUT_MS = 60_000;
/** V8 unmaps the pages a full GC freed as its sweepers finish, a few ms later. */
const SETTLE_AFTER_GC_MS = 500;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Pushes, tunnels and jobs in a day at the normal rate (--rate 1). */
const OPERATIONS_PER_DAY =
  DAY_MS / PUSH_EVERY_MS + (TUNNELS_AT_ONCE * DAY_MS) / TUNNELS_EVERY_MS + DAY_MS / JOB_EVERY_MS;

const here = fileURLToPath(import.meta.url);
const args = benchArgs(import.meta.url, {
  minutes: { type: 'string', default: '60' },
  'warmup-minutes': { type: 'string' },
  'max-slope-mb-per-hour': { type: 'string', default: '0.5' },
  only: { type: 'string' },
  rate: { type: 'string', default: '1' },
  reanalyse: { type: 'string' },
  out: { type: 'string' },
});
const minutes = Number(args.minutes);
// Half the run, and never more than the JIT's half hour.
const warmupMinutes = Number(args['warmup-minutes'] ?? Math.min(30, Math.floor(minutes / 2)));
const maxSlopeMBPerHour = Number(args['max-slope-mb-per-hour']);
const rate = Number(args.rate);
if (!Number.isInteger(rate) || rate < 1)
  refuseArgs(import.meta.url, '--rate must be a whole number, 1 or more');
const ACTIVITIES = ['push', 'tunnels', 'jobs'] as const;
if (args.only !== undefined && !(ACTIVITIES as readonly string[]).includes(args.only)) {
  refuseArgs(import.meta.url, `--only must be one of ${ACTIVITIES.join(', ')}`);
}
const runs = (activity: (typeof ACTIVITIES)[number]) => args.only === undefined || args.only === activity;
if (!(minutes >= 3) || !(warmupMinutes >= 0) || minutes - warmupMinutes < 2) {
  refuseArgs(
    import.meta.url,
    '--minutes must be at least 3 and leave at least 2 minutes after --warmup-minutes',
  );
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const PART_NAMES = ['v8PagesMB', 'codeMB', 'mallocMB', 'otherMB'] as const;
/** The median of each part over a minute's samples. */
const partsMedian = (samples: PrivateParts[]): PrivateParts =>
  Object.fromEntries(
    PART_NAMES.map((part) => [part, round(median(samples.map((s) => s[part])), 2)]),
  ) as unknown as PrivateParts;

/** A process's environment as it runs (what the soak checks MALLOC_ARENA_MAX by). */
function gatewayEnvironment(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

/** What the activity loops did, counted. */
const counts = {
  pushes: 0,
  pushesFailed: 0,
  tunnels: 0,
  tunnelsFailed: 0,
  jobs: 0,
  jobsFailed: 0,
};
const errors: string[] = [];
const operationsDone = () => counts.pushes + counts.tunnels + counts.jobs;
const noteError = (what: string, error: unknown) => {
  if (errors.length < 20) errors.push(`${new Date().toISOString()} ${what}: ${(error as Error).message}`);
};

/** A JSON call to the cloud's API (fetch for small bodies; posts a document as a stream). */
function api(
  port: number,
  token: string,
  path: string,
  init: { method?: string; json?: unknown; body?: Buffer } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = init.body ?? (init.json === undefined ? undefined : Buffer.from(JSON.stringify(init.json)));
    const req = request(
      `http://127.0.0.1:${port}${path}`,
      {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body
            ? {
                'content-type': init.body ? 'application/octet-stream' : 'application/json',
                'content-length': String(body.length),
              }
            : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs `step` `rate` times every `everyMs` until `running()` is false: `rate` loops, each
 * stepping every `everyMs`, started `everyMs / rate` apart (so at most `rate` steps are in
 * flight, and a slow step delays only its own loop). A failed step is counted by the step itself.
 */
async function every(everyMs: number, running: () => boolean, step: () => Promise<void>): Promise<void> {
  const loop = async (offsetMs: number) => {
    await sleep(offsetMs);
    while (running()) {
      const started = Date.now();
      await step();
      await sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  };
  await Promise.all(Array.from({ length: rate }, (_, k) => loop((k * everyMs) / rate)));
}

async function main(): Promise<number> {
  const loadBefore = loadavg()[0] ?? 0;
  const shipped = shippedGateway();
  const { dir, cleanup } = scratchDir('bench-soak');
  process.once('exit', cleanup);
  const sink = await startByteSink();
  const mfp = await startSimMfp(join(dir, 'spool'));
  const apiToken = secret();
  const gatewayToken = secret();
  const cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: apiToken },
      gateways: [{ id: 'gw1', token: gatewayToken }],
      store: { path: join(dir, 'cloud.db') },
      // Keep-alives every few seconds, all the run long: no probing toward longer gaps.
      keepalive: { default: '3s', min: '1s', max: '5s', evidenceFloor: '100ms', probe: false },
      push: { ackTimeout: '2s', deadline: '10s' },
    }),
    { logger: silentLogger() },
  );
  const gateway = startGatewayProcess(
    dir,
    { url: `ws://127.0.0.1:${cloud.port}/push`, token: gatewayToken },
    {
      log: { level: 'info' },
      // Port 0, read back from the log: a freePort() one could be taken before the gateway binds it.
      status: { listen: { host: '127.0.0.1', port: 0 }, metrics: 'open' },
      // The shipped keep-alive timings (not the test helper's short answer timeout).
      keepalive: {},
      devices: [{ id: 'mfp', driver: 'pjl', host: '127.0.0.1', port: mfp.port }],
      // The sink stands on loopback: a lab setting (the box itself is otherwise never a target).
      tunnels: { allow: [{ cidr: '127.0.0.1/32', ports: [sink.port] }], allowLocal: true },
    },
    { ...shipped.env, MFPGW_LOG_LEVEL: 'info' },
    // The inspector on a port of the kernel's choosing: how the bench forces a full GC before
    // reading the live heap (the gateway's own code and environment are as shipped).
    { ...shipped.launch, nodeArgs: [...(shipped.launch.nodeArgs ?? []), '--inspect=127.0.0.1:0'] },
  );
  let inspector: InspectorSession | undefined;
  const stopAll = async () => {
    inspector?.close();
    await gateway.stop();
    await cloud.stop();
    await sink.stop();
    await mfp.proc.stop();
    process.off('exit', cleanup);
    cleanup();
  };
  try {
    const statusPort = await listeningPort(gateway, 'status page listening');
    await gateway.waitFor((l) => l.msg === 'line open' && l.line === 'line-1', 20_000, 'both push lines up');
    const pid = gateway.child.pid as number;
    const url = inspectorUrl(gateway.stderr());
    if (!url) throw new Error(`the gateway did not announce its inspector; stderr:\n${gateway.stderr()}`);
    inspector = await openInspector(url);
    const session = inspector;
    const mallocArenaMax = gatewayEnvironment(pid).MALLOC_ARENA_MAX ?? null;
    const alive = () => gateway.child.exitCode === null && gateway.child.signalCode === null;
    const endAt = Date.now() + minutes * MINUTE_MS;
    const running = () => alive() && Date.now() < endAt;

    const pushes = every(
      PUSH_EVERY_MS,
      () => runs('push') && running(),
      async () => {
        try {
          const res = await api(cloud.port, apiToken, '/api/v1/gateways/gw1/push', {
            method: 'POST',
            json: { type: 'print-ready', payload: { at: Date.now() } },
          });
          if (res.body.delivered === true) counts.pushes++;
          else throw new Error(`not delivered: ${JSON.stringify(res.body)}`);
        } catch (error) {
          counts.pushesFailed++;
          noteError('push', error);
        }
      },
    );
    const source = randomBytes(TUNNEL_BYTES);
    let tunnelSeq = 0;
    const tunnels = every(
      TUNNELS_EVERY_MS,
      () => runs('tunnels') && running(),
      async () => {
        const line = cloud.push.directory.lines('gw1', 'push').find((l) => l.tunnels);
        await Promise.all(
          Array.from({ length: TUNNELS_AT_ONCE }, async () => {
            try {
              if (!line?.tunnels) throw new Error('no push line carries tunnels');
              const stream = await line.tunnels.openStream({
                jobId: `soak-${tunnelSeq++}`,
                host: '127.0.0.1',
                port: sink.port,
              });
              const [, counted] = await Promise.all([
                pipeline(Readable.from([source]), stream),
                receipt(stream),
              ]);
              if (counted !== TUNNEL_BYTES) throw new Error(`the sink counted ${counted} of ${TUNNEL_BYTES}`);
              counts.tunnels++;
            } catch (error) {
              counts.tunnelsFailed++;
              noteError('tunnel', error);
            }
          }),
        );
      },
    );
    const jobs = every(
      JOB_EVERY_MS,
      () => runs('jobs') && running(),
      async () => {
        try {
          const posted = await api(cloud.port, apiToken, '/api/v1/jobs?gateway=gw1&device=mfp', {
            method: 'POST',
            body: randomBytes(JOB_BYTES),
          });
          const id = posted.body.id as string | undefined;
          if (posted.status !== 202 || !id) throw new Error(`job refused: ${JSON.stringify(posted.body)}`);
          for (const giveUp = Date.now() + JOB_TIMEOUT_MS; ; await sleep(250)) {
            const { body } = await api(cloud.port, apiToken, `/api/v1/jobs/${id}`);
            if (body.state === 'done') break;
            if (body.state === 'failed') throw new Error(`job failed: ${String(body.error)}`);
            if (Date.now() > giveUp) throw new Error(`job ${id} not done in ${JOB_TIMEOUT_MS} ms`);
          }
          counts.jobs++;
        } catch (error) {
          counts.jobsFailed++;
          noteError('job', error);
        }
      },
    );

    // Every minute: the private memory's median, lowest and highest of the minute's samples,
    // the RSS's median, the median of each part of the private memory (by kind of mapping), and
    // the V8 heap from the gateway's own /metrics (the status page is used). Then a full GC
    // forced through the inspector and, once V8 has let go of the pages it freed, the live heap
    // by space and the private memory again: what a full GC leaves is what the gateway holds,
    // which a leak grows and garbage not yet collected does not.
    const startedAt = endAt - minutes * MINUTE_MS;
    const perMinute: MinuteRow[] = [];
    console.log(
      `soak: ${minutes} min (warm-up ${warmupMinutes}) at ${rate}× the activity, gateway pid ${pid}`,
    );
    for (let minute = 1; minute <= minutes && alive(); minute++) {
      const anon: number[] = [];
      const rss: number[] = [];
      const parts: PrivateParts[] = [];
      const minuteEnd = startedAt + minute * MINUTE_MS;
      while (Date.now() < minuteEnd && alive()) {
        const now = memory(pid);
        if (!Number.isNaN(now.rssMB)) {
          anon.push(now.anonMB);
          rss.push(now.rssMB);
          parts.push(privateParts(pid));
        }
        await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, minuteEnd - Date.now())));
      }
      if (!alive() || anon.length === 0) break;
      const heap = { heapUsedMB: null, heapTotalMB: null, externalMB: null } as Record<string, number | null>;
      try {
        const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
        const metric = (name: string) =>
          round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) / MIB);
        heap.heapUsedMB = metric('nodejs_heap_size_used_bytes');
        heap.heapTotalMB = metric('nodejs_heap_size_total_bytes');
        heap.externalMB = metric('nodejs_external_memory_bytes');
      } catch (error) {
        noteError('metrics', error);
      }
      let afterGc: MinuteRow['afterGc'] = null;
      try {
        const live = await session.heapAfterGc();
        await sleep(SETTLE_AFTER_GC_MS);
        afterGc = { ...live, anonMB: round(memory(pid).anonMB, 2), parts: privateParts(pid) };
      } catch (error) {
        noteError('gc', error);
      }
      const { heapUsedMB = null, heapTotalMB = null, externalMB = null } = heap;
      const row: MinuteRow = {
        minute,
        operations: operationsDone(),
        anonMB: round(median(anon)),
        anonMinMB: round(Math.min(...anon)),
        anonMaxMB: round(Math.max(...anon)),
        rssMB: round(median(rss)),
        parts: partsMedian(parts),
        heapUsedMB,
        heapTotalMB,
        externalMB,
        afterGc,
      };
      perMinute.push(row);
      console.log(
        `minute ${minute}: private ${row.anonMB} MB (${row.anonMinMB}-${row.anonMaxMB}), RSS ${row.rssMB} MB, ` +
          `(V8 pages ${row.parts.v8PagesMB}, code ${row.parts.codeMB}, malloc ${row.parts.mallocMB}, other ${row.parts.otherMB}), ` +
          `heap ${heapUsedMB}/${heapTotalMB} MB, external ${externalMB} MB; ` +
          (afterGc
            ? `after GC: objects ${afterGc.objectsMB}, code ${afterGc.codeMB} (bytecode ${afterGc.bytecodeMB}, machine code ${afterGc.machineCodeMB}), external ${afterGc.externalMB}, private ${afterGc.anonMB} MB (malloc ${afterGc.parts.mallocMB}); `
            : '') +
          `pushes ${counts.pushes}, tunnels ${counts.tunnels}, jobs ${counts.jobs}, ` +
          `failed ${counts.pushesFailed}/${counts.tunnelsFailed}/${counts.jobsFailed}`,
      );
    }
    const died = !alive();
    await Promise.all([pushes, tunnels, jobs]);

    const complete = perMinute.length === minutes;
    const analysis = analyseSoak(perMinute, {
      warmupMinutes,
      maxSlopeMBPerHour,
      operationsPerDayAtRate1: OPERATIONS_PER_DAY,
    });
    const pass = !died && complete && analysis.verdict.withinBound;
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryMB: Math.round(totalmem() / MIB),
        kernel: release(),
        node: process.version,
        loadAverage1min: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
      },
      config: {
        minutes,
        warmupMinutes,
        rate,
        only: args.only ?? null,
        maxSlopeMBPerHour,
        gatewayLaunch: {
          entry: 'dist/mfp-gateway.js',
          env: shipped.env,
          nodeArgs: [...(shipped.launch.nodeArgs ?? []), '--inspect=127.0.0.1:0'],
          mallocArenaMaxSeen: mallocArenaMax,
        },
        gateway:
          '2 push lines, keep-alive advice 3-5 s, status page on (its /metrics read every minute), log level info, ' +
          'a full GC forced through the inspector once a minute (then afterGc is read)',
        activity: {
          pushEveryMs: PUSH_EVERY_MS / rate,
          tunnels: `${TUNNELS_AT_ONCE} at once every ${TUNNELS_EVERY_MS / rate} ms, ${TUNNEL_BYTES} bytes each, to a byte sink`,
          jobs: `one print job of ${JOB_BYTES} bytes every ${JOB_EVERY_MS / rate} ms to a sim MFP (PJL)`,
        },
        sampleEveryMs: SAMPLE_EVERY_MS,
      },
      ...analysis,
      gatewayDied: died,
      counts,
      errors,
      perMinute,
      pass,
    };
    const out =
      args.out ?? join(dirname(here), 'results', rate === 1 ? 'soak.json' : `soak-rate-${rate}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(summaryLine(report));
    if (died) console.error(`the gateway's stderr:\n${gateway.stderr().slice(-2000)}`);
    console.log(`wrote ${out}`);
    return pass ? 0 : 1;
  } finally {
    await stopAll();
  }
}

/** The verdict of a run in one line. */
function summaryLine(
  report: SoakAnalysis & { pass: boolean; gatewayDied: boolean; config: { warmupMinutes: number } },
) {
  const { afterGcTrends: gc, verdict, operations } = report;
  const show = (t: TrendPerHour) => `${t.slopeMBPerHour} ± ${t.stdErrMBPerHour} MB/h (R² ${t.r2})`;
  return (
    `${report.pass ? 'PASS' : 'FAIL'}  after minute ${report.config.warmupMinutes}, ${operations.afterWarmup} operations ` +
    `at ${operations.rateAfterWarmup}× the normal rate (${operations.equivalentDaysAtRate1} days of it in all): ` +
    `held after GC ${show(gc.heldMB)}, private after GC ${show(gc.anonMB)}; a week of operations adds at most ` +
    `${verdict.heldWeekOfOperationsUpperMB} MB held, ${verdict.privateAfterGcWeekOfOperationsUpperMB} MB private; ` +
    `private median ${report.slopeMBPerHour} MB/h, lows ${show(report.anonLowsTrend)}; ` +
    `${report.anonFirstMB} → ${report.anonLastMB} MB${report.gatewayDied ? '; the gateway died' : ''}` +
    (report.stretches.length > 1
      ? `; private after GC by ${STRETCH_MINUTES} minutes: ${report.stretches.map((s) => s.privateAfterGcMB).join(', ')} MB`
      : '')
  );
}

/** Reads a run's JSON again with this file's rules (and --warmup-minutes, if given), and rewrites it. */
function reanalyse(file: string): number {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const warmup = Number(args['warmup-minutes'] ?? report.config.warmupMinutes);
  const analysis = analyseSoak(report.perMinute, {
    warmupMinutes: warmup,
    maxSlopeMBPerHour: report.config.maxSlopeMBPerHour,
    operationsPerDayAtRate1: OPERATIONS_PER_DAY,
  });
  const complete = report.perMinute.length === report.config.minutes;
  const updated = {
    ...report,
    config: { ...report.config, warmupMinutes: warmup },
    ...analysis,
    pass: !report.gatewayDied && complete && analysis.verdict.withinBound,
  };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  console.log(summaryLine(updated));
  return updated.pass ? 0 : 1;
}

// Ctrl-C or a kill still runs the exit hooks that reap the gateway, sink and sim MFP.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
process.exitCode = args.reanalyse ? reanalyse(args.reanalyse) : await main();

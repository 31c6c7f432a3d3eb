/**
 * Cloud benchmark (issue 14): N simulated gateways, 2 push lines each, speaking the real push
 * protocol from load worker processes (bench/cloud/sim-gateway.ts), against the real cloud as
 * it ships (`mfp-gateway cloud` from dist/, one process per node) whose status log was filled
 * beforehand with a simulated week of every gateway's history (bench/cloud/history.ts) — and,
 * side by side in the same run, a bare `ws` server holding the same lines and answering the
 * same keep-alives (bench/cloud/ref-server.ts). While both hold the fleet it drives pushes
 * through the cloud's HTTP API and measures: connect time, CPU and RSS of both servers, the
 * keep-alive answer and push latencies seen by the gateways and the API client, failed
 * pushes, and the cloud's event-loop lag (bench/cloud/lag-probe.ts, loaded into it).
 * Prints a table with PASS/FAIL against the targets and writes bench/results/cloud.json.
 *
 *   node bench/cloud.ts [--gateways 10000] [--nodes auto] [--store sqlite|postgres] [--history-days 7] [--duration 120]
 *                       [--pushes-per-second 10] [--keepalive-ms 50000] [--site-size 3]
 *                       [--workers auto] [--cpu-prof] [--node-arg ARG]… [--from-source] [--keep] [--quick] [--out FILE]
 *
 * Each node holds whole sites (every nodes-th site), as bench/cloud/fleet-plan.ts nodeOf
 * says, with its own SQLite store, or with --store postgres one throwaway PostgreSQL that all
 * share (its CPU counts as the cloud's); the reference runs as many bare servers, split the
 * same way. --cpu-prof profiles the cloud nodes (and the bare servers, into the directory
 * named like the nodes' with -ref added) and prints the nodes' hot spots (with --from-source their locations are in src/, not in dist/'s
 * bundle; the profiles stay in the temporary directory printed). --keep leaves each node's
 * store, config, log and lag samples in the run's directory. --node-arg passes a Node option to
 * the cloud nodes only (an experiment: --node-arg=--max-semi-space-size=32); it is in the results. Other load on the machine
 * skews CPU figures: the report gives the load average and the CPU used by processes other
 * than the bench's.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { learningConfigFrom } from '../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../src/config/cloud-config.ts';
import { DEFAULT_ANSWER_TIMEOUT_MS } from '../src/config/keepalive-defaults.ts';
import { scratchDir, secret } from '../test/support/chain.ts';
import { freePort } from '../test/support/free-port.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { reapOnExit } from '../test/support/reap-on-exit.ts';
import {
  type CloudNode,
  type CloudNodeSpec,
  LAG_PROBE,
  nodeConfig,
  readLag,
  startCloudNode,
} from './cloud/cloud-nodes.ts';
import { type CpuProfile, hotSpots } from './cloud/cpu-profile.ts';
import type { FillJob, FillMessage } from './cloud/fill-worker.ts';
import { nodeOf, type SimGatewayIdentity, simGateway, splitRange } from './cloud/fleet-plan.ts';
import type { LagSample } from './cloud/lag-probe.ts';
import { LoadWorkers } from './cloud/load-workers.ts';
import { drivePushes } from './cloud/pusher.ts';
import type { FleetStats } from './cloud/sim-gateway.ts';
import { summarize } from './cloud/stats.ts';
import type { Target } from './cloud/worker-protocol.ts';
import { benchArgs } from './support/bench-args.ts';
import {
  cpuSeconds,
  findProcess,
  machineBusySeconds,
  treeCpuSeconds,
  watchRss,
} from './support/proc-stats.ts';
import { shippedCloud } from './support/shipped-gateway.ts';

const TARGETS = {
  gateways: 10_000,
  historyDays: 7,
  cpuRatio: 2,
  keepaliveAnswerP99Ms: 50,
  pushP99Ms: 50,
  pushFailed: 0,
  eventLoopLagMaxMs: 100,
};
const LINES_PER_GATEWAY = 2;
/** File descriptors a process needs besides its sockets (stores, logs, pipes, Node itself). */
const SPARE_FDS = 200;
/** Gateways per load worker when --workers is auto: 4 sockets each (2 lines to each server). */
const GATEWAYS_PER_WORKER = 2500;
/** Threads filling a shared PostgreSQL store at once. */
const POSTGRES_FILL_THREADS = 2;
const FILL_WORKER = new URL('./cloud/fill-worker.ts', import.meta.url);
/** How often the bench says how far filling or connecting has got. */
const PROGRESS_EVERY_MS = 30_000;
/** CPU used by others, percent of one core, above which a run is reported as disturbed. */
const DISTURBED_OTHER_CPU_PERCENT = 15;

const REPO = fileURLToPath(new URL('../', import.meta.url));
const args = benchArgs(import.meta.url, {
  gateways: { type: 'string' },
  nodes: { type: 'string', default: 'auto' },
  store: { type: 'string', default: 'sqlite' },
  'history-days': { type: 'string' },
  duration: { type: 'string' },
  'pushes-per-second': { type: 'string' },
  'keepalive-ms': { type: 'string' },
  'site-size': { type: 'string', default: '3' },
  workers: { type: 'string', default: 'auto' },
  'open-concurrency': { type: 'string', default: '64' },
  'connect-timeout': { type: 'string', default: '600' },
  'cpu-prof': { type: 'boolean', default: false },
  'node-arg': { type: 'string', multiple: true, default: [] },
  'from-source': { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  quick: { type: 'boolean', default: false },
  out: { type: 'string' },
});
/** The file-descriptor limits (soft, hard) processes started from here get. */
function fdLimits(): { soft: number; hard: number } {
  const run = spawnSync('/bin/sh', ['-c', 'ulimit -S -n; ulimit -H -n'], { encoding: 'utf8' });
  const [soft = 0, hard = 0] = run.stdout.trim().split('\n').map(Number);
  return { soft, hard };
}

const limits = fdLimits();
/** --quick: a smoke run — 20 gateways, 7 minutes of history, 2 s keep-alives, 3 s of measuring. */
const quick = args.quick;
const option = (name: keyof typeof args, full: number, smoke: number) => {
  const text = args[name];
  return typeof text === 'string' ? Number(text) : quick ? smoke : full;
};
const config = {
  gateways: option('gateways', TARGETS.gateways, 20),
  /** auto: as few as the file-descriptor limit allows (2 for 20,000 lines under 20,000). */
  nodes:
    args.nodes === 'auto'
      ? Math.max(
          1,
          Math.ceil(
            (option('gateways', TARGETS.gateways, 20) * LINES_PER_GATEWAY) / (limits.hard - SPARE_FDS),
          ),
        )
      : Number(args.nodes),
  /** sqlite: each node its own file; postgres: one throwaway PostgreSQL all nodes share. */
  store: args.store === 'postgres' ? 'postgres' : 'sqlite',
  historyDays: option('history-days', TARGETS.historyDays, 0.005),
  durationSeconds: option('duration', 120, 3),
  pushesPerSecond: option('pushes-per-second', 10, 10),
  keepaliveMs: option('keepalive-ms', 50_000, 2000),
  siteSize: Number(args['site-size']),
  openConcurrency: Number(args['open-concurrency']),
  connectTimeoutSeconds: Number(args['connect-timeout']),
  linesPerGateway: LINES_PER_GATEWAY,
  answerTimeoutMs: DEFAULT_ANSWER_TIMEOUT_MS,
};
const workerCount =
  args.workers === 'auto'
    ? Math.min(8, Math.max(1, Math.ceil(config.gateways / GATEWAYS_PER_WORKER)))
    : Number(args.workers);
const outFile =
  args.out ?? (quick ? join(tmpdir(), 'bench-cloud-quick.json') : join(REPO, 'bench/results/cloud.json'));

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- checks before starting ----

/** Refuses a run whose processes could not hold their sockets. */
function checkLimits(): void {
  const linesPerNode = Math.ceil((config.gateways * LINES_PER_GATEWAY) / config.nodes);
  if (linesPerNode + SPARE_FDS > limits.hard) {
    throw new Error(
      `${linesPerNode} lines per node need more file descriptors than the hard limit (${limits.hard}): ` +
        `use --nodes ${Math.ceil((config.gateways * LINES_PER_GATEWAY) / (limits.hard - SPARE_FDS))} or fewer --gateways`,
    );
  }
  const socketsPerWorker = Math.ceil(config.gateways / workerCount) * LINES_PER_GATEWAY * 2;
  if (socketsPerWorker + SPARE_FDS > limits.soft) {
    throw new Error(
      `${socketsPerWorker} sockets per load worker exceed the soft file-descriptor limit (${limits.soft}): ` +
        'raise it (ulimit -n) or use more --workers',
    );
  }
}

// ---- the servers ----

interface RefServer {
  child: ChildProcess;
  pushUrl: string;
  lag(): LagSample[];
}

/**
 * A bare ws server, with the same lag probe as the cloud's nodes: the probe's timer (100 wake-ups
 * a second) costs ~0.5 % of a core, which the ratio must not charge to the cloud alone.
 */
async function startRefServer(
  runSecret: string,
  dir: string,
  index: number,
  nodeArgs: readonly string[],
): Promise<RefServer> {
  const lagFile = join(dir, `ref-${index}-lag.jsonl`);
  writeFileSync(lagFile, '');
  const child = fork(fileURLToPath(new URL('./cloud/ref-server.ts', import.meta.url)), [], {
    execArgv: [...process.execArgv, ...nodeArgs, '--import', LAG_PROBE],
    env: {
      ...process.env,
      BENCH_RUN_SECRET: runSecret,
      BENCH_KEEPALIVE_MS: String(config.keepaliveMs),
      MFPGW_BENCH_LAG_FILE: lagFile,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  reapOnExit(child);
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return { child, pushUrl: `ws://127.0.0.1:${port}/push`, lag: () => readLag(lagFile) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Size of the nodes' stores: their SQLite files with write-ahead logs, or the PostgreSQL database, MB. */
async function storeMB(specs: readonly CloudNodeSpec[]): Promise<number> {
  const url = specs[0]?.storeUrl;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT pg_database_size(current_database()) AS bytes');
      return round(Number(rows[0]?.bytes) / 2 ** 20);
    } finally {
      await client.end();
    }
  }
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);
  return round(specs.reduce((sum, s) => sum + size(s.storePath) + size(`${s.storePath}-wal`), 0) / 2 ** 20);
}

/**
 * Fills the stores with the gateways' history — each node's own SQLite file, or once the
 * PostgreSQL database all nodes share — then starts the nodes.
 */
async function startNodes(
  dir: string,
  gateways: readonly SimGatewayIdentity[],
  runSecret: string,
  launch: { entry: string; env: Record<string, string>; nodeArgs: string[] },
  storeUrl: string | undefined,
) {
  const specs: CloudNodeSpec[] = [];
  for (let index = 0; index < config.nodes; index++) {
    const nodeDir = join(dir, `node-${index}`);
    mkdirSync(nodeDir, { recursive: true });
    specs.push({
      index,
      dir: nodeDir,
      port: await freePort(),
      apiToken: secret(),
      storePath: join(nodeDir, 'cloud.db'),
      storeUrl,
      gateways: gateways.filter((g) => nodeOf(g.index, config.nodes, config.siteSize) === index),
      keepaliveMs: config.keepaliveMs,
      ...launch,
    });
  }
  // The evidence is folded and the log trimmed as the nodes' own config will have them do it.
  const cloudConfig = parseCloudConfig(nodeConfig(specs[0] as CloudNodeSpec));
  const keeping = {
    learning: learningConfigFrom(cloudConfig),
    keepMs: cloudConfig.statusLog.keep,
    maxPerGateway: cloudConfig.statusLog.maxPerGateway,
  };
  const history = {
    now: Date.now(),
    days: config.historyDays,
    keepaliveMs: config.keepaliveMs,
    lines: LINES_PER_GATEWAY,
    seed: 14,
  };
  // One writer per SQLite file; PostgreSQL takes several at once.
  const jobs: FillJob[] = (
    storeUrl
      ? splitRange(gateways.length, POSTGRES_FILL_THREADS).map(([from, to]) => gateways.slice(from, to))
      : specs.map((spec) => spec.gateways)
  ).map((part, i) => ({
    store: storeUrl
      ? { ...cloudConfig.store, url: storeUrl }
      : { ...cloudConfig.store, path: specs[i]?.storePath ?? '' },
    documentsDir: join(dir, 'jobs'),
    indexes: part.map((g) => g.index),
    runSecret,
    siteSize: config.siteSize,
    history,
    keeping,
  }));
  const fillStarted = performance.now();
  const done = jobs.map(() => ({ gateways: 0, records: 0 }));
  const progress = setInterval(() => {
    const sum = (key: 'gateways' | 'records') => done.reduce((total, d) => total + d[key], 0);
    console.log(
      `  … ${sum('gateways')} of ${gateways.length} gateways folded, ${sum('records')} log records written`,
    );
  }, PROGRESS_EVERY_MS);
  const records = await Promise.all(
    jobs.map(
      (job, i) =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(FILL_WORKER, { workerData: job });
          worker.on('message', (message: FillMessage) => {
            if (message.type === 'progress') done[i] = message;
            else resolve(message.records);
          });
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`a history fill worker exited (${code})`)));
        }),
    ),
  )
    .finally(() => clearInterval(progress))
    .then((counts) => counts.reduce((a, b) => a + b, 0));
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const mb = await storeMB(specs);
  console.log(`history: ${records} records in ${round(fillSeconds)} s, stores ${round(mb)} MB`);
  const nodes = await Promise.all(specs.map(startCloudNode));
  return { nodes, history: { records, fillSeconds: round(fillSeconds), storeMB: round(mb) } };
}

// ---- measuring ----

/** CPU seconds of each group of processes and of the whole machine, now. */
function cpuSnapshot(groups: Record<string, () => number>) {
  const perGroup = Object.fromEntries(Object.entries(groups).map(([group, seconds]) => [group, seconds()]));
  return { at: performance.now(), machine: machineBusySeconds(), perGroup };
}

/** CPU seconds of some processes, together. */
const cpuOf = (pids: readonly number[]) => () =>
  pids.reduce((sum, pid) => sum + (existsSync(`/proc/${pid}`) ? cpuSeconds(pid) : 0), 0);

/** Percent of one core each group used between two snapshots, and what the rest of the machine used. */
function cpuPercents(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>) {
  const seconds = (b.at - a.at) / 1000;
  const groups = Object.fromEntries(
    Object.keys(a.perGroup).map((g) => [g, (100 * ((b.perGroup[g] ?? 0) - (a.perGroup[g] ?? 0))) / seconds]),
  );
  const ours = Object.values(groups).reduce((sum, p) => sum + p, 0);
  // Unrounded: the ratio is taken of these, the report rounds.
  return { groups, other: Math.max(0, (100 * (b.machine - a.machine)) / seconds - ours) };
}

/**
 * The event-loop lag of every node, worst per second, over samples written between two times. A
 * sample covers the second before it was written, so one written after `to` covers what came
 * after the window too — the bench's own GET /api/v1/gateways and the fleet's lines closing —
 * and is left out.
 */
function lagSeries(nodes: readonly { lag(): LagSample[] }[], from: number, to: number): number[] {
  const perNode = nodes.map((n) =>
    n
      .lag()
      .filter((s: LagSample) => s.at > from && s.at <= to)
      .map((s) => s.maxMs),
  );
  const seconds = Math.max(0, ...perNode.map((series) => series.length));
  return Array.from({ length: seconds }, (_, i) => Math.max(...perNode.map((series) => series[i] ?? 0)));
}

/**
 * The second of the window with the longest stall on any node, with what the probe saw in it
 * (GC pauses, CPU used, preemptions), to tell the cloud's own work from a machine short of cores.
 */
/** The GC's pauses in the window, all nodes together, in % of one core's time (as cpuPercent). */
function gcPercent(nodes: readonly { lag(): LagSample[] }[], from: number, to: number): number {
  let ms = 0;
  for (const n of nodes) for (const s of n.lag()) if (s.at > from && s.at <= to) ms += s.gcMs ?? 0;
  return to > from ? round((100 * ms) / (to - from), 2) : 0;
}

type WorstLag = LagSample & { node: number; second: number };

function worstLagSecond(nodes: readonly { lag(): LagSample[] }[], from: number, to: number): WorstLag | null {
  let worst: WorstLag | null = null;
  for (const [node, n] of nodes.entries())
    for (const s of n.lag())
      if (s.at > from && s.at <= to && (worst === null || s.maxMs > worst.maxMs))
        worst = {
          ...s,
          maxMs: round(s.maxMs),
          p99Ms: round(s.p99Ms),
          meanMs: round(s.meanMs),
          node,
          second: Math.round((s.at - from) / 1000),
        };
  return worst;
}

const maxOf = (series: number[]) => (series.length === 0 ? null : round(Math.max(...series)));

/** Keep-alive answer times, an unanswered one counted as the whole answer timeout. */
function keepaliveSummary(stats: FleetStats) {
  return summarize([
    ...stats.keepaliveAnswerMs,
    ...Array.from({ length: stats.unanswered }, () => DEFAULT_ANSWER_TIMEOUT_MS),
  ]);
}

/** Longest wait for GET /api/v1/gateways: a collapsed cloud may take minutes. */
const LIST_TIMEOUT_MS = 60_000;

/** How long GET /api/v1/gateways takes on the first node (the issue saw 4.2 s at 7,000). */
async function listGateways(node: CloudNode): Promise<{ ms: number; status: number | string }> {
  const started = performance.now();
  try {
    const res = await fetch(`${node.url}/api/v1/gateways`, {
      headers: { authorization: `Bearer ${node.apiToken}` },
      signal: AbortSignal.timeout(LIST_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return { ms: round(performance.now() - started), status: res.status };
  } catch (error) {
    return { ms: round(performance.now() - started), status: (error as Error).name };
  }
}

/** The hot spots of the nodes' CPU profiles (written when they stopped). */
function profiles(profileDir: string) {
  if (!existsSync(profileDir)) return [];
  return readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((file) => ({
      file: join(profileDir, file),
      ...hotSpots(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile, 25),
    }));
}

async function run() {
  checkLimits();
  const loadBefore = loadavg()[0] ?? 0;
  const shipped = args['from-source']
    ? { entry: join(REPO, 'src/cli/main.ts'), env: { NODE_ENV: 'production' } }
    : shippedCloud();
  const { dir, cleanup } = scratchDir('bench-cloud');
  if (args.keep) console.log(`keeping the run's stores, configs and logs in ${dir}`);
  else process.once('exit', cleanup);
  // Outside the scratch directory, which goes when the run ends: the profiles are for reading later.
  const profileDir = join(tmpdir(), `bench-cloud-profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const nodeArgs = [
    ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...(args['node-arg'] ?? []),
  ];
  // The bare servers' profiles, apart, to compare the same work side by side.
  const refNodeArgs = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}-ref`] : [];
  const runSecret = secret();
  const gateways = Array.from({ length: config.gateways }, (_, i) =>
    simGateway(i, runSecret, config.siteSize),
  );
  // PostgreSQL shared by the nodes (store.url), as a fleet runs it; its CPU is the cloud's too.
  const postgres = config.store === 'postgres' ? await startPostgres() : undefined;
  const storeUrl = await postgres?.createDatabase();
  const postmaster = postgres && findProcess('-p', String(postgres.port), 'listen_addresses=127.0.0.1');
  const { nodes, history } = await startNodes(dir, gateways, runSecret, { ...shipped, nodeArgs }, storeUrl);
  const refs = await Promise.all(
    Array.from({ length: config.nodes }, (_, i) => startRefServer(runSecret, dir, i, refNodeArgs)),
  );
  const workers = LoadWorkers.start(
    splitRange(config.gateways, workerCount).map(([from, to]) => ({
      from,
      to,
      runSecret,
      siteSize: config.siteSize,
      linesPerGateway: LINES_PER_GATEWAY,
      defaultKeepaliveMs: config.keepaliveMs,
      answerTimeoutMs: DEFAULT_ANSWER_TIMEOUT_MS,
      openConcurrency: config.openConcurrency,
    })),
  );
  const cpuGroups = {
    cloud: cpuOf(nodes.map((n) => n.pid)),
    store: postmaster ? () => treeCpuSeconds(postmaster) : () => 0,
    ref: cpuOf(refs.map((r) => r.child.pid as number)),
    loadGenerator: cpuOf(workers.pids),
    bench: cpuOf([process.pid]),
  };
  const rss = {
    cloud: nodes.map((n) => watchRss(n.pid, 1000)),
    ref: refs.map((r) => watchRss(r.child.pid as number, 1000)),
  };
  try {
    const lines = config.gateways * LINES_PER_GATEWAY;
    const connectTimeoutMs = config.connectTimeoutSeconds * 1000;
    /** Connects a fleet, saying every 30 s how far it got. */
    const connect = async (target: Target, urls: string[]) => {
      const progress = setInterval(async () => {
        const open = (await workers.report()).intervalsMs[target].length;
        console.log(`  … ${open} of ${lines} lines open`);
      }, PROGRESS_EVERY_MS);
      try {
        return await workers.connect(target, urls, connectTimeoutMs);
      } finally {
        clearInterval(progress);
      }
    };
    console.log(`connecting ${lines} lines to the bare ws reference…`);
    let started = performance.now();
    const refAll = await connect(
      'ref',
      refs.map((r) => r.pushUrl),
    );
    const refConnectSeconds = refAll ? round((performance.now() - started) / 1000) : null;
    const refWelcome = summarize((await workers.report()).stats.ref.welcomeMs);

    console.log(`connecting ${lines} lines to the cloud…`);
    const connectFrom = Date.now();
    started = performance.now();
    const cloudAll = await connect(
      'cloud',
      nodes.map((n) => n.pushUrl),
    );
    const connectSeconds = cloudAll ? round((performance.now() - started) / 1000) : null;
    const connectReport = await workers.report();
    const welcome = summarize(connectReport.stats.cloud.welcomeMs);
    console.log(
      cloudAll
        ? `connected in ${connectSeconds} s (reference ${refConnectSeconds} s)`
        : `not every line connected within ${config.connectTimeoutSeconds} s ` +
            `(${connectReport.intervalsMs.cloud.length} of ${lines} open); measuring anyway`,
    );

    // The bare servers advise what the cloud advised (learned from the history, a little under
    // the default), so both answer the same keep-alive traffic while measured. Each line takes
    // it at its next answer: in the window's first interval the bare servers answer slightly
    // fewer keep-alives than the cloud, which counts against the cloud, not for it.
    const cloudAdviceMs = summarize(connectReport.intervalsMs.cloud).p50;
    if (cloudAdviceMs !== null) for (const r of refs) r.child.send({ keepaliveMs: cloudAdviceMs });

    console.log(`measuring for ${config.durationSeconds} s…`);
    workers.reset();
    const windowFrom = Date.now();
    const before = cpuSnapshot(cpuGroups);
    const loads: number[] = [];
    const loadTimer = setInterval(() => loads.push(loadavg()[0] ?? 0), 5000);
    const durationMs = config.durationSeconds * 1000;
    const pushing = drivePushes(config.pushesPerSecond, durationMs, () => {
      const g = gateways[Math.floor(Math.random() * gateways.length)] as SimGatewayIdentity;
      const node = nodes[nodeOf(g.index, config.nodes, config.siteSize)] as CloudNode;
      return { apiUrl: node.url, apiToken: node.apiToken, gatewayId: g.id };
    });
    await sleep(durationMs);
    const after = cpuSnapshot(cpuGroups);
    const windowTo = Date.now();
    clearInterval(loadTimer);
    const fleet = await workers.report();
    const cpu = cpuPercents(before, after);
    // Pushes sent in the window count however late their answer comes.
    const pushes = await pushing;
    const rssMB = rss.cloud.map((stop) => round(stop()));
    const refRssMB = rss.ref.map((stop) => round(stop()));
    const list = await listGateways(nodes[0] as CloudNode);
    await workers.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    return {
      limits,
      loadBefore,
      loads,
      shipped,
      nodeArgs,
      history,
      refConnectSeconds,
      refWelcome,
      connectSeconds,
      connectedLines: connectReport.intervalsMs.cloud.length,
      welcome,
      connectLagMaxMs: maxOf(lagSeries(nodes, connectFrom, windowFrom)),
      windowLag: lagSeries(nodes, windowFrom, windowTo),
      refWindowLag: lagSeries(refs, windowFrom, windowTo),
      worstLag: worstLagSecond(nodes, windowFrom, windowTo),
      gcPercent: gcPercent(nodes, windowFrom, windowTo),
      refGcPercent: gcPercent(refs, windowFrom, windowTo),
      refWorstLag: worstLagSecond(refs, windowFrom, windowTo),
      fleet,
      cpu,
      rssMB,
      refRssMB,
      pushes,
      list,
      profiles: profiles(profileDir),
    };
  } finally {
    await workers.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(refs.map((r) => stopChild(r.child)));
    await postgres?.dispose();
  }
}

// ---- the report ----

function toReport(m: Awaited<ReturnType<typeof run>>) {
  const sum = (list: number[]) => round(list.reduce((a, b) => a + b, 0));
  const cloudKeepalive = keepaliveSummary(m.fleet.stats.cloud);
  const refKeepalive = keepaliveSummary(m.fleet.stats.ref);
  const push = summarize(m.pushes.latenciesMs);
  // The cloud's cost is its nodes' and, when it has one, its database server's.
  const cloudCpu = (m.cpu.groups.cloud ?? 0) + (m.cpu.groups.store ?? 0);
  const refCpu = m.cpu.groups.ref ?? 0;
  const storeCpuPercent = round(m.cpu.groups.store ?? 0);
  const cpuPercent = round(cloudCpu);
  const refCpuPercent = round(refCpu);
  // Of the measured shares, not of the rounded ones (11.4 / 5.7 may be 1.98 or 2.02).
  const cpuRatio = refCpu > 0 ? round(cloudCpu / refCpu, 3) : null;
  const lines = config.gateways * LINES_PER_GATEWAY;
  const eventLoopLagMaxMs = maxOf(m.windowLag);
  const disturbed = m.cpu.other > DISTURBED_OTHER_CPU_PERCENT;
  const loadDuring = m.loads.length ? m.loads : [loadavg()[0] ?? 0];
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMB: Math.round(totalmem() / 2 ** 20),
      kernel: release(),
      node: process.version,
      fileDescriptorLimit: m.limits,
      // Other work on the machine skews CPU figures and latencies: these say how much there was.
      loadAverage1min: {
        before: round(m.loadBefore, 2),
        duringMax: round(Math.max(...loadDuring), 2),
        after: round(loadavg()[0] ?? 0, 2),
      },
      otherCpuPercent: round(m.cpu.other),
      disturbed,
    },
    config: {
      ...config,
      workers: workerCount,
      split:
        config.nodes === 1
          ? 'one node'
          : `${config.nodes} nodes, each holding the lines of one site in ${config.nodes} and pushed to through its own API, ` +
            `${config.store === 'postgres' ? 'sharing one PostgreSQL' : 'each with its own SQLite store'}; as many bare ws servers split alike`,
      storeServer:
        config.store === 'postgres'
          ? 'throwaway PostgreSQL cluster (test/support/postgres.ts: fsync and synchronous_commit off); its CPU is in cpuPercent (storeCpuPercent)'
          : 'SQLite files, in the nodes',
      cloud: {
        entry: relative(REPO, m.shipped.entry),
        env: m.shipped.env,
        nodeArgs: m.nodeArgs,
        logLevel: 'info',
      },
      history:
        'every gateway kept its lines up and alive every keepaliveMs of idle, pushes every 20 min on average, all OK; all gateways interleaved in time',
      simulatedGateways:
        'keep-alive after the advised idle time (first one at a random phase), 10 s answer timeout, reconnect with backoff, lost lines reported in hello, pushes and probes acked, restore honoured; no probe line',
      cpuPercent: 'percent of one core over the measurement window (2 cores: 200 % is the machine)',
      reference:
        "bare ws servers answering hello and keep-alives only; from the window on they advise the cloud's advised interval (its p50), so both answer the same keep-alive traffic; the pushes are the cloud's alone",
    },
    gateways: config.gateways,
    lines,
    nodes: config.nodes,
    historyDays: config.historyDays,
    historyRecords: m.history.records,
    historyFillSeconds: m.history.fillSeconds,
    storeMB: m.history.storeMB,
    connectSeconds: m.connectSeconds,
    connectedLines: m.connectedLines,
    refConnectSeconds: m.refConnectSeconds,
    welcomeP99Ms: m.welcome.p99,
    refWelcomeP99Ms: m.refWelcome.p99,
    connectEventLoopLagMaxMs: m.connectLagMaxMs,
    cpuPercent,
    storeCpuPercent,
    refCpuPercent,
    cpuRatio,
    loadGeneratorCpuPercent: round(m.cpu.groups.loadGenerator ?? 0),
    // The load workers' own lag delays what they measure: it must stay well below the figures.
    loadGeneratorLagMaxMs: round(m.fleet.lagMaxMs),
    benchCpuPercent: round(m.cpu.groups.bench ?? 0),
    rssMB: sum(m.rssMB),
    refRssMB: sum(m.refRssMB),
    rssMBPerNode: m.rssMB,
    keepalives: cloudKeepalive.count,
    keepaliveAnswerP50Ms: cloudKeepalive.p50,
    keepaliveAnswerP99Ms: cloudKeepalive.p99,
    keepaliveAnswerMaxMs: cloudKeepalive.max,
    keepaliveUnanswered: m.fleet.stats.cloud.unanswered,
    refKeepalives: refKeepalive.count,
    refKeepaliveAnswerP99Ms: refKeepalive.p99,
    refKeepaliveAnswerMaxMs: refKeepalive.max,
    linesLost: m.fleet.stats.cloud.linesLost,
    openFailures: m.fleet.stats.cloud.openFailures,
    linesOpenAtEnd: m.fleet.intervalsMs.cloud.length,
    // What the cloud advised the open lines at the end (learned from the history, or its default).
    advisedKeepaliveMs: summarize(m.fleet.intervalsMs.cloud),
    // What the bare servers advised at the end: the cloud's, given them before the window.
    refAdvisedKeepaliveMs: summarize(m.fleet.intervalsMs.ref),
    restores: m.fleet.stats.cloud.restores,
    pushes: m.pushes.sent,
    pushesAckedByGateways: m.fleet.stats.cloud.pushesAcked,
    pushP50Ms: push.p50,
    pushP99Ms: push.p99,
    pushMaxMs: push.max,
    pushFailed: m.pushes.failed,
    pushFailures: m.pushes.failures,
    eventLoopLagMaxMs,
    refEventLoopLagMaxMs: maxOf(m.refWindowLag),
    // Second by second over the window (the worst node's), to place a stall.
    eventLoopLagPerSecondMs: m.windowLag.map((ms) => round(ms, 0)),
    // The worst second, with its GC pauses, CPU used and preemptions (bench/cloud/lag-probe.ts).
    eventLoopLagWorst: m.worstLag,
    // Time the main threads spent in GC pauses (bench/cloud/lag-probe.ts), % of one core.
    gcPausePercent: m.gcPercent,
    refGcPausePercent: m.refGcPercent,
    refEventLoopLagWorst: m.refWorstLag,
    listGatewaysMs: m.list.ms,
    listGatewaysStatus: m.list.status,
    hotSpots: m.profiles,
    targets: TARGETS,
    met: {
      gateways: config.gateways >= TARGETS.gateways && m.connectSeconds !== null,
      historyDays: config.historyDays >= TARGETS.historyDays,
      cpuRatio: cpuRatio !== null && cpuRatio <= TARGETS.cpuRatio,
      keepaliveAnswerP99Ms: cloudKeepalive.p99 !== null && cloudKeepalive.p99 <= TARGETS.keepaliveAnswerP99Ms,
      pushP99Ms: push.p99 !== null && push.p99 <= TARGETS.pushP99Ms,
      pushFailed: m.pushes.failed <= TARGETS.pushFailed && m.pushes.sent > 0,
      eventLoopLagMaxMs: eventLoopLagMaxMs !== null && eventLoopLagMaxMs <= TARGETS.eventLoopLagMaxMs,
    },
  };
}

function print(r: ReturnType<typeof toReport>): void {
  console.table({
    'connect (s)': {
      cloud: r.connectSeconds ?? `not all: ${r.connectedLines}`,
      'bare ws': r.refConnectSeconds,
    },
    'welcome p99 (ms)': { cloud: r.welcomeP99Ms, 'bare ws': r.refWelcomeP99Ms },
    'CPU (% of a core)': { cloud: r.cpuPercent, 'bare ws': r.refCpuPercent },
    'RSS (MB)': { cloud: r.rssMB, 'bare ws': r.refRssMB },
    'keep-alives answered': { cloud: r.keepalives, 'bare ws': r.refKeepalives },
    'keep-alive answer p99 (ms)': { cloud: r.keepaliveAnswerP99Ms, 'bare ws': r.refKeepaliveAnswerP99Ms },
    'keep-alive answer max (ms)': { cloud: r.keepaliveAnswerMaxMs, 'bare ws': r.refKeepaliveAnswerMaxMs },
    'pushes sent / failed': { cloud: `${r.pushes} / ${r.pushFailed}` },
    'push p50 / p99 (ms)': { cloud: `${r.pushP50Ms} / ${r.pushP99Ms}` },
    'event-loop lag max (ms)': { cloud: r.eventLoopLagMaxMs, 'bare ws': r.refEventLoopLagMaxMs },
    'GC pauses (% of a core)': { cloud: r.gcPausePercent, 'bare ws': r.refGcPausePercent },
    'GET /api/v1/gateways (ms)': { cloud: r.listGatewaysMs },
  });
  console.log(
    `${r.gateways} gateways (${r.lines} lines) on ${r.nodes} node(s), ${r.historyDays} days of history ` +
      `(${r.historyRecords} records, ${r.storeMB} MB, filled in ${r.historyFillSeconds} s); ` +
      `advice p50 ${r.advisedKeepaliveMs.p50} ms; load generator ${r.loadGeneratorCpuPercent} % CPU, lag max ${r.loadGeneratorLagMaxMs} ms; lines lost ${r.linesLost}, ` +
      `unanswered keep-alives ${r.keepaliveUnanswered}; lag while connecting ${r.connectEventLoopLagMaxMs} ms`,
  );
  const w = r.eventLoopLagWorst;
  if (w)
    console.log(
      `worst stall: ${w.maxMs} ms on node ${w.node} at second ${w.second} of the window; in that second ` +
        `GC ${w.gcMs ?? '?'} ms (longest pause ${w.gcMaxMs ?? '?'} ms, ${w.gcMaxKind ?? 'none'}), CPU ${w.cpuMs ?? '?'} ms, ` +
        `${w.involuntarySwitches ?? '?'} preemptions`,
    );
  const { machine: mc } = r;
  console.log(
    `machine: load average ${mc.loadAverage1min.before} before, ≤ ${mc.loadAverage1min.duringMax} during; ` +
      `others used ${mc.otherCpuPercent} % CPU${mc.disturbed ? ' — DISTURBED: CPU figures are not clean' : ''}`,
  );
  for (const profile of r.hotSpots) {
    console.log(`\nhot spots of ${profile.file} (self time):`);
    console.table(
      profile.bySelf.map(({ function: fn, location, selfMs, selfPercent }) => ({
        function: fn,
        location,
        'self ms': selfMs,
        'self %': selfPercent,
      })),
    );
  }
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const checks: [boolean, string][] = [
    [r.met.gateways, `${r.gateways} gateways all connected (≥ ${TARGETS.gateways})`],
    [r.met.historyDays, `${r.historyDays} days of history (≥ ${TARGETS.historyDays})`],
    [r.met.cpuRatio, `cloud CPU ${r.cpuRatio}× the bare ws server's (≤ ${TARGETS.cpuRatio})`],
    [
      r.met.keepaliveAnswerP99Ms,
      `keep-alive answer p99 ${r.keepaliveAnswerP99Ms} ms (≤ ${TARGETS.keepaliveAnswerP99Ms})`,
    ],
    [r.met.pushP99Ms, `push p99 ${r.pushP99Ms} ms (≤ ${TARGETS.pushP99Ms})`],
    [r.met.pushFailed, `${r.pushFailed} failed pushes of ${r.pushes} (≤ ${TARGETS.pushFailed})`],
    [
      r.met.eventLoopLagMaxMs,
      `event-loop lag max ${r.eventLoopLagMaxMs} ms (≤ ${TARGETS.eventLoopLagMaxMs})`,
    ],
  ];
  for (const [ok, what] of checks) console.log(`${verdict(ok)}  ${what}`);
}

async function main(): Promise<void> {
  const report = toReport(await run());
  print(report);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${outFile}`);
}

// Ctrl-C or a kill still runs the exit hooks that reap the cloud, reference and workers.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
await main();

/**
 * Tunnel benchmark, end to end: the cloud (in this process) opens tunnels over the push
 * lines of a real `mfp-gateway run` process to a TCP sink on loopback standing in for the
 * device, and moves bytes cloud → device, the print direction. In the same run and with
 * the same bytes: direct loopback TCP to the sink, and `ssh -R` through a private OpenSSH
 * server (its default cipher, and aes128-gcm). Also the gateway's RSS with the lines up
 * and with 100 tunnels open and moving data, and the fairness spread across those 100.
 * Memory is reported as RSS and as its private (anonymous) part, for idle, opened (the 100
 * tunnels open, before data) and moving (the highest while the 100 move data).
 * TLS is off on the cloud line (ws:// on loopback); ssh always encrypts.
 * Prints PASS/FAIL against the targets and writes bench/results/tunnel.json.
 *
 *   node bench/tunnel.ts [--one-stream-mb 1024] [--per-stream-mb 20] [--streams 100] [--runs 3]
 *
 * BENCH_GATEWAY_NODE_ARGS adds options to the gateway's node command line, e.g.
 * '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile it; BENCH_GATEWAY_ENV='NAME=value ...'
 * adds to (or overrides) the unit's environment, e.g. a malloc setting; the JSON records both.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { type Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { TunnelMux } from '../src/tunnel/tunnel-mux.ts';
import { benchArgs } from './support/bench-args.ts';
import { receipt, startByteSink } from './support/byte-sink.ts';
import { cpuSeconds, memory, watchMemory } from './support/proc-stats.ts';
import { shippedGateway } from './support/shipped-gateway.ts';
import {
  type SshRemoteForward,
  sshUnavailable,
  startSshRemoteForward,
} from './support/ssh-remote-forward.ts';
import { startTunnelChain } from './support/tunnel-chain.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const WRITE_CHUNK = 64 * 1024;
const FAST_SSH_CIPHER = 'aes128-gcm@openssh.com';
/** Time for the gateway's start-up garbage to be collected before its idle RSS is read. */
const SETTLE_MS = 3000;
/**
 * Memory targets are the gateway's private (anonymous) memory, what a 512 MB board really
 * spends on it: the node binary's file pages in RSS are shared and reclaimable (issue 19).
 */
const TARGETS = {
  oneStreamMbps: 940,
  fairnessSpread: 0.2,
  anonIdleMB: 30,
  anon100TunnelsMB: 60,
  rss100TunnelsMB: 120,
};

const here = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const args = benchArgs(import.meta.url, {
  'one-stream-mb': { type: 'string', default: '1024' },
  'per-stream-mb': { type: 'string', default: '20' },
  streams: { type: 'string', default: '100' },
  runs: { type: 'string', default: '3' },
});
const oneStreamBytes = Number(args['one-stream-mb']) * MIB;
const perStreamBytes = Number(args['per-stream-mb']) * MIB;
const streamCount = Number(args.streams);
const runs = Number(args.runs);
/**
 * The gateway frees a tunnel's slot a round trip after the cloud has the sink's receipt,
 * so a round's OPENs may arrive before all of the last round's slots are free.
 */
const maxConcurrent = Math.min(1000, 2 * streamCount);

/** What every stream sends: a patterned buffer, sliced over and over. */
const SOURCE = Buffer.alloc(4 * MIB);
for (let i = 0; i < SOURCE.length; i += 4) SOURCE.writeUInt32LE((i * 2_654_435_761) >>> 0, i);

const mbps = (bytes: number, ms: number) => (bytes * 8) / 1e6 / (ms / 1000);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- moving bytes ----

/** Opens connection or stream number i toward the sink. */
type Opener = (i: number) => Promise<Duplex>;

interface Transfer {
  totalMbps: number;
  perStreamMbps: number[];
  fairnessSpread: number;
}

/** Runs of one case, and the one of median total rate. */
interface Repeated {
  median: Transfer;
  all: Transfer[];
}

function* slices(bytes: number): Generator<Buffer> {
  for (let sent = 0; sent < bytes; ) {
    const at = sent % SOURCE.length;
    const n = Math.min(WRITE_CHUNK, bytes - sent, SOURCE.length - at);
    yield SOURCE.subarray(at, at + n);
    sent += n;
  }
}

/**
 * Opens `streams` streams, then moves `bytesEach` through all of them at once. A stream's
 * rate runs from the common start to the sink's receipt of its last byte.
 */
async function transfer(
  open: Opener,
  streams: number,
  bytesEach: number,
  onOpened?: () => void,
): Promise<Transfer> {
  const opening = await Promise.allSettled(Array.from({ length: streams }, (_, i) => open(i)));
  const opened = opening.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const refused = opening.find((o) => o.status === 'rejected');
  if (refused) {
    for (const stream of opened) stream.destroy();
    throw refused.reason;
  }
  onOpened?.();
  const start = performance.now();
  const elapsedMs = await Promise.all(
    opened.map(async (stream, i) => {
      const [, counted] = await Promise.all([
        pipeline(Readable.from(slices(bytesEach)), stream),
        receipt(stream),
      ]);
      if (counted !== bytesEach)
        throw new Error(`stream ${i}: the sink counted ${counted} of ${bytesEach} bytes`);
      return performance.now() - start;
    }),
  );
  const perStreamMbps = elapsedMs.map((ms) => mbps(bytesEach, ms));
  return {
    totalMbps: mbps(bytesEach * streams, Math.max(...elapsedMs)),
    perStreamMbps,
    fairnessSpread: Math.max(...perStreamMbps) / Math.min(...perStreamMbps) - 1,
  };
}

type Run = () => Promise<Transfer>;

/**
 * Runs each case once per round, `runs` rounds, so that other load on the machine falls
 * on every case alike. A case left undefined (a baseline that could not start) is skipped.
 */
async function rounds<T extends Partial<Record<string, Run>>>(
  cases: T,
): Promise<{ [K in keyof T]: T[K] extends Run ? Repeated : Repeated | undefined }> {
  const runners = Object.entries(cases).filter((entry): entry is [string, Run] => entry[1] !== undefined);
  const all = new Map(runners.map(([name]) => [name, [] as Transfer[]]));
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of runners) all.get(name)?.push(await run());
  }
  const median = (transfers: Transfer[]) =>
    [...transfers].sort((a, b) => a.totalMbps - b.totalMbps)[Math.floor(transfers.length / 2)] as Transfer;
  const results = [...all].map(([name, transfers]) => [name, { median: median(transfers), all: transfers }]);
  return Object.fromEntries(results) as {
    [K in keyof T]: T[K] extends Run ? Repeated : Repeated | undefined;
  };
}

const tcpTo =
  (port: number): Opener =>
  async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  };

const tunnelTo =
  (tunnels: TunnelMux, port: number): Opener =>
  (i) =>
    tunnels.openStream({ jobId: `bench-${i}`, host: '127.0.0.1', port });

/** An `ssh -R` forward to the sink, or why there is none. */
async function sshForward(sinkPort: number, cipher?: string) {
  const missing = sshUnavailable();
  if (missing) return { cipher: cipher ?? null, error: missing, forward: null };
  try {
    const forward = await startSshRemoteForward(sinkPort, cipher);
    return { cipher: forward.cipher, error: null, forward };
  } catch (error) {
    return { cipher: cipher ?? null, error: (error as Error).message, forward: null };
  }
}

// ---- the gateway's cost ----

/** The RSS of Node 24 alone (in this environment) after a second of doing nothing, MB. */
function nodeAloneRssMB(env: Record<string, string>): number {
  const program =
    "setTimeout(() => console.log(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]), 1000)";
  const run = spawnSync(process.execPath, ['-e', program], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return round(Number(run.stdout.trim()) / 1024, 1);
}

/** Where the gateway's memory is, from its own /metrics: the V8 heap and Buffers outside it, MB. */
async function heapOf(statusPort: number) {
  const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  const metric = (name: string) => round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) / MIB, 1);
  return {
    heapTotalMB: metric('nodejs_heap_size_total_bytes'),
    heapUsedMB: metric('nodejs_heap_size_used_bytes'),
    externalMB: metric('nodejs_external_memory_bytes'),
  };
}

/** The gateway's memory now: RSS from the kernel, the rest from the gateway itself. */
async function gatewayMemory(pid: number, statusPort: number) {
  const { rssMB, peakMB, anonMB, fileMB } = memory(pid);
  return {
    rssMB: round(rssMB, 1),
    peakMB: round(peakMB, 1),
    anonMB: round(anonMB, 1),
    fileMB: round(fileMB, 1),
    ...(await heapOf(statusPort)),
  };
}

// ---- the run ----

/** The sink, the cloud in this process and a gateway process with its push lines up. */
async function startChain(shipped: ReturnType<typeof shippedGateway>) {
  const sink = await startByteSink();
  try {
    const chain = await startTunnelChain(shipped, { ports: [sink.port], maxConcurrent });
    const stop = async () => {
      await chain.stop();
      await sink.stop();
    };
    return { ...chain, sink, stop };
  } catch (error) {
    await sink.stop();
    throw error;
  }
}

type Chain = Awaited<ReturnType<typeof startChain>>;

/** Every case of the benchmark, in an order that keeps the many-stream RSS clear of 1 GiB streams. */
async function measure({ sink, pid, statusPort, tunnels }: Chain) {
  await sleep(SETTLE_MS);
  const idle = await gatewayMemory(pid, statusPort);
  const viaTunnel = tunnelTo(tunnels, sink.port);
  const direct = tcpTo(sink.port);
  // One short unmeasured pass so the first case does not pay for JIT warm-up on either side.
  await transfer(viaTunnel, 4, 4 * MIB);

  console.log(`${streamCount} streams, ${perStreamBytes / MIB} MiB each, ${runs} rounds`);
  const opened: { rssMB: number; anonMB: number }[] = [];
  const stopWatching = watchMemory(pid);
  const many = await rounds({
    tunnel: () =>
      transfer(viaTunnel, streamCount, perStreamBytes, () => {
        const now = memory(pid);
        opened.push({ rssMB: round(now.rssMB, 1), anonMB: round(now.anonMB, 1) });
      }),
    direct: () => transfer(direct, streamCount, perStreamBytes),
  });
  const highest = stopWatching();
  const moving = { rssMB: round(highest.rssMB, 1), anonMB: round(highest.anonMB, 1) };

  console.log(`1 stream, ${oneStreamBytes / MIB} MiB, ${runs} rounds`);
  const ssh = await sshForward(sink.port);
  const sshFast = await sshForward(sink.port, FAST_SSH_CIPHER);
  const viaSsh = (forward: SshRemoteForward) => () => transfer(tcpTo(forward.port), 1, oneStreamBytes);
  let gatewayCpuSeconds = 0;
  try {
    const one = await rounds({
      tunnel: async () => {
        const before = cpuSeconds(pid);
        const result = await transfer(viaTunnel, 1, oneStreamBytes);
        gatewayCpuSeconds += cpuSeconds(pid) - before;
        return result;
      },
      direct: () => transfer(direct, 1, oneStreamBytes),
      ssh: ssh.forward ? viaSsh(ssh.forward) : undefined,
      sshFast: sshFast.forward ? viaSsh(sshFast.forward) : undefined,
    });
    await sleep(SETTLE_MS);
    return {
      idle,
      after: await gatewayMemory(pid, statusPort),
      opened,
      moving,
      cpuPerGiB: gatewayCpuSeconds / ((oneStreamBytes * runs) / GIB),
      one,
      many,
      ssh,
      sshFast,
    };
  } finally {
    await ssh.forward?.stop();
    await sshFast.forward?.stop();
  }
}

/** bench/results/tunnel.json: the headline figures first, then every run. */
function toReport(
  m: Awaited<ReturnType<typeof measure>>,
  loadBefore: number,
  shipped: ReturnType<typeof shippedGateway>,
  nodeAloneMB: number,
) {
  const rate = (r: Repeated | undefined) => (r ? round(r.median.totalMbps) : null);
  const rates = (r: Repeated | undefined) => r?.all.map((t) => round(t.totalMbps)) ?? [];
  const oneStreamMbps = round(m.one.tunnel.median.totalMbps);
  const sshMbps = rate(m.one.ssh);
  const fairnessSpread = round(m.many.tunnel.median.fairnessSpread, 4);
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMB: Math.round(totalmem() / MIB),
      kernel: release(),
      node: process.version,
      // Other work on the machine skews the rates: the load before and after the run tells.
      loadAverage1min: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
    },
    config: {
      oneStreamBytes,
      perStreamBytes,
      streams: streamCount,
      runs,
      writeChunk: WRITE_CHUNK,
      direction: 'cloud → device (print): the sink counts, then answers its count',
      gateway: 'mfp-gateway run as shipped: default config (2 push lines, status page on, log level info)',
      gatewayLaunch: {
        entry: relative(REPO, shipped.launch.entry ?? ''),
        nodeArgs: shipped.launch.nodeArgs ?? [],
        env: shipped.env,
      },
      gatewayMaxConcurrentTunnels: maxConcurrent,
      cloud: 'startCloudServer in the bench process; the sink is a separate process',
      tls: 'off on the tunnel (ws:// on loopback) and direct paths; ssh always encrypts',
      sshCipher: m.ssh.cipher,
      sshFastCipher: m.sshFast.cipher,
    },
    oneStreamMbps,
    sshMbps,
    sshError: m.ssh.error,
    sshAesGcmMbps: rate(m.one.sshFast),
    sshAesGcmError: m.sshFast.error,
    directMbps: round(m.one.direct.median.totalMbps),
    gatewayCpuSecondsPerGiB: round(m.cpuPerGiB, 2),
    hundredStreamsMbps: round(m.many.tunnel.median.totalMbps),
    directHundredMbps: round(m.many.direct.median.totalMbps),
    fairnessSpread,
    directFairnessSpread: round(m.many.direct.median.fairnessSpread, 4),
    perStreamMbps: {
      min: round(Math.min(...m.many.tunnel.median.perStreamMbps)),
      max: round(Math.max(...m.many.tunnel.median.perStreamMbps)),
    },
    // Private (anonymous) memory and RSS: idle with the lines up, the tunnels opened (first
    // round) and the highest while they moved data (all rounds).
    memory: {
      idle: { anonMB: m.idle.anonMB, rssMB: m.idle.rssMB },
      opened: m.opened[0] ?? null,
      moving: m.moving,
    },
    anonIdleMB: m.idle.anonMB,
    anon100TunnelsMB: m.moving.anonMB,
    rssIdleMB: m.idle.rssMB,
    // Node 24 itself with the same options, doing nothing: the part of every figure that is not ours.
    rssNodeAloneMB: nodeAloneMB,
    rss100TunnelsMB: m.moving.rssMB,
    rss100TunnelsOpenedMB: m.opened[0]?.rssMB ?? null,
    rssAfterMB: m.after.rssMB,
    rssPeakMB: m.after.peakMB,
    gatewayMemory: { idle: m.idle, after: m.after },
    runs: {
      oneStreamMbps: rates(m.one.tunnel),
      directMbps: rates(m.one.direct),
      sshMbps: rates(m.one.ssh),
      sshAesGcmMbps: rates(m.one.sshFast),
      hundredStreamsMbps: rates(m.many.tunnel),
      fairnessSpread: m.many.tunnel.all.map((t) => round(t.fairnessSpread, 4)),
      opened: m.opened,
    },
    targets: { ...TARGETS, oneStreamMbpsAtLeast: 'sshMbps' },
    met: {
      oneStreamMbps: oneStreamMbps >= TARGETS.oneStreamMbps,
      oneStreamAtLeastSsh: sshMbps === null ? null : oneStreamMbps >= sshMbps,
      fairnessSpread: fairnessSpread <= TARGETS.fairnessSpread,
      anonIdleMB: m.idle.anonMB <= TARGETS.anonIdleMB,
      anon100TunnelsMB: m.moving.anonMB <= TARGETS.anon100TunnelsMB,
      rss100TunnelsMB: m.moving.rssMB <= TARGETS.rss100TunnelsMB,
    },
  };
}

function print(report: ReturnType<typeof toReport>): void {
  const { config: c } = report;
  console.table({
    'tunnel, 1 stream': { 'Mbit/s': report.oneStreamMbps },
    [`ssh -R (${c.sshCipher})`]: { 'Mbit/s': report.sshMbps ?? report.sshError },
    [`ssh -R (${c.sshFastCipher})`]: { 'Mbit/s': report.sshAesGcmMbps ?? report.sshAesGcmError },
    'direct TCP, 1 connection': { 'Mbit/s': report.directMbps },
    [`tunnel, ${streamCount} streams`]: { 'Mbit/s': report.hundredStreamsMbps },
    [`direct TCP, ${streamCount} connections`]: { 'Mbit/s': report.directHundredMbps },
  });
  console.log(`gateway CPU, 1 stream: ${report.gatewayCpuSecondsPerGiB} s per GiB`);
  const { idle, opened, moving } = report.memory;
  console.log(
    `gateway private MB: idle ${idle.anonMB}, ${streamCount} tunnels opened ${opened?.anonMB ?? '-'}, ` +
      `moving data ${moving.anonMB}, after ${report.gatewayMemory.after.anonMB}`,
  );
  console.log(
    `gateway RSS MB: idle ${idle.rssMB}, ${streamCount} tunnels opened ${opened?.rssMB ?? '-'}, ` +
      `moving data ${moving.rssMB}, after ${report.rssAfterMB}, peak ${report.rssPeakMB}; ` +
      `Node alone ${report.rssNodeAloneMB}`,
  );
  const verdict = (ok: boolean | null) => (ok === null ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  const { met } = report;
  const checks: [boolean | null, string][] = [
    [met.oneStreamMbps, `one stream ${report.oneStreamMbps} Mbit/s ≥ ${TARGETS.oneStreamMbps}`],
    [met.oneStreamAtLeastSsh, `one stream ${report.oneStreamMbps} Mbit/s ≥ ssh -R ${report.sshMbps ?? '–'}`],
    [met.fairnessSpread, `spread ${report.fairnessSpread} ≤ ${TARGETS.fairnessSpread}`],
    [met.anonIdleMB, `gateway private idle ${report.anonIdleMB} MB ≤ ${TARGETS.anonIdleMB}`],
    [
      met.anon100TunnelsMB,
      `gateway private with ${streamCount} tunnels ${report.anon100TunnelsMB} MB ≤ ${TARGETS.anon100TunnelsMB}`,
    ],
    [
      met.rss100TunnelsMB,
      `gateway RSS with ${streamCount} tunnels ${report.rss100TunnelsMB} MB ≤ ${TARGETS.rss100TunnelsMB}`,
    ],
  ];
  for (const [ok, what] of checks) console.log(`${verdict(ok)}  ${what}`);
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const shipped = shippedGateway();
  const nodeAloneMB = nodeAloneRssMB(shipped.env);
  const chain = await startChain(shipped);
  try {
    const report = toReport(await measure(chain), loadBefore, shipped, nodeAloneMB);
    print(report);
    const out = join(dirname(here), 'results', 'tunnel.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${out}`);
  } catch (error) {
    const { child, stderr, lines } = chain.gateway;
    const exit = child.exitCode ?? child.signalCode;
    if (exit !== null) console.error(`the gateway exited (${exit}); its stderr:\n${stderr().slice(-2000)}`);
    // Its last warnings say why a line closed under the bench (pino: warn is 40).
    const warnings = lines.filter((l) => (l.level ?? 0) >= 40).slice(-20);
    console.error(`the gateway's last warnings:\n${warnings.map((l) => JSON.stringify(l)).join('\n')}`);
    throw error;
  } finally {
    await chain.stop();
  }
}

// Ctrl-C or a kill still runs the exit hooks that reap the gateway, sink and ssh processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
await main();

/**
 * Tunnel multiplexer benchmark: throughput of 1 stream and of 100 concurrent streams
 * through a TunnelMux over a real WebSocket pair on loopback, beside direct loopback TCP
 * moving the same bytes in the same run, and the fairness spread across the 100.
 * The sending end (cloud, WebSocket server) runs here; the receiving end (gateway,
 * WebSocket client) runs in a child process, as on real machines.
 * Prints a table and writes bench/results/tunnel-mux.json.
 *
 *   node bench/tunnel-mux.ts [--one-stream-mb 256] [--per-stream-mb 4] [--streams 100] [--runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { systemClock } from '../src/clock/system-clock.ts';
import { TUNNEL_MUX_DEFAULTS, TunnelMux } from '../src/tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../src/tunnel/ws-transport.ts';
import { benchArgs } from './support/bench-args.ts';

const MIB = 1024 * 1024;
/** The line must take whole batches. */
const WS_MAX_PAYLOAD = TUNNEL_MUX_DEFAULTS.maxMessageBytes;
const WRITE_CHUNK = 64 * 1024;
const TARGETS = { oneStreamMbps: 940, fairnessSpread: 0.2 };

const here = fileURLToPath(import.meta.url);
const args = benchArgs(import.meta.url, {
  peer: { type: 'string' },
  'one-stream-mb': { type: 'string', default: '256' },
  'per-stream-mb': { type: 'string', default: '4' },
  streams: { type: 'string', default: '100' },
  runs: { type: 'string', default: '3' },
});

/** Receiving end: accepts every stream, counts its bytes, answers the count and ends. */
async function runPeer(wsPort: number): Promise<void> {
  const sink = createServer((socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('end', () => socket.end(`${bytes}\n`));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/`, {
    perMessageDeflate: false,
    maxPayload: WS_MAX_PAYLOAD,
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const mux = new TunnelMux({ transport: wsTunnelTransport(ws), clock: systemClock, side: 'client' });
  mux.onStream((request) => {
    const stream = request.accept();
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on('end', () => stream.end(`${bytes}\n`));
    stream.on('error', () => {});
  });
  ws.once('close', () => {
    sink.close();
    process.exit(0);
  });
  const port = (sink.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ tcpPort: port, idleRssMB: process.memoryUsage().rss / MIB })}\n`);
  setInterval(
    () => process.stdout.write(`${JSON.stringify({ rssMB: process.memoryUsage().rss / MIB })}\n`),
    250,
  );
}

/** Writes `bytes` bytes from a shared random buffer, honouring backpressure, then ends. */
async function pump(stream: Writable, source: Buffer, bytes: number): Promise<void> {
  let left = bytes;
  let at = 0;
  while (left > 0) {
    const n = Math.min(WRITE_CHUNK, left, source.length - at);
    const ok = stream.write(source.subarray(at, at + n));
    left -= n;
    at = (at + n) % source.length;
    if (!ok) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
}

/** Resolves with the receiver's byte count, sent back when it has seen the end. */
function answer(stream: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    stream.once('end', () => resolve(Number(text.trim())));
    stream.once('error', reject);
  });
}

interface RunResult {
  totalMbps: number;
  perStreamMbps: number[];
  fairnessSpread: number;
}

const mbps = (bytes: number, ms: number) => (bytes * 8) / 1e6 / (ms / 1000);

/** Opens stream or connection number i and says how its receiver's answer will arrive. */
type Opener = (i: number) => Promise<{ stream: Writable; answered: Promise<number> }>;

async function measure(streams: number, bytesEach: number, open: Opener): Promise<RunResult> {
  const source = Buffer.alloc(4 * MIB);
  for (let i = 0; i < source.length; i += 4) source.writeUInt32LE((i * 2_654_435_761) >>> 0, i);
  const start = performance.now();
  const durations = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const { stream, answered } = await open(i);
      await pump(stream, source, bytesEach);
      const counted = await answered;
      if (counted !== bytesEach)
        throw new Error(`stream ${i}: receiver counted ${counted} of ${bytesEach} bytes`);
      return performance.now() - start;
    }),
  );
  const perStreamMbps = durations.map((ms) => mbps(bytesEach, ms));
  return {
    totalMbps: mbps(bytesEach * streams, Math.max(...durations)),
    perStreamMbps,
    fairnessSpread: Math.max(...perStreamMbps) / Math.min(...perStreamMbps) - 1,
  };
}

function median(results: RunResult[]): RunResult {
  const sorted = [...results].sort((a, b) => a.totalMbps - b.totalMbps);
  return sorted[Math.floor(sorted.length / 2)] as RunResult;
}

async function runMain(): Promise<void> {
  const oneStreamBytes = Number(args['one-stream-mb']) * MIB;
  const perStreamBytes = Number(args['per-stream-mb']) * MIB;
  const streamCount = Number(args.streams);
  const runs = Number(args.runs);

  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: WS_MAX_PAYLOAD,
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const wsPort = (wss.address() as { port: number }).port;
  const connected = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const child = spawn(process.execPath, [here, '--peer', String(wsPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let peerRssMB = 0;
  let peerRssPeakMB = 0;
  let peerIdleRssMB = 0;
  const tcpPort = await new Promise<number>((resolve) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, nl)) as {
          tcpPort?: number;
          idleRssMB?: number;
          rssMB?: number;
        };
        buffered = buffered.slice(nl + 1);
        if (message.tcpPort) {
          peerIdleRssMB = message.idleRssMB ?? 0;
          resolve(message.tcpPort);
        }
        if (message.rssMB) {
          peerRssMB = message.rssMB;
          peerRssPeakMB = Math.max(peerRssPeakMB, message.rssMB);
        }
      }
    });
  });
  const ws = await connected;
  const mux = new TunnelMux({ transport: wsTunnelTransport(ws), clock: systemClock, side: 'server' });

  const viaTunnel: Opener = async (i) => {
    const stream = await mux.openStream({ jobId: `bench-${i}`, deviceId: 'sink' });
    return { stream, answered: answer(stream) };
  };
  const viaTcp: Opener = async () => {
    const socket = tcpConnect(tcpPort, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return { stream: socket, answered: answer(socket) };
  };

  const runCase = async (name: string, streams: number, bytes: number, open: Opener) => {
    const all: RunResult[] = [];
    peerRssPeakMB = peerRssMB;
    for (let run = 0; run < runs; run++) all.push(await measure(streams, bytes, open));
    return { name, bytes, result: median(all), receiverRssPeakMB: peerRssPeakMB };
  };
  // One unmeasured pass so the first case does not pay for JIT warm-up.
  await measure(4, 8 * MIB, viaTunnel);
  const tunnelOne = await runCase('tunnel, 1 stream', 1, oneStreamBytes, viaTunnel);
  const tcpOne = await runCase('tcp, 1 connection', 1, oneStreamBytes, viaTcp);
  const tunnelMany = await runCase(`tunnel, ${streamCount} streams`, streamCount, perStreamBytes, viaTunnel);
  const tcpMany = await runCase(`tcp, ${streamCount} connections`, streamCount, perStreamBytes, viaTcp);

  const rows = [tunnelOne, tcpOne, tunnelMany, tcpMany].map(({ name, bytes, result, receiverRssPeakMB }) => ({
    case: name,
    'MiB each': bytes / MIB,
    'total Mbit/s': Math.round(result.totalMbps),
    'per-stream min': Math.round(Math.min(...result.perStreamMbps)),
    'per-stream max': Math.round(Math.max(...result.perStreamMbps)),
    'spread (max/min-1)': Number(result.fairnessSpread.toFixed(3)),
    'receiver RSS peak MB': Math.round(receiverRssPeakMB),
  }));
  console.table(rows);
  console.log(`receiver process RSS at idle (mux open, no stream): ${Math.round(peerIdleRssMB)} MB`);

  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    config: { oneStreamBytes, perStreamBytes, streams: streamCount, runs, writeChunk: WRITE_CHUNK },
    oneStreamMbps: Math.round(tunnelOne.result.totalMbps),
    directMbps: Math.round(tcpOne.result.totalMbps),
    hundredStreamsMbps: Math.round(tunnelMany.result.totalMbps),
    directHundredMbps: Math.round(tcpMany.result.totalMbps),
    fairnessSpread: Number(tunnelMany.result.fairnessSpread.toFixed(4)),
    directFairnessSpread: Number(tcpMany.result.fairnessSpread.toFixed(4)),
    receiverRssIdleMB: Math.round(peerIdleRssMB),
    targets: TARGETS,
    met: {
      oneStreamMbps: tunnelOne.result.totalMbps >= TARGETS.oneStreamMbps,
      fairnessSpread: tunnelMany.result.fairnessSpread <= TARGETS.fairnessSpread,
    },
    rows,
  };
  const out = join(dirname(here), 'results', 'tunnel-mux.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);

  mux.close('benchmark done');
  ws.close();
  wss.close();
  await new Promise((resolve) => child.once('exit', resolve));
}

if (args.peer) await runPeer(Number(args.peer));
else await runMain();

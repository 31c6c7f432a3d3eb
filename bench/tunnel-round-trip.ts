/**
 * Tunnel round-trip benchmark: how long a request/response exchange takes through a tunnel —
 * what an IPP query, an SNMP-over-TCP poll or an SMB command feels like from the cloud — beside
 * direct loopback TCP, and how long opening a tunnel takes. The cloud (in this process) opens
 * tunnels over the push lines of a real `mfp-gateway run` process as shipped to a device on
 * loopback that answers 200 bytes for every 500 it receives. Each request is written in two
 * pieces, a turn of the event loop apart (a header, then a body: what HTTP clients do), then the
 * reply is awaited: the pattern a relay socket with Nagle's algorithm on holds back until the
 * device's delayed ACK (~40 ms on Linux).
 * Prints a table, writes bench/results/tunnel-round-trip.json, and fails when the tunnel's p99
 * exchange is above the target.
 *
 *   node bench/tunnel-round-trip.ts [--exchanges 500] [--opens 100]
 */
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { percentile } from './cloud/stats.ts';
import { benchArgs, refuseArgs } from './support/bench-args.ts';
import { shippedGateway } from './support/shipped-gateway.ts';
import { startTunnelChain } from './support/tunnel-chain.ts';

const HEADER_BYTES = 100;
const BODY_BYTES = 400;
const REQUEST_BYTES = HEADER_BYTES + BODY_BYTES;
const REPLY_BYTES = 200;
/** Loopback, one hop through the gateway: a Nagle stall is ~40 ms, a healthy exchange < 2 ms. */
const TARGET_P99_MS = 10;

const here = fileURLToPath(import.meta.url);
const args = benchArgs(import.meta.url, {
  exchanges: { type: 'string', default: '500' },
  opens: { type: 'string', default: '100' },
});
const exchanges = Number(args.exchanges);
const opens = Number(args.opens);
if (!(Number.isInteger(exchanges) && exchanges >= 10))
  refuseArgs(import.meta.url, '--exchanges must be a whole number ≥ 10');
if (!(Number.isInteger(opens) && opens >= 1))
  refuseArgs(import.meta.url, '--opens must be a whole number ≥ 1');

const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** The device: answers REPLY_BYTES for every REQUEST_BYTES it has received. */
async function startDevice(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    let pending = 0;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.length;
      while (pending >= REQUEST_BYTES) {
        pending -= REQUEST_BYTES;
        socket.write(Buffer.alloc(REPLY_BYTES, 0x52));
      }
    });
    socket.on('end', () => socket.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

/** Resolves once `bytes` more bytes came from the stream. */
function reply(stream: Duplex, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got < bytes) return;
      stream.off('data', onData);
      stream.off('error', reject);
      resolve();
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

/** Times `exchanges` exchanges on one connection, ms each. */
async function timeExchanges(stream: Duplex): Promise<number[]> {
  const header = Buffer.alloc(HEADER_BYTES, 0x48);
  const body = Buffer.alloc(BODY_BYTES, 0x42);
  const times: number[] = [];
  for (let i = 0; i < exchanges; i++) {
    const start = performance.now();
    const answered = reply(stream, REPLY_BYTES);
    stream.write(header);
    await turn();
    stream.write(body);
    await answered;
    times.push(performance.now() - start);
  }
  return times;
}

/** Nearest-rank percentiles of the times, ms to 0.01 (bench/cloud/stats.ts's percentile). */
function percentiles(times: number[]) {
  const sorted = Float64Array.from(times).sort();
  const at = (p: number) => round(percentile(sorted, p) as number);
  return { p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), maxMs: at(100) };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const device = await startDevice();
  const chain = await startTunnelChain(shippedGateway(), { ports: [device.port], maxConcurrent: 10 });
  try {
    const target = { jobId: 'bench-rtt', host: '127.0.0.1', port: device.port };
    // Warm both ends' code paths before measuring.
    const warm = await chain.tunnels.openStream(target);
    await timeExchanges(warm);
    warm.end();

    const openTimes: number[] = [];
    for (let i = 0; i < opens; i++) {
      const start = performance.now();
      const stream = await chain.tunnels.openStream({ ...target, jobId: `bench-open-${i}` });
      openTimes.push(performance.now() - start);
      stream.end();
      stream.resume();
      await once(stream, 'close');
    }

    const tunnel = await chain.tunnels.openStream(target);
    const viaTunnel = await timeExchanges(tunnel);
    tunnel.end();
    const socket = connect({ host: '127.0.0.1', port: device.port, noDelay: true });
    await once(socket, 'connect');
    const direct = await timeExchanges(socket);
    socket.end();

    const tunnelExchange = percentiles(viaTunnel);
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        kernel: release(),
        node: process.version,
        loadAverage1min: { before: round(loadBefore), after: round(loadavg()[0] ?? 0) },
      },
      config: {
        exchanges,
        opens,
        request: `${HEADER_BYTES} B, then ${BODY_BYTES} B a turn of the event loop later`,
        replyBytes: REPLY_BYTES,
        path: 'cloud (this process) → push line (ws:// on loopback) → mfp-gateway run as shipped → device',
      },
      tunnelExchange,
      directExchange: percentiles(direct),
      tunnelOpen: percentiles(openTimes),
      target: { tunnelExchangeP99Ms: TARGET_P99_MS },
      met: tunnelExchange.p99Ms <= TARGET_P99_MS,
    };
    console.table({
      'exchange through the tunnel': report.tunnelExchange,
      'exchange over direct TCP': report.directExchange,
      'opening a tunnel': report.tunnelOpen,
    });
    console.log(
      `${report.met ? 'PASS' : 'FAIL'}  tunnel exchange p99 ${report.tunnelExchange.p99Ms} ms ≤ ${TARGET_P99_MS}`,
    );
    const out = join(dirname(here), 'results', 'tunnel-round-trip.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${out}`);
    if (!report.met) process.exitCode = 1;
  } finally {
    await chain.stop();
    device.server.close();
  }
}

// Ctrl-C or a kill still runs the exit hooks that reap the gateway process.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
await main();

/**
 * Starts the cloud as it ships for bench:cloud: `mfp-gateway cloud` from the compiled dist/
 * with the systemd unit's environment, one process per node, each with its own config, its
 * file-descriptor soft limit raised to the hard one (as the unit's LimitNOFILE does), and the
 * event-loop probe loaded. Its log goes to a file beside its store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { reapOnExit } from '../../test/support/reap-on-exit.ts';
import type { SimGatewayIdentity } from './fleet-plan.ts';
import type { LagSample } from './lag-probe.ts';

/** Loaded into every server the bench measures, the cloud's nodes and the bare ws servers alike. */
export const LAG_PROBE = pathToFileURL(new URL('./lag-probe.ts', import.meta.url).pathname).href;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

/** One running cloud node. */
export interface CloudNode {
  readonly index: number;
  readonly url: string;
  readonly pushUrl: string;
  readonly pid: number;
  readonly apiToken: string;
  readonly storePath: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** The event loop's delay, one sample per second so far. */
  lag(): LagSample[];
  stop(): Promise<void>;
}

export interface CloudNodeSpec {
  index: number;
  dir: string;
  port: number;
  apiToken: string;
  storePath: string;
  /** The PostgreSQL database the nodes share, instead of storePath. */
  storeUrl?: string | undefined;
  gateways: readonly SimGatewayIdentity[];
  keepaliveMs: number;
  /** How to run the cloud: the entry (dist/mfp-gateway.js), Node's options and the environment. */
  entry: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

/** The shipped cloud's least advised interval; the bench goes below it only in a smoke run (--quick). */
const SHIPPED_MIN_INTERVAL_MS = 5000;

/**
 * A node's cloud.yaml as an object: its gateways (the registry's seed), its store and
 * otherwise the shipped defaults — except when the bench keeps alive more often than they allow
 * (--quick): then the default advice is the bench's interval, so that keep-alives flow.
 */
export function nodeConfig(spec: CloudNodeSpec): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: spec.port },
    api: { token: spec.apiToken },
    gateways: spec.gateways.map((g) => ({ id: g.id, token: g.token })),
    store: spec.storeUrl ? { url: spec.storeUrl } : { path: spec.storePath },
    ...(spec.keepaliveMs < 2 * SHIPPED_MIN_INTERVAL_MS
      ? { keepalive: { default: `${spec.keepaliveMs}ms`, min: `${Math.floor(spec.keepaliveMs / 2)}ms` } }
      : {}),
    log: { level: 'info' },
  };
}

async function waitUntilHealthy(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const log = readFileSync(logFile, 'utf8').slice(-3000);
  throw new Error(`cloud node at ${url} did not become healthy; its log ends:\n${log}`);
}

/** The samples lag-probe.ts wrote to a file. */
export function readLag(file: string): LagSample[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LagSample);
}

/** Starts one cloud node and waits until it answers /health. */
export async function startCloudNode(spec: CloudNodeSpec): Promise<CloudNode> {
  const config = join(spec.dir, 'cloud.yaml');
  writeFileSync(config, stringify(nodeConfig(spec)));
  const logFile = join(spec.dir, 'cloud.log');
  const lagFile = join(spec.dir, 'lag.jsonl');
  writeFileSync(lagFile, '');
  const out = openSync(logFile, 'w');
  // The unit raises LimitNOFILE; here the shell raises the soft limit to the hard one.
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -S -n "$(ulimit -H -n)" && exec "$0" "$@"',
      process.execPath,
      ...spec.nodeArgs,
      '--import',
      LAG_PROBE,
      spec.entry,
      'cloud',
      '--config',
      config,
    ],
    {
      env: { ...process.env, ...spec.env, MFPGW_BENCH_LAG_FILE: lagFile },
      stdio: ['ignore', out, out],
      cwd: spec.dir,
    },
  );
  closeSync(out);
  reapOnExit(child);
  const url = `http://127.0.0.1:${spec.port}`;
  await waitUntilHealthy(url, child, logFile);
  return {
    index: spec.index,
    url,
    pushUrl: `ws://127.0.0.1:${spec.port}/push`,
    pid: child.pid as number,
    apiToken: spec.apiToken,
    storePath: spec.storePath,
    logFile,
    child,
    lag: () => readLag(lagFile),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

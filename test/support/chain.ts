import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type CliLaunch, type CliProcess, listeningPort, startCli } from './cli-process.ts';

/** A scratch directory for one test, removed by cleanup(). */
export function scratchDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `mfpgw-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const secret = (): string => randomBytes(20).toString('hex');

/** Writes a YAML config file and returns its path. */
export function writeYaml(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(value));
  return file;
}

/** A cloud process and the means to call its API. */
export interface CloudHandle {
  proc: CliProcess;
  port: number;
  apiToken: string;
  gatewayToken: string;
  api<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
}

/** Starts `mfp-gateway cloud` on a port of its choosing with one gateway "gw1" and fast test timings. */
export async function startCloud(
  dir: string,
  overrides: {
    tls?: { certFile: string; keyFile: string; caFile: string };
    keepalive?: Record<string, unknown>;
    push?: Record<string, unknown>;
    gateways?: ({ id: string; token: string } & Record<string, unknown>)[];
    /** Extra settings of the default gateway gw1 (e.g. maxTunnels). */
    gw1?: Record<string, unknown>;
    /** The cloud's `jobs` section. */
    jobs?: Record<string, unknown>;
    /** The cloud's `mqtt` section (alternate push line); none by default. */
    mqtt?: Record<string, unknown>;
  } = {},
): Promise<CloudHandle> {
  const apiToken = secret();
  const gatewayToken = secret();
  const file = writeYaml(dir, 'cloud.yaml', {
    // Port 0, read back from the log: a port reserved with freePort() is free again until the
    // cloud binds it, and on a busy CI machine another process's bind can take it meanwhile.
    listen: { host: '127.0.0.1', port: 0 },
    ...(overrides.tls ? { tls: { certFile: overrides.tls.certFile, keyFile: overrides.tls.keyFile } } : {}),
    api: { token: apiToken },
    gateways: overrides.gateways ?? [{ id: 'gw1', token: gatewayToken, ...overrides.gw1 }],
    store: { path: join(dir, 'cloud.db') },
    keepalive: { default: '1s', min: '200ms', evidenceFloor: '100ms', ...overrides.keepalive },
    push: { ackTimeout: '1s', deadline: '10s', ...overrides.push },
    ...(overrides.mqtt ? { mqtt: overrides.mqtt } : {}),
    ...(overrides.jobs ? { jobs: overrides.jobs } : {}),
    log: { level: 'debug' },
  });
  const proc = startCli(['cloud', '--config', file]);
  const port = await listeningPort(proc, 'cloud listening');
  const base = `${overrides.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    proc,
    port,
    apiToken,
    gatewayToken,
    api: (path, init = {}) =>
      request(
        `${base}${path}`,
        apiToken,
        init,
        overrides.tls ? readFileSync(overrides.tls.caFile) : undefined,
      ),
  };
}

/** A small JSON HTTP(S) client that trusts a test CA (fetch cannot take one). */
function request<T>(
  url: string,
  token: string,
  init: RequestInit,
  ca?: Buffer,
): Promise<{ status: number; body: T }> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: init.method ?? 'GET',
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T }),
        );
      },
    );
    req.on('error', reject);
    if (init.body) req.write(init.body as string);
    req.end();
  });
}

/** Starts `mfp-gateway sim firewall` in front of a port, on a port of its choosing unless given one. */
export async function startFirewall(
  targetPort: number,
  idleTimeout: string,
  onExpiry: 'silent' | 'rst',
  lifetime?: string,
  /** The line's capacity each way, bytes/s (e.g. "2m"): a slow line. */
  rate?: string,
  /** Listen on this port (a restarted firewall in front of the same gateways); default: its own pick. */
  listenPort?: number,
): Promise<{ proc: CliProcess; port: number }> {
  // Port 0 unless told, read back from the log, as startCloud does: a freePort() one could be
  // taken before the firewall binds it.
  const proc = startCli([
    'sim',
    'firewall',
    '--listen',
    `127.0.0.1:${listenPort ?? 0}`,
    '--target',
    `127.0.0.1:${targetPort}`,
    '--idle-timeout',
    idleTimeout,
    '--on-expiry',
    onExpiry,
    ...(lifetime ? ['--lifetime', lifetime] : []),
    ...(rate ? ['--rate', rate] : []),
  ]);
  return { proc, port: await listeningPort(proc, 'firewall listening', 'listen') };
}

/** Writes a gateway config for gw1 and starts `mfp-gateway run`. */
export function startGatewayProcess(
  dir: string,
  cloud: { url: string; token: string; caFile?: string; proxy?: string },
  extra: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  launch: CliLaunch = {},
): CliProcess {
  const file = writeYaml(dir, 'gateway.yaml', {
    gateway: { id: 'gw1', domain: 'a.test.example.co.jp', stateDir: join(dir, 'gateway-state') },
    cloud: {
      url: cloud.url,
      token: cloud.token,
      stagger: '300ms',
      ...(cloud.caFile ? { caFile: cloud.caFile } : {}),
      ...(cloud.proxy ? { proxy: cloud.proxy } : {}),
    },
    keepalive: { answerTimeout: '1s' },
    reconnect: { initialDelay: '200ms', maxDelay: '2s' },
    log: { level: 'debug' },
    ...extra,
  });
  return startCli(['run', '--config', file], env, launch);
}

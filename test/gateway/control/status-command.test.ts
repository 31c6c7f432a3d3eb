import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonReport } from '../../../src/gateway/control/daemon-report.ts';
import { type CloudHandle, scratchDir, startCloud, startGatewayProcess } from '../../support/chain.ts';
import { type CliProcess, listeningPort, startCli } from '../../support/cli-process.ts';

const scratch = scratchDir('status-cmd');
const stateDir = join(scratch.dir, 'gateway-state');
const socket = join(stateDir, 'control.sock');
let cloud: CloudHandle;
let gateway: CliProcess | undefined;
let pagePort: number;

async function startGateway(): Promise<CliProcess> {
  const proc = startGatewayProcess(
    scratch.dir,
    { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
    // Port 0, read back from the log: a port reserved with freePort() is free again until the
    // gateway binds it, and on a busy CI machine another process's bind can take it.
    { status: { listen: { host: '127.0.0.1', port: 0 }, auth: 'none' } },
  );
  pagePort = await listeningPort(proc, 'status page listening');
  // Both push lines (the probe lines open beside them and may come first).
  await proc.waitFor(
    () =>
      new Set(proc.lines.filter((l) => l.msg === 'line open' && l.role === 'push').map((l) => l.line)).size >=
      2,
    30_000,
    'both push lines',
  );
  return proc;
}

/** Runs `mfp-gateway status ARGS` to its end. */
async function status(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const cli = startCli(['status', '--state-dir', stateDir, ...args]);
  let out = '';
  cli.child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await cli.exited();
  return { code, out, err: cli.stderr() };
}

beforeAll(async () => {
  cloud = await startCloud(scratch.dir);
}, 30_000);
afterAll(async () => {
  await gateway?.stop();
  await cloud?.proc.stop();
  scratch.cleanup();
});

describe('mfp-gateway status (the daemon’s control socket)', () => {
  it('says no gateway runs when none does, exit 1', async () => {
    const run = await status();
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/no gateway is running with state directory .*gateway-state/);
  });

  it('shows the running daemon’s lines, keep-alive, power, devices and page, exit 0', {
    timeout: 60_000,
  }, async () => {
    gateway = await startGateway();
    // The socket is for root and the service's user and group only.
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    let run = await status();
    for (let i = 0; i < 20 && run.code !== 0; i++) run = await status();
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^gateway gw1 · mfp-gateway \S+ \(commit \S+\) Node v24\.\S+ · pid \d+ · up /);
    expect(run.out).toMatch(/^lines +2 of 2 push lines up/m);
    expect(run.out).toMatch(/^ {2}line-0 +push +open /m);
    expect(run.out).toMatch(new RegExp(`^page +http://127\\.0\\.0\\.1:${pagePort}/$`, 'm'));

    const json = await status('--json');
    const report = JSON.parse(json.out) as DaemonReport;
    expect(report.gatewayId).toBe('gw1');
    expect(report.link.linesUp).toBe(2);
    expect(report.cloud).toBe(`ws://127.0.0.1:${cloud.port}`);
  });

  it('finds the state directory in the config, and a killed daemon’s socket does not fool it', {
    timeout: 60_000,
  }, async () => {
    const byConfig = startCli(['status', '--config', join(scratch.dir, 'gateway.yaml')]);
    expect(await byConfig.exited()).toBe(0);

    await gateway?.stop('SIGKILL');
    gateway = undefined;
    expect(existsSync(socket)).toBe(true);
    const run = await status();
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/no gateway is running .*ECONNREFUSED/);

    // The next daemon takes the socket over.
    gateway = await startGateway();
    let again = await status();
    for (let i = 0; i < 20 && again.code !== 0; i++) again = await status();
    expect(again.code, again.err).toBe(0);
  });
});

import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock/clock.ts';
import { systemClock } from '../../src/clock/system-clock.ts';
import type { CheckResult } from '../../src/doctor/check-result.ts';
import { runDoctor } from '../../src/doctor/run-doctor.ts';
import { type CloudHandle, scratchDir, secret, startCloud, writeYaml } from '../support/chain.ts';
import { freePort } from '../support/free-port.ts';
import { type SquidHandle, startSquid } from '../support/squid.ts';
import { makeTestCert } from '../support/tls.ts';

/** The real clock, `offsetMs` off: a box whose time is wrong. */
function skewedClock(offsetMs: number): Clock {
  return {
    now: () => Date.now() + offsetMs,
    monotonic: () => systemClock.monotonic(),
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
    clearTimeout: (handle) => systemClock.clearTimeout(handle),
  };
}

const scratch = scratchDir('doctor');
let cloud: CloudHandle;
let tlsCloud: CloudHandle;
let caFile: string;
let squid: SquidHandle;
let printer: Server;
let printerPort: number;

beforeAll(async () => {
  const cert = makeTestCert(scratch.dir);
  caFile = cert.caFile;
  const tlsDir = join(scratch.dir, 'tls-cloud');
  (await import('node:fs')).mkdirSync(tlsDir);
  [cloud, tlsCloud, squid] = await Promise.all([
    startCloud(scratch.dir),
    startCloud(tlsDir, { tls: cert }),
    startSquid({ users: { office: 'proxy-pass-1' }, idleTimeoutSec: 30 }),
  ]);
  // A LAN printer that accepts connections on its port.
  printer = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => printer.listen(0, '127.0.0.1', resolve));
  printerPort = (printer.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  printer?.close();
  await Promise.all([cloud?.proc.stop(), tlsCloud?.proc.stop(), squid?.stop()]);
  scratch.cleanup();
});

let configs = 0;
/** A gateway config for the test cloud, with `extra` merged into its sections. */
async function doctor(
  extra: { cloud?: Record<string, unknown>; devices?: unknown[]; status?: Record<string, unknown> } = {},
  clock: Clock = systemClock,
): Promise<Map<string, CheckResult>> {
  const file = writeYaml(scratch.dir, `gateway-${++configs}.yaml`, {
    gateway: { id: 'gw1', stateDir: join(scratch.dir, 'state') },
    cloud: { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken, ...extra.cloud },
    devices: extra.devices ?? [],
    status: { listen: { host: '127.0.0.1', port: await freePort() }, ...extra.status },
  });
  const results = await runDoctor({ configFile: file, clock, timeoutMs: 3000, env: {} });
  return new Map(results.map((r) => [r.check, r]));
}

describe('mfp-gateway doctor, against real peers', () => {
  it('passes a good setup: DNS, connection, clock, token, status page port', async () => {
    const r = await doctor();
    expect([...r.values()].filter((c) => c.status !== 'ok')).toEqual([]);
    expect([...r.keys()]).toEqual(['config', 'dns', 'connect', 'clock', 'token', 'status-page']);
    expect(r.get('token')?.message).toMatch(/accepts gateway "gw1"/);
  });

  it('names a wrong token, as the real cloud refuses it', async () => {
    const r = await doctor({ cloud: { token: secret() } });
    expect(r.get('token')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/refused gateway "gw1".*401/),
    });
    expect(r.get('token')?.fix).toMatch(/cloud\.token/);
  });

  it('names a wrong proxy password (a real Squid answers 407) and skips what lies behind it', async () => {
    const r = await doctor({ cloud: { proxy: squid.proxyUrl('office', 'wrong-pass') } });
    expect(r.get('proxy')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/refused the password of user "office".*407/),
      fix: expect.stringMatching(/cloud\.proxy/),
    });
    expect(r.get('token')?.status).toBe('skip');
  });

  it('passes the proxy with the right password, and the token through it', async () => {
    const r = await doctor({ cloud: { proxy: squid.proxyUrl('office') } });
    expect(r.get('proxy')).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/as user "office"/),
    });
    expect(r.get('token')?.status).toBe('ok');
    expect(r.get('proxy')?.message).not.toContain('proxy-pass-1');
  });

  it('fails a clock 10 minutes ahead and warns about one a minute behind (an injected clock)', async () => {
    const ahead = (await doctor({}, skewedClock(10 * 60_000))).get('clock');
    expect(ahead).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/10m\d*s? ahead of the cloud’s/),
    });
    expect(ahead?.fix).toMatch(/timedatectl/);
    const behind = (await doctor({}, skewedClock(-60_000))).get('clock');
    expect(behind).toMatchObject({ status: 'warn', message: expect.stringMatching(/behind the cloud’s/) });
  });

  it('names an unreachable device: a port nobody listens on, an address nobody answers', async () => {
    const closed = await freePort();
    const r = await doctor({
      devices: [
        { id: 'here', driver: 'pjl', host: '127.0.0.1', port: printerPort },
        { id: 'off', driver: 'pjl', host: '127.0.0.1', port: closed },
        { id: 'gone', driver: 'ipp', uri: 'ipp://192.0.2.1/ipp/print' },
      ],
    });
    expect(r.get('device:here')?.status).toBe('ok');
    expect(r.get('device:off')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/refuses connections/),
    });
    // Whether a documentation address times out or is refused depends on the network.
    expect(r.get('device:gone')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^192\.0\.2\.1:631 (does not answer|refuses connections)/),
    });
  });

  it('verifies TLS with cloud.caFile, and says what to do without it', async () => {
    const url = `wss://localhost:${tlsCloud.port}/push`;
    const good = await doctor({ cloud: { url, token: tlsCloud.gatewayToken, caFile } });
    // The test certificate lives two days: verified, and worth a warning.
    expect(good.get('tls')).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/expires in 1d\d+h/),
    });
    expect(good.get('token')?.status).toBe('ok');
    const bad = await doctor({ cloud: { url, token: tlsCloud.gatewayToken } });
    expect(bad.get('tls')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/cloud\.caFile/) });
    // The cloud's time is still read; the token is not tried over an untrusted line.
    expect(bad.get('clock')?.status).toBe('ok');
    expect(bad.get('token')?.status).toBe('skip');
  });

  it('fails a status page port that another program holds', async () => {
    const holder = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await doctor({ status: { listen: { host: '127.0.0.1', port } } });
      expect(r.get('status-page')).toMatchObject({
        status: 'fail',
        message: expect.stringMatching(/taken by another program/),
      });
    } finally {
      holder.close();
    }
  });

  it('lists every problem of a config it cannot use, and checks nothing else', async () => {
    const file = writeYaml(scratch.dir, 'broken.yaml', {
      gateway: { id: 'gw1' },
      cloud: { url: 'http://x' },
    });
    const results = await runDoctor({ configFile: file, clock: systemClock, timeoutMs: 1000, env: {} });
    expect(results[0]).toMatchObject({ check: 'config', status: 'fail' });
    expect(results[0]?.details?.join('\n')).toMatch(/cloud\.url.*\n.*cloud\.token/s);
    expect(results.slice(1).map((r) => r.status)).toEqual(['skip']);
  });
});

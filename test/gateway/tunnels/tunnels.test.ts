import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { startGateway } from '../../../src/gateway/gateway-daemon.ts';
import { TunnelAllowList } from '../../../src/gateway/tunnels/allow-list.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { TunnelError } from '../../../src/tunnel/tunnel-error.ts';
import type { TunnelStream } from '../../../src/tunnel/tunnel-stream.ts';
import { scratchDir } from '../../support/chain.ts';
import { eventually } from '../../support/cli-process.ts';
import { freePort } from '../../support/free-port.ts';
import { startMosquitto } from '../../support/mosquitto.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { startTestCloud } from '../../support/test-cloud.ts';

const defer = deferredTeardown();

describe('tunnel allow-list', () => {
  const list = new TunnelAllowList([
    { cidr: '192.168.1.0/24', ports: [9100, 631] },
    { cidr: 'fd00::/8', ports: [515] },
  ]);

  it('allows listed ranges and ports only', () => {
    expect(list.check('192.168.1.20', 9100)).toEqual({ allowed: true });
    expect(list.check('192.168.1.20', 22)).toMatchObject({ allowed: false, code: 'NOT_ALLOWED' });
    expect(list.check('192.168.2.20', 9100)).toMatchObject({ allowed: false, code: 'NOT_ALLOWED' });
    expect(list.check('fd00::1', 515)).toEqual({ allowed: true });
  });

  it('refuses names, so DNS cannot steer a tunnel', () => {
    expect(list.check('printer.lan', 9100)).toMatchObject({ allowed: false, code: 'BAD_TARGET' });
  });

  it('denies everything when nothing is configured', () => {
    expect(new TunnelAllowList([]).check('127.0.0.1', 9100)).toMatchObject({ allowed: false });
  });

  it('never lets a wide IPv6 rule match IPv4, nor any rule reach the box itself (issue 13, finding 13)', () => {
    const interfaces = () =>
      ({
        lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
        eth0: [
          { address: '192.168.1.2', family: 'IPv4', internal: false },
          { address: 'fd00::2', family: 'IPv6', internal: false },
        ],
      }) as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
    const wide = new TunnelAllowList(
      [
        { cidr: '::/0', ports: [8080, 9100] },
        { cidr: '::ffff:0:0/96', ports: [8080] },
        { cidr: '0.0.0.0/0', ports: [9100] },
      ],
      { interfaces },
    );
    // ::/0 is IPv6 only: it does not reach IPv4 (on main it matched 127.0.0.1, the status page).
    expect(wide.check('127.0.0.1', 8080)).toMatchObject({ allowed: false });
    expect(wide.check('10.1.2.3', 8080)).toMatchObject({ allowed: true }); // ::ffff:0:0/96 is all IPv4…
    for (const own of [
      '127.0.0.1',
      '127.8.9.10',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::1',
      '0.0.0.0',
      '::',
    ]) {
      expect(wide.check(own, 8080), own).toMatchObject({ allowed: false, code: 'NOT_ALLOWED' }); // …but never loopback
    }
    for (const local of [
      '169.254.169.254',
      'fe80::1',
      'fe80::1%eth0',
      '192.168.1.2',
      '::ffff:192.168.1.2',
      'fd00::2',
    ]) {
      expect(wide.check(local, 9100), local).toMatchObject({ allowed: false, code: 'NOT_ALLOWED' });
    }
    expect(wide.check('192.168.1.20', 9100)).toEqual({ allowed: true });
    expect(wide.check('::ffff:192.168.1.20', 9100)).toEqual({ allowed: true });
    expect(wide.wideRules()).toEqual(['::/0', '::ffff:0:0/96', '0.0.0.0/0']);
    expect(list.wideRules()).toEqual(['fd00::/8']); // the whole ULA range: more than a LAN
    // A lab where the "devices" run on the gateway's own host says so.
    const lab = new TunnelAllowList([{ cidr: '127.0.0.1/32', ports: [9100] }], {
      allowLocal: true,
      interfaces,
    });
    expect(lab.check('127.0.0.1', 9100)).toEqual({ allowed: true });
  });
});

/** A TCP echo server standing in for a LAN device. */
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  return server;
}

/** Which MQTT broker carries the management channel in a test. */
type Broker = 'none' | 'embedded' | 'mosquitto';

async function chain(allowPort: number, broker: Broker = 'none') {
  const { dir, cleanup } = scratchDir('tunnels');
  defer(cleanup);
  const token = randomBytes(20).toString('hex');
  const apiToken = randomBytes(20).toString('hex');
  const mosquitto =
    broker === 'mosquitto' ? await startMosquitto({ users: { gw1: token, cloud: apiToken } }) : null;
  if (mosquitto) defer(() => mosquitto.dispose());
  const cloudMqtt =
    broker === 'embedded'
      ? { embedded: true, listen: { host: '127.0.0.1', port: 0 } }
      : mosquitto
        ? { url: mosquitto.url, username: 'cloud', password: apiToken }
        : null;
  const cloud = await startTestCloud({
    api: { token: apiToken },
    gateways: [{ id: 'gw1', token }],
    ...(cloudMqtt ? { mqtt: cloudMqtt } : {}),
  });
  defer(() => cloud.stop());
  const brokerUrl = mosquitto?.url ?? cloud.mqtt?.broker?.url;
  const protocolVersion = mosquitto ? 5 : 4;
  const mqtt =
    broker === 'none' ? {} : { mqtt: { url: brokerUrl, protocolVersion, username: 'gw1', password: token } };
  const gateway = await startGateway(
    parseGatewayConfig({
      gateway: { id: 'gw1', domain: 'example.com', stateDir: dir },
      cloud: { url: `ws://127.0.0.1:${cloud.port}/push`, token, connections: 1 },
      tunnels: { allow: [{ cidr: '127.0.0.1/32', ports: [allowPort] }], allowLocal: true },
      ...mqtt,
    }),
    { logger: silentLogger() },
  );
  defer(() => gateway.stop());
  if (cloud.push.directory.lines('gw1', 'push').length === 0) await once(cloud.push.directory, 'line-up');
  const line = cloud.push.directory.lines('gw1', 'push')[0];
  if (!line?.tunnels) throw new Error('no line with tunnels');
  return { cloud, gateway, tunnels: line.tunnels };
}

async function roundTrip(stream: TunnelStream, bytes: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= bytes.length) resolve();
    });
    stream.on('error', reject);
  });
  for (let i = 0; i < bytes.length; i += 64 * 1024) {
    if (!stream.write(bytes.subarray(i, i + 64 * 1024))) await once(stream, 'drain');
  }
  await done;
  stream.end();
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tunnels over a push line', () => {
  it('relays several MB byte-exact to an allowed LAN target and back', async () => {
    const device = await echoServer();
    const port = (device.address() as { port: number }).port;
    const { tunnels, gateway } = await chain(port);
    const stream = await tunnels.openStream({ jobId: 'job-1', host: '127.0.0.1', port });
    const payload = randomBytes(5 * 1024 * 1024);
    const echoed = await roundTrip(stream, payload);
    expect(sha(echoed)).toBe(sha(payload));
    expect(gateway.tunnels.activeCount).toBeLessThanOrEqual(1);
  });

  it('refuses targets outside the allow-list, names, and unreachable devices, with the reason', async () => {
    const device = await echoServer();
    const port = (device.address() as { port: number }).port;
    const { tunnels } = await chain(port);
    const closedPort = await freePort();
    const refusal = async (target: Parameters<typeof tunnels.openStream>[0]) => {
      const err = await tunnels.openStream(target).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TunnelError);
      return err as TunnelError;
    };
    expect((await refusal({ jobId: 'j', host: '127.0.0.1', port: closedPort })).remoteCode).toBe(
      'NOT_ALLOWED',
    );
    expect((await refusal({ jobId: 'j', host: 'localhost', port })).remoteCode).toBe('BAD_TARGET');
    expect((await refusal({ jobId: 'j', deviceId: 'mfp-9' })).remoteCode).toBe('NOT_ALLOWED');
    device.close();
    await once(device, 'close');
    expect((await refusal({ jobId: 'j', host: '127.0.0.1', port })).remoteCode).toBe('UNREACHABLE');
  });
});

describe.each(['mosquitto', 'embedded'] as const)(
  'tunnel establishment over MQTT (seed 001 command 7D), %s broker',
  (broker) => {
    it('checks the target, names a live line, and the tunnel opened on it carries the job byte-exact', async () => {
      const device = await echoServer();
      const port = (device.address() as { port: number }).port;
      const { cloud } = await chain(port, broker);
      const client = cloud.mqtt?.client;
      if (!client) throw new Error('cloud has no MQTT client');
      await eventually(
        async () => client.availability('gw1'),
        (a) => a === true,
        20_000,
        'the gateway online on MQTT',
        50,
      );
      const refused = await client.command(
        'gw1',
        'open-tunnel',
        { id: 'cmd-1', tunnelId: 't-1', jobId: 'job-7', host: '127.0.0.1', port: port + 1 },
        10_000,
      );
      expect(refused).toMatchObject({ ok: false, message: expect.stringContaining('NOT_ALLOWED') });
      const reply = await client.command(
        'gw1',
        'open-tunnel',
        { id: 'cmd-2', tunnelId: 't-2', jobId: 'job-7', host: '127.0.0.1', port },
        10_000,
      );
      expect(reply).toMatchObject({
        ok: true,
        result: { tunnelId: 't-2', line: expect.stringMatching(/^line-/) },
      });
      const lineId = (reply as { result: { line: string } }).result.line;
      const line = cloud.push.directory.lines('gw1', 'push').find((l) => l.connectionId === lineId);
      const stream = await line?.tunnels?.openStream({ jobId: 'job-7', host: '127.0.0.1', port });
      if (!stream) throw new Error(`no line ${lineId}`);
      const payload = randomBytes(1024 * 1024);
      expect(sha(await roundTrip(stream, payload))).toBe(sha(payload));
    });
  },
);

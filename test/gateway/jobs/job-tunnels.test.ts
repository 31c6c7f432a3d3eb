import { describe, expect, it } from 'vitest';
import { deviceSchema } from '../../../src/config/device-config.ts';
import type { DeviceDriver, DirectConnect } from '../../../src/devices/device-driver.ts';
import type { DeviceRegistry, GatewayDevice } from '../../../src/gateway/devices/device-registry.ts';
import { JobTunnels, type JobTunnelsOptions } from '../../../src/gateway/jobs/job-tunnels.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import {
  dataHeader,
  encodeConnect,
  encodeEnd,
  encodeInterrupt,
  type JobEvent,
  JobEventDecoder,
} from '../../../src/protocol/job/job-records.ts';
import type { TunnelStream } from '../../../src/tunnel/tunnel-stream.ts';
import { muxPair, settle } from '../../tunnel/mux-pair.ts';

const CLOUD = 'https://cloud.example.com';
const TOKEN = 't'.repeat(32);

/**
 * A direct-capable device: takes the document, and on a connection-establishment command says
 * its connection is up (or, with `refuse`, that it cannot connect); interrupted, it keeps what it has.
 */
function directDevice(options: { refuse?: boolean } = {}) {
  const connects: DirectConnect[] = [];
  /** Document bytes the device had when each command reached it. */
  const connectedAt: number[] = [];
  const driver: DeviceDriver = {
    id: 'mfp-1',
    canHandOver: true,
    async print(job, signal) {
      let bytesSent = 0;
      const direct = job.direct;
      const listen = async () => {
        for (;;) {
          const connect = await direct?.nextConnect();
          if (!connect) return;
          connects.push(connect);
          connectedAt.push(bytesSent);
          direct?.report(options.refuse ? 'refused' : 'connected');
        }
      };
      void listen();
      try {
        for await (const chunk of job.document) bytesSent += (chunk as Buffer).length;
      } catch (err) {
        throw signal?.reason ?? err; // a job the gateway failed: its reason, as a real driver reports it
      }
      const interrupted = direct?.interrupted() ?? false;
      return { bytesSent, completedAt: 0, ...(interrupted ? { handedOver: { offset: bytesSent } } : {}) };
    },
    status: () => Promise.resolve({ state: 'idle', reasons: [], since: 0 }),
    close: () => Promise.resolve(),
  };
  const config = deviceSchema.parse({ id: 'mfp-1', driver: 'pjl', host: '192.0.2.10', directCapable: true });
  const device: GatewayDevice = { config, driver, status: undefined };
  const devices = { get: (id: string) => (id === 'mfp-1' ? device : undefined) } as DeviceRegistry;
  return { devices, connects, connectedAt };
}

/** JobTunnels on the gateway end of an in-memory line; the test plays the cloud. */
async function harness(
  relayDirect?: JobTunnelsOptions['relayDirect'],
  device: ReturnType<typeof directDevice> = directDevice(),
) {
  const pair = muxPair();
  const records: TunnelRecord[] = [];
  const jobs = new JobTunnels({
    devices: device.devices,
    clock: pair.clock,
    logger: silentLogger(),
    resumeGraceMs: 60_000,
    maxJobs: 4,
    ...(relayDirect ? { relayDirect } : {}),
  });
  pair.gateway.onStream((request) => jobs.handle(request, (r) => records.push(r)));
  const stream = await pair.cloud.openStream({ jobId: 'job-1', deviceId: 'mfp-1', resumeOffset: 0 });
  const events: JobEvent[] = [];
  const decoder = new JobEventDecoder();
  stream.on('data', (chunk: Buffer) => events.push(...decoder.push(chunk)));
  stream.on('error', () => {});
  await settle();
  return { stream, events, records, ...device, clock: pair.clock, jobs };
}

function sendData(stream: TunnelStream, bytes: number): void {
  stream.write(dataHeader(bytes));
  stream.write(Buffer.alloc(bytes, 0x41));
}

describe('job tunnels: seed 001’s switch, make-before-break', () => {
  it('passes CONNECT to the device while the data goes on, and hands over on INTERRUPT at what arrived', async () => {
    const { stream, events, records, connects, connectedAt, clock } = await harness();
    sendData(stream, 700);
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, mode: 'push' }));
    await settle();
    expect(connects).toEqual([{ url: CLOUD, token: TOKEN, mode: 'push' }]);
    const upAt = clock.now();
    // The tunnel keeps carrying the job while the device connects.
    sendData(stream, 300);
    // A repeated CONNECT (a resumed tunnel sends it again) changes nothing.
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, mode: 'push' }));
    await settle();
    clock.advance(5);
    stream.write(encodeInterrupt({ offset: 1000 }));
    await settle();
    expect(connects).toHaveLength(1);
    expect(connectedAt[0]).toBeLessThanOrEqual(700);
    expect(events).toEqual([
      { event: 'ready', offset: 0 },
      { event: 'switched', offset: 1000 },
    ]);
    // The journal: the device's connection came up while the tunnel was open, before it closed.
    stream.end();
    await settle();
    expect(records).toEqual([
      expect.objectContaining({ outcome: 'switched', bytesToDevice: 1000, directUpAt: upAt }),
    ]);
    expect(records[0]?.closedAt).toBeGreaterThan(upAt);
  });

  it('leaves no timer behind once closed: a settled job’s 10-minute memory must not keep a stopped process alive', async () => {
    const { stream, clock, jobs } = await harness();
    const before = clock.pendingCount();
    sendData(stream, 100);
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, mode: 'push' }));
    stream.write(encodeInterrupt({ offset: 100 }));
    stream.end();
    await settle();
    expect(clock.pendingCount()).toBeGreaterThan(before);
    jobs.close();
    await settle();
    expect(clock.pendingCount()).toBeLessThanOrEqual(before);
  });

  it('gives the device the cloud itself when the switch is "own" (and pull when the cloud says nothing)', async () => {
    const { stream, connects } = await harness(() => ({ url: 'http://192.0.2.2:8081' }));
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN }));
    await settle();
    expect(connects).toEqual([{ url: CLOUD, token: TOKEN, mode: 'pull' }]);
  });

  it('gives the device the gateway’s LAN relay, with the same token, when the switch is "via gateway"', async () => {
    const asked: [string, string][] = [];
    const { stream, events, connects } = await harness((jobId, cloudUrl) => {
      asked.push([jobId, cloudUrl]);
      return { url: 'http://192.0.2.2:8081' };
    });
    sendData(stream, 500);
    // The relay speaks only the pull variant: a push asked for anyway is handed over as pull.
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, via: 'gateway', mode: 'push' }));
    stream.write(encodeInterrupt({ offset: 500 }));
    await settle();
    expect(asked).toEqual([['job-1', CLOUD]]);
    expect(connects).toEqual([{ url: 'http://192.0.2.2:8081', token: TOKEN, mode: 'pull' }]);
    expect(events.at(-1)).toEqual({ event: 'switched', offset: 500 });
  });

  it('refuses a "via gateway" switch it cannot relay, and the job goes on through the tunnel', async () => {
    for (const relay of [undefined, () => ({ refused: 'the push proxy listener is not up' })]) {
      const { stream, events, connects } = await harness(relay);
      sendData(stream, 300);
      stream.write(encodeConnect({ url: CLOUD, token: TOKEN, via: 'gateway' }));
      await settle();
      expect(events.at(-1)).toEqual({
        event: 'switch-refused',
        reason: relay ? 'the push proxy listener is not up' : expect.stringMatching(/no pushProxy listener/),
      });
      sendData(stream, 200);
      stream.write(encodeEnd({ size: 500, sha256: 'a'.repeat(64) }));
      await settle();
      expect(connects).toEqual([]);
      expect(events.at(-1)).toEqual({ event: 'done', bytes: 500 });
    }
  });

  it('tells the cloud when the device cannot connect, and the job finishes through the tunnel', async () => {
    const { stream, events, records } = await harness(undefined, directDevice({ refuse: true }));
    sendData(stream, 400);
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, mode: 'push' }));
    await settle();
    expect(events.at(-1)).toEqual({
      event: 'switch-refused',
      reason: 'the device cannot connect to the cloud by itself',
    });
    sendData(stream, 100);
    stream.write(encodeEnd({ size: 500, sha256: 'a'.repeat(64) }));
    await settle();
    expect(events.at(-1)).toEqual({ event: 'done', bytes: 500 });
    stream.end();
    await settle();
    expect(records).toEqual([expect.objectContaining({ outcome: 'done', directUpAt: null })]);
  });

  it('fails the job when the INTERRUPT names another offset than arrived (nothing is guessed)', async () => {
    const { stream, events } = await harness();
    sendData(stream, 400);
    stream.write(encodeConnect({ url: CLOUD, token: TOKEN, mode: 'push' }));
    stream.write(encodeInterrupt({ offset: 500 }));
    await settle();
    expect(events.at(-1)).toMatchObject({
      event: 'failed',
      reason: expect.stringMatching(/interrupted the job at 500 bytes but 400 arrived/),
    });
  });
});

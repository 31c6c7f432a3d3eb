import { describe, expect, it } from 'vitest';
import { deviceSchema } from '../../../src/config/device-config.ts';
import type { DeviceDriver, Handover } from '../../../src/devices/device-driver.ts';
import type { DeviceRegistry, GatewayDevice } from '../../../src/gateway/devices/device-registry.ts';
import { JobTunnels, type JobTunnelsOptions } from '../../../src/gateway/jobs/job-tunnels.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import {
  dataHeader,
  encodeEnd,
  encodeSwitch,
  type JobEvent,
  JobEventDecoder,
} from '../../../src/protocol/job/job-records.ts';
import type { TunnelStream } from '../../../src/tunnel/tunnel-stream.ts';
import { muxPair, settle } from '../../tunnel/mux-pair.ts';

const CLOUD = 'https://cloud.example.com';
const TOKEN = 't'.repeat(32);

/** A direct-capable device that takes the document and, when asked, the job over. */
function handingOverDevice() {
  const handovers: Handover[] = [];
  const driver: DeviceDriver = {
    id: 'mfp-1',
    canHandOver: true,
    async print(job) {
      let bytesSent = 0;
      for await (const chunk of job.document) bytesSent += (chunk as Buffer).length;
      const handover = job.handover?.();
      if (handover) handovers.push(handover);
      return { bytesSent, completedAt: 0, ...(handover ? { handedOver: { offset: handover.offset } } : {}) };
    },
    status: () => Promise.resolve({ state: 'idle', reasons: [], since: 0 }),
    close: () => Promise.resolve(),
  };
  const config = deviceSchema.parse({ id: 'mfp-1', driver: 'pjl', host: '192.0.2.10', directCapable: true });
  const device: GatewayDevice = { config, driver, status: undefined };
  const devices = { get: (id: string) => (id === 'mfp-1' ? device : undefined) } as DeviceRegistry;
  return { devices, handovers };
}

/** JobTunnels on the gateway end of an in-memory line; the test plays the cloud. */
async function harness(relayDirect?: JobTunnelsOptions['relayDirect']) {
  const pair = muxPair();
  const { devices, handovers } = handingOverDevice();
  const jobs = new JobTunnels({
    devices,
    clock: pair.clock,
    logger: silentLogger(),
    resumeGraceMs: 60_000,
    maxJobs: 4,
    ...(relayDirect ? { relayDirect } : {}),
  });
  pair.gateway.onStream((request) => jobs.handle(request, () => {}));
  const stream = await pair.cloud.openStream({ jobId: 'job-1', deviceId: 'mfp-1', resumeOffset: 0 });
  const events: JobEvent[] = [];
  const decoder = new JobEventDecoder();
  stream.on('data', (chunk: Buffer) => events.push(...decoder.push(chunk)));
  stream.on('error', () => {});
  await settle();
  return { stream, events, handovers };
}

function sendData(stream: TunnelStream, bytes: number): void {
  stream.write(dataHeader(bytes));
  stream.write(Buffer.alloc(bytes, 0x41));
}

describe('job tunnels: the SWITCH command says how the device reaches the cloud', () => {
  it('passes the cloud’s push mode on to a device that connects by itself', async () => {
    const { stream, handovers } = await harness(() => ({ url: 'http://192.0.2.2:8081' }));
    sendData(stream, 700);
    stream.write(encodeSwitch({ url: CLOUD, token: TOKEN, offset: 700, mode: 'push' }));
    await settle();
    expect(handovers).toEqual([{ url: CLOUD, token: TOKEN, offset: 700, mode: 'push' }]);
  });

  it('gives the device the cloud itself when the switch is "own" (and when the cloud says nothing)', async () => {
    const { stream, events, handovers } = await harness(() => ({ url: 'http://192.0.2.2:8081' }));
    sendData(stream, 1000);
    stream.write(encodeSwitch({ url: CLOUD, token: TOKEN, offset: 1000 }));
    await settle();
    expect(handovers).toEqual([{ url: CLOUD, token: TOKEN, offset: 1000, mode: 'pull' }]);
    expect(events).toEqual([
      { event: 'ready', offset: 0 },
      { event: 'switched', offset: 1000 },
    ]);
  });

  it('gives the device the gateway’s LAN relay, with the same token, when the switch is "via gateway"', async () => {
    const asked: [string, string][] = [];
    const { stream, events, handovers } = await harness((jobId, cloudUrl) => {
      asked.push([jobId, cloudUrl]);
      return { url: 'http://192.0.2.2:8081' };
    });
    sendData(stream, 500);
    // The relay speaks only the pull variant: a push asked for anyway is handed over as pull.
    stream.write(encodeSwitch({ url: CLOUD, token: TOKEN, offset: 500, via: 'gateway', mode: 'push' }));
    await settle();
    expect(asked).toEqual([['job-1', CLOUD]]);
    expect(handovers).toEqual([{ url: 'http://192.0.2.2:8081', token: TOKEN, offset: 500, mode: 'pull' }]);
    expect(events.at(-1)).toEqual({ event: 'switched', offset: 500 });
  });

  it('refuses a "via gateway" switch it cannot relay, and the job goes on through the tunnel', async () => {
    for (const relay of [undefined, () => ({ refused: 'the push proxy listener is not up' })]) {
      const { stream, events, handovers } = await harness(relay);
      sendData(stream, 300);
      stream.write(encodeSwitch({ url: CLOUD, token: TOKEN, offset: 300, via: 'gateway' }));
      await settle();
      expect(events.at(-1)).toEqual({
        event: 'switch-refused',
        reason: relay ? 'the push proxy listener is not up' : expect.stringMatching(/no pushProxy listener/),
      });
      sendData(stream, 200);
      stream.write(encodeEnd({ size: 500, sha256: 'a'.repeat(64) }));
      await settle();
      expect(handovers).toEqual([]);
      expect(events.at(-1)).toEqual({ event: 'done', bytes: 500 });
    }
  });
});

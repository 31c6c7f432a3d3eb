import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CloudHandle,
  scratchDir,
  secret,
  startCloud,
  startFirewall,
  startGatewayProcess,
} from '../support/chain.ts';
import { type CliProcess, eventually, type LogLine, listeningPort } from '../support/cli-process.ts';
import { startSimMfp, withJobLogs } from '../support/jobs.ts';
import { deferredTeardown } from '../support/teardown.ts';

interface DeviceView {
  id: string;
  connection: string;
  attached: boolean;
  line: string | null;
  state: string;
  held: number;
  keepaliveMs: number | null;
  pushes: { delivered: number; held: number; expired: number; refused: number; failed: number };
  messagesFromGateway: number;
  bytes: { fromGateway: number; toGateway: number };
}

interface PushAnswer {
  delivered: boolean;
  held: boolean;
  pushId: string;
  connection?: string;
  heldCount?: number;
  expiresAt?: string | null;
  reason?: string;
}

const defer = deferredTeardown();
/** Kills the process when the test ends, however it ends. */
function tracked(proc: CliProcess): CliProcess {
  defer(() => proc.stop('SIGKILL'));
  return proc;
}

const LAN_KEEPALIVE_MS = 1000;

async function deviceView(cloud: CloudHandle, id: string): Promise<DeviceView | undefined> {
  const state = await cloud.api<{ proxiedDevices: DeviceView[] }>('/api/v1/gateways/gw1');
  return state.body.proxiedDevices.find((d) => d.id === id);
}

function deviceReaches(
  cloud: CloudHandle,
  id: string,
  ok: (d: DeviceView) => boolean,
  what: string,
): Promise<DeviceView | undefined> {
  return eventually(
    () => deviceView(cloud, id),
    (d) => d !== undefined && ok(d),
    20_000,
    what,
    100,
  );
}

function pushTo(cloud: CloudHandle, device: string, payload: unknown) {
  return cloud.api<PushAnswer>(`/api/v1/gateways/gw1/devices/${device}/push`, {
    method: 'POST',
    body: JSON.stringify({ type: 'scan-to-cloud', payload }),
  });
}

const received = (proc: CliProcess, pushId: string) =>
  proc.lines.filter((l) => l.msg === 'push received' && l.pushId === pushId);

/**
 * The device's lines for a push the API answered "delivered", once the first has come: the sim
 * acknowledges a push before it logs it, and its log writes are asynchronous, so the answer
 * can reach the test before the line does (by ~1.5 ms on an idle machine).
 */
async function deliveredLines(proc: CliProcess, pushId: string): Promise<LogLine[]> {
  await proc.waitFor(
    (l) => l.msg === 'push received' && l.pushId === pushId,
    10_000,
    `the device to log push ${pushId}`,
  );
  return received(proc, pushId);
}

describe('push proxy: a LAN device keeps its push connection to the gateway, not to the cloud', () => {
  it('delivers through the gateway, keeps keep-alives on the LAN, holds pushes while the device sleeps across a gateway restart', async () => {
    const { dir, cleanup } = scratchDir('push-proxy');
    defer(cleanup);
    const cloud = await startCloud(dir, { push: { ackTimeout: '2s', deadline: '15s' } });
    tracked(cloud.proc);
    const token = secret();
    /** Starts the gateway, its push proxy on `port`: 0 at first, the same again after the restart. */
    const startGateway = (port: number) =>
      tracked(
        startGatewayProcess(
          dir,
          { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
          {
            status: { enabled: false },
            pushProxy: {
              listen: { host: '127.0.0.1', port },
              devices: [{ id: 'mfp-a', token }],
              lanKeepalive: `${LAN_KEEPALIVE_MS}ms`,
              ackTimeout: '3s',
              hold: { max: 10, ttl: '1h' },
            },
          },
        ),
      );
    // Port 0, read back from the log: a port reserved with freePort() is free again until the
    // gateway binds it, and on a busy CI machine another process's bind can take it.
    let gateway = startGateway(0);
    const proxyPort = await listeningPort(gateway, 'push proxy listening', 'port');
    const sleepFile = join(dir, 'mfp-a.sleep');
    const mfp = await startSimMfp(join(dir, 'spool'), [
      '--push-via-gateway',
      `ws://127.0.0.1:${proxyPort}`,
      '--device-id',
      'mfp-a',
      '--device-token',
      token,
      '--sleep-file',
      sleepFile,
    ]);
    tracked(mfp.proc);

    await withJobLogs({ cloud: cloud.proc, gateway, mfp: mfp.proc }, async () => {
      const connected = await mfp.proc.waitFor(
        (l) => l.msg === 'push client connected',
        20_000,
        'the sim MFP to connect',
      );
      expect(connected.keepaliveMs).toBe(LAN_KEEPALIVE_MS);
      await deviceReaches(
        cloud,
        'mfp-a',
        (d) => d.attached && d.state === 'awake',
        'the device to attach, awake',
      );

      // A push reaches the device through the gateway, acknowledged by the device.
      const first = await pushTo(cloud, 'mfp-a', { doc: 1 });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ delivered: true, held: false, connection: 'proxy/mfp-a' });
      const firstLines = await deliveredLines(mfp.proc, first.body.pushId);
      expect(firstLines).toHaveLength(1);
      expect(firstLines[0]?.payload).toEqual({ doc: 1 });

      // The device keeps alive to the gateway; nothing of it crosses to the cloud.
      const before = await deviceView(cloud, 'mfp-a');
      const acks = () => mfp.proc.lines.filter((l) => l.msg === 'keep-alive acknowledged').length;
      const acksBefore = acks();
      await eventually(
        async () => acks(),
        (n) => n >= acksBefore + 3,
        20_000,
        'three LAN keep-alives',
        100,
      );
      const after = await deviceView(cloud, 'mfp-a');
      expect(after?.messagesFromGateway).toBe(before?.messagesFromGateway);
      expect(after?.bytes.fromGateway).toBe(before?.bytes.fromGateway);
      const log = await cloud.api<{ records: { connectionId: string; dataType: string; status: string }[] }>(
        '/api/v1/gateways/gw1/log?limit=10000',
      );
      const deviceRecords = log.body.records.filter((r) => r.connectionId === 'proxy/mfp-a');
      expect(deviceRecords).toEqual([expect.objectContaining({ dataType: 'push', status: 'OK' })]);

      // Asleep: the gateway holds the push and the API says so.
      writeFileSync(sleepFile, '');
      await mfp.proc.waitFor((l) => l.msg === 'push client asleep', 10_000, 'the sim MFP to sleep');
      await deviceReaches(cloud, 'mfp-a', (d) => d.state === 'sleeping', 'the device to be asleep');
      const second = await pushTo(cloud, 'mfp-a', { doc: 2 });
      expect(second.status).toBe(202);
      expect(second.body).toMatchObject({ delivered: false, held: true, heldCount: 1 });

      // The gateway restarts with the push held on disk; the cloud sees it held still.
      await gateway.stop();
      gateway = startGateway(proxyPort);
      const listening = await gateway.waitFor(
        (l) => l.msg === 'push proxy listening',
        20_000,
        'the restarted push proxy to listen',
      );
      expect(listening.held).toBe(1);
      await deviceReaches(
        cloud,
        'mfp-a',
        (d) => d.attached && d.held === 1 && d.state === 'sleeping',
        'the device to attach again, asleep still, one held',
      );

      // Awake again: the held push arrives, once.
      rmSync(sleepFile);
      const late = await mfp.proc.waitFor(
        (l) => l.msg === 'push received' && l.pushId === second.body.pushId,
        20_000,
        'the held push to reach the device',
      );
      expect(late.payload).toEqual({ doc: 2 });
      expect(late.heldSince).toEqual(expect.any(Number));
      const settled = await deviceReaches(
        cloud,
        'mfp-a',
        (d) => d.state === 'awake' && d.held === 0 && d.pushes.delivered === 2,
        'the cloud to hear the held push was delivered',
      );
      expect(settled?.pushes).toMatchObject({ held: 1, failed: 0, refused: 0 });
      expect(received(mfp.proc, second.body.pushId)).toHaveLength(1);
      expect(mfp.proc.lines.filter((l) => l.msg === 'push duplicate')).toEqual([]);
    });
  }, 120_000);

  it('three devices behind a firewall that drops idle lines: every push arrives, one line keeps alive for all', async () => {
    const { dir, cleanup } = scratchDir('push-proxy-three');
    defer(cleanup);
    const FIREWALL_IDLE_MS = 2500;
    const DEVICE_KEEPALIVE_MS = 4000;
    const cloud = await startCloud(dir, { push: { ackTimeout: '2s', deadline: '15s' } });
    tracked(cloud.proc);
    const firewall = await startFirewall(cloud.port, `${FIREWALL_IDLE_MS}ms`, 'silent');
    tracked(firewall.proc);
    const devices = ['d1', 'd2', 'd3'].map((id) => ({ id, token: secret() }));
    const gateway = tracked(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${firewall.port}/push`, token: cloud.gatewayToken },
        {
          status: { enabled: false },
          cloud: {
            url: `ws://127.0.0.1:${firewall.port}/push`,
            token: cloud.gatewayToken,
            connections: 1,
            probe: false,
          },
          pushProxy: {
            listen: { host: '127.0.0.1', port: 0 },
            devices,
            // Longer than the firewall's idle timeout: only the gateway's line must beat it.
            lanKeepalive: `${DEVICE_KEEPALIVE_MS}ms`,
          },
        },
      ),
    );
    const proxyPort = await listeningPort(gateway, 'push proxy listening', 'port');
    const sims = await Promise.all(
      devices.map(async (d) => {
        const sim = await startSimMfp(join(dir, `spool-${d.id}`), [
          '--push-via-gateway',
          `ws://127.0.0.1:${proxyPort}`,
          '--device-id',
          d.id,
          '--device-token',
          d.token,
        ]);
        tracked(sim.proc);
        return sim.proc;
      }),
    );
    const procs = { cloud: cloud.proc, gateway, ...Object.fromEntries(sims.map((p, i) => [`d${i + 1}`, p])) };
    await withJobLogs(procs, async () => {
      for (const d of devices) {
        await deviceReaches(
          cloud,
          d.id,
          (v) => v.attached && v.state === 'awake',
          `${d.id} to attach, awake`,
        );
      }
      const keepalives = async () => {
        const log = await cloud.api<{ records: { connectionId: string; dataType: string; time: string }[] }>(
          '/api/v1/gateways/gw1/log?limit=10000',
        );
        return log.body.records.filter((r) => r.dataType === 'keepalive');
      };
      const startedAt = Date.now();
      const before = (await keepalives()).length;
      for (let round = 0; round < 3; round++) {
        // An idle gap longer than the firewall's timeout: the line lives only by its keep-alives.
        await new Promise((r) => setTimeout(r, FIREWALL_IDLE_MS + 1000));
        for (const d of devices) {
          const res = await pushTo(cloud, d.id, { round });
          expect(res.status, `${d.id} round ${round}: ${JSON.stringify(res.body)}`).toBe(200);
          const sim = sims[devices.indexOf(d)] as CliProcess;
          expect(await deliveredLines(sim, res.body.pushId)).toHaveLength(1);
        }
      }
      const windowMs = Date.now() - startedAt;
      const upstream = (await keepalives()).slice(before);
      // One line's keep-alives at about the advised 1 s, whatever the number of devices.
      expect(upstream.every((r) => r.connectionId === 'line-0')).toBe(true);
      expect(upstream.length).toBeLessThanOrEqual(Math.ceil(windowMs / 800) + 2);
      expect(upstream.length).toBeGreaterThanOrEqual(Math.floor(windowMs / FIREWALL_IDLE_MS));
      for (const sim of sims) {
        // Each device keeps alive at the interval the gateway gave it, not at the line's pace: no
        // more keep-alives than whole intervals since it connected. (Gaps between the answers are
        // no measure: a late answer followed by a prompt one makes a gap shorter than the interval.)
        const connected = sim.lines.find((l) => l.msg === 'push client connected');
        const acks = sim.lines.filter((l) => l.msg === 'keep-alive acknowledged');
        expect(connected?.keepaliveMs).toBe(DEVICE_KEEPALIVE_MS);
        expect(acks.map((l) => l.keepaliveMs)).toEqual(acks.map(() => DEVICE_KEEPALIVE_MS));
        expect(acks.length).toBeGreaterThanOrEqual(2);
        const connectedForMs = Number(acks.at(-1)?.time) - Number(connected?.time);
        expect(acks.length).toBeLessThanOrEqual(Math.ceil(connectedForMs / DEVICE_KEEPALIVE_MS));
        expect(sim.lines.filter((l) => l.msg === 'push duplicate')).toEqual([]);
      }
    });
  }, 120_000);
});

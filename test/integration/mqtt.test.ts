import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type CloudHandle,
  secret,
  startCloud,
  startFirewall,
  startGatewayProcess,
} from '../support/chain.ts';
import { eventually } from '../support/cli-process.ts';
import { freePort } from '../support/free-port.ts';
import { type MosquittoHandle, startMosquitto } from '../support/mosquitto.ts';
import { processTeardown } from '../support/teardown.ts';

const { defer, track, scratch } = processTeardown('SIGKILL');

interface Chain {
  broker: MosquittoHandle;
  cloud: CloudHandle;
  gatewayMqtt: Record<string, unknown>;
  watcher: MqttClient;
  /** Every retained/current availability payload seen, in order. */
  availability: string[];
}

/** Mosquitto with a password file (gw1, the cloud, a test watcher) and a cloud using it. */
async function chain(dir: string): Promise<Chain> {
  const passwords = { gw1: secret(), cloud: secret(), watcher: secret() };
  const broker = await startMosquitto({ users: passwords });
  defer(() => broker.dispose());
  const cloud = await startCloud(dir, {
    mqtt: { url: broker.url, username: 'cloud', password: passwords.cloud },
  });
  track(cloud.proc);
  await cloud.proc.waitFor((l) => l.msg === 'mqtt connected', 10_000, 'the cloud to reach the broker');
  const watcher = mqtt.connect(broker.url, { username: 'watcher', password: passwords.watcher });
  defer(() => watcher.endAsync(true));
  await new Promise<void>((resolve) => watcher.once('connect', () => resolve()));
  const availability: string[] = [];
  watcher.on('message', (topic, payload) => {
    if (topic === 'mfpgw/gw1/availability') availability.push(payload.toString());
  });
  await watcher.subscribeAsync('mfpgw/gw1/availability', { qos: 1 });
  return {
    broker,
    cloud,
    watcher,
    availability,
    gatewayMqtt: {
      url: broker.url,
      username: 'gw1',
      password: passwords.gw1,
      telemetry: { every: '1m', minGap: '1s' },
    },
  };
}

const availabilityBecomes = (c: Chain, value: string, what: string) =>
  eventually(
    async () => c.availability.at(-1),
    (v) => v === value,
    15_000,
    what,
    50,
  );

describe('MQTT channel against a real Mosquitto', () => {
  it('refuses a gateway with a wrong broker password, and says so', async () => {
    const dir = scratch('mqtt-auth');
    const c = await chain(dir);
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${c.cloud.port}/push`, token: c.cloud.gatewayToken },
        { mqtt: { ...c.gatewayMqtt, password: 'wrong-password' } },
      ),
    );
    const refused = await gateway.waitFor(
      (l) => l.msg === 'mqtt error' && typeof l.err === 'string' && /not authorized|bad user/i.test(l.err),
      15_000,
      'the broker to refuse the password',
    );
    expect(refused.err).toBeDefined();
    expect(c.availability).not.toContain('online');
  });

  it('is online while the gateway runs, offline (last will) when it is killed, online when it returns', async () => {
    const dir = scratch('mqtt-will');
    const c = await chain(dir);
    const cloudUrl = { url: `ws://127.0.0.1:${c.cloud.port}/push`, token: c.cloud.gatewayToken };
    const first = track(startGatewayProcess(dir, cloudUrl, { mqtt: c.gatewayMqtt }));
    await availabilityBecomes(c, 'online', 'the gateway to come online');

    await first.stop('SIGKILL');
    await availabilityBecomes(c, 'offline', 'the broker to publish the last will');

    track(startGatewayProcess(dir, cloudUrl, { mqtt: c.gatewayMqtt }));
    await availabilityBecomes(c, 'online', 'the restarted gateway to come online');
    expect(c.availability).toEqual(['online', 'offline', 'online']);
  });

  it('delivers a push over MQTT when both WebSocket lines are blocked', async () => {
    const dir = scratch('mqtt-push');
    const c = await chain(dir);
    const firewall = await startFirewall(c.cloud.port, '1h', 'silent');
    track(firewall.proc);
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${firewall.port}/push`, token: c.cloud.gatewayToken },
        { mqtt: c.gatewayMqtt },
      ),
    );
    await availabilityBecomes(c, 'online', 'the gateway to come online');
    // MQTT being online says nothing about the WebSocket lines: wait for one of them.
    await eventually(
      async () => (await c.cloud.api<{ connections: unknown[] }>('/api/v1/gateways/gw1')).body.connections,
      (lines) => lines.length > 0,
      15_000,
      'the cloud to see a live WebSocket line',
    );
    const before = await c.cloud.api<{ line: string; delivered: boolean }>('/api/v1/gateways/gw1/push', {
      method: 'POST',
      body: JSON.stringify({ type: 'print-ready', payload: { n: 1 } }),
    });
    expect(before.body).toMatchObject({ delivered: true, line: 'websocket' });

    // The middlebox goes away: both WebSocket lines die and cannot reconnect.
    await firewall.proc.stop('SIGKILL');
    await eventually(
      async () => (await c.cloud.api<{ connections: unknown[] }>('/api/v1/gateways/gw1')).body.connections,
      (lines) => lines.length === 0,
      15_000,
      'the cloud to see no live line',
    );

    const res = await c.cloud.api<{ delivered: boolean; line: string; pushId: string }>(
      '/api/v1/gateways/gw1/push',
      { method: 'POST', body: JSON.stringify({ type: 'print-ready', payload: { n: 2 } }) },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ delivered: true, line: 'mqtt', connection: 'mqtt' });
    await gateway.waitFor(
      (l) => l.msg === 'push received' && l.pushId === res.body.pushId && l.line === 'mqtt',
      5000,
      'the gateway to hand on the push that came over MQTT',
    );
  });

  it('answers management commands: power override, status snapshot, duplicates and unknown commands', async () => {
    const dir = scratch('mqtt-cmd');
    const c = await chain(dir);
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${c.cloud.port}/push`, token: c.cloud.gatewayToken },
        { mqtt: c.gatewayMqtt, power: { mode: 'normal', timezone: 'Europe/Berlin' } },
      ),
    );
    await availabilityBecomes(c, 'online', 'the gateway to come online');
    const replies: Record<string, unknown>[] = [];
    c.watcher.on('message', (topic, payload) => {
      if (topic.startsWith('mfpgw/gw1/reply/')) replies.push(JSON.parse(payload.toString()));
    });
    await c.watcher.subscribeAsync('mfpgw/gw1/reply/+', { qos: 1 });
    const send = (name: string, body: unknown) =>
      c.watcher.publishAsync(`mfpgw/gw1/cmd/${name}`, JSON.stringify(body), { qos: 1 });
    const replyTo = (id: string | null) =>
      eventually(
        async () => replies.filter((r) => r.id === id),
        (found) => found.length > 0,
        10_000,
        `a reply to ${id}`,
        50,
      );

    await send('set-power-override', { id: 'ov-1', mode: 'power-saving', forMs: 3_600_000 });
    expect((await replyTo('ov-1'))[0]).toMatchObject({
      ok: true,
      result: { mode: 'power-saving', source: 'override', timeZone: 'Europe/Berlin' },
    });
    await gateway.waitFor(
      (l) => l.msg === 'power mode changed' && l.mode === 'power-saving',
      5000,
      'the switch',
    );

    await send('status-snapshot', { id: 'snap-1' });
    const [snapshot] = await replyTo('snap-1');
    expect(snapshot).toMatchObject({
      ok: true,
      result: { status: { gatewayId: 'gw1', powerMode: 'power-saving' } },
    });

    await send('restore-line', { id: 'rl-1', connectionIds: ['line-1'] });
    expect((await replyTo('rl-1'))[0]).toMatchObject({ ok: true, result: { restored: ['line-1'] } });
    await gateway.waitFor(
      (l) => l.msg === 'restoring line now' && l.line === 'line-1',
      5000,
      'line-1 to be reopened',
    );

    await send('set-power-override', { id: 'ov-1', mode: 'normal', forMs: 1000 });
    await send('open-tunnel', { id: 'tun-1', tunnelId: 't1', deviceId: 'mfp-1' });
    // No device mfp-1 is configured on this gateway: the tunnel-establishment command is refused.
    expect((await replyTo('tun-1'))[0]).toMatchObject({
      ok: false,
      code: 'MFP_ERR_COMMAND_FAILED',
      message: expect.stringContaining('NOT_ALLOWED'),
    });
    // The duplicate ov-1 was sent before tun-1 and got no reply (QoS 1 keeps the order).
    expect(replies.filter((r) => r.id === 'ov-1')).toHaveLength(1);

    await send('format-disk', { id: 'bad-1' });
    expect((await replyTo('bad-1'))[0]).toMatchObject({ ok: false, code: 'MFP_ERR_UNKNOWN_COMMAND' });
    await c.watcher.publishAsync('mfpgw/gw1/cmd/status-snapshot', 'not json', { qos: 1 });
    expect((await replyTo(null))[0]).toMatchObject({ ok: false, code: 'MFP_ERR_INVALID_JSON' });
  });

  it('reports tunnels and devices, keeps device states retained, and reloads its config on command', async () => {
    const dir = scratch('mqtt-reload');
    const c = await chain(dir);
    // A configured printer nobody answers for: its state is "offline".
    const printer = {
      id: 'printer-a',
      driver: 'pjl',
      host: '127.0.0.1',
      port: await freePort(),
      statusEvery: '1h',
    };
    const gateway = track(
      startGatewayProcess(
        dir,
        { url: `ws://127.0.0.1:${c.cloud.port}/push`, token: c.cloud.gatewayToken },
        { mqtt: c.gatewayMqtt, power: { mode: 'normal', timezone: 'Europe/Berlin' }, devices: [printer] },
      ),
    );
    const messages: [string, Record<string, unknown>][] = [];
    c.watcher.on('message', (topic, payload) => {
      if (!topic.endsWith('/availability')) messages.push([topic, JSON.parse(payload.toString())]);
    });
    await c.watcher.subscribeAsync(
      ['mfpgw/gw1/reply/+', 'mfpgw/gw1/telemetry', 'mfpgw/gw1/devices/+/state'],
      {
        qos: 1,
      },
    );
    const message = (what: string, match: (topic: string, body: Record<string, unknown>) => boolean) =>
      eventually(
        async () => messages.find(([t, b]) => match(t, b))?.[1],
        (found) => found !== undefined,
        15_000,
        what,
        50,
      ) as Promise<Record<string, unknown>>;

    const state = await message(
      'the printer’s retained state',
      (t) => t === 'mfpgw/gw1/devices/printer-a/state',
    );
    expect(state).toMatchObject({ deviceId: 'printer-a', driver: 'pjl', state: 'offline' });
    const telemetry = await message(
      'telemetry with the printer',
      (t, b) => t === 'mfpgw/gw1/telemetry' && (b.devices as { state: string }[])[0]?.state === 'offline',
    );
    expect(telemetry).toMatchObject({
      tunnels: { active: 0, jobs: 0 },
      devices: [{ id: 'printer-a', driver: 'pjl', state: 'offline', meters: null }],
      mqtt: { keepaliveS: 60, keepaliveSource: 'config' },
    });

    const file = join(dir, 'gateway.yaml');
    const original = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    const send = (name: string, body: unknown) =>
      c.watcher.publishAsync(`mfpgw/gw1/cmd/${name}`, JSON.stringify(body), { qos: 1 });
    const replyTo = (id: string) => message(`a reply to ${id}`, (t) => t === `mfpgw/gw1/reply/${id}`);

    writeFileSync(
      file,
      stringify({
        ...original,
        power: { ...original.power, mode: 'power-saving' },
        mqtt: { ...original.mqtt, telemetry: { every: '2m', minGap: '1s' } },
        cloud: { ...original.cloud, connections: 3 },
      }),
    );
    // Power saving lengthens the MQTT keep-alive past the mode's threshold, so applying it renews
    // the session at once: the reply must still get out (it waits for the new session).
    await send('reload-config', { id: 'reload-1' });
    expect(await replyTo('reload-1')).toEqual({
      id: 'reload-1',
      ok: true,
      result: { file, applied: ['power.mode', 'mqtt.telemetry.every'], needsRestart: ['cloud.connections'] },
    });
    await gateway.waitFor(
      (l) => l.msg === 'power mode changed' && l.mode === 'power-saving',
      5000,
      'the base mode to change live',
    );

    // A broken file changes nothing and says what is wrong.
    writeFileSync(file, stringify({ ...original, power: { mode: 'normal', timezone: 'Mars/Olympus' } }));
    await send('reload-config', { id: 'reload-2' });
    expect(await replyTo('reload-2')).toMatchObject({
      id: 'reload-2',
      ok: false,
      code: 'MFP_ERR_CONFIG',
      message: expect.stringContaining('power.timezone: got "Mars/Olympus"; expected an IANA time zone'),
      issues: [{ key: 'power.timezone', value: '"Mars/Olympus"', expected: expect.stringContaining('IANA') }],
    });
    // Nor does it show a secret: not a proxy's password, not the value of a misspelt key.
    writeFileSync(
      file,
      stringify({
        ...original,
        cloud: {
          ...original.cloud,
          tokn: 'typo-held-token-5b2c7d',
          proxy: 'socks5://o:proxy-pass-9f3e1@192.0.2.8:1080',
        },
      }),
    );
    await send('reload-config', { id: 'reload-3' });
    const refused = await replyTo('reload-3');
    expect(refused).toMatchObject({ ok: false, code: 'MFP_ERR_CONFIG' });
    expect(JSON.stringify(refused)).toContain('cloud.tokn');
    expect(JSON.stringify(refused)).toContain('socks5://o:***@192.0.2.8:1080');
    expect(JSON.stringify(refused)).not.toMatch(/typo-held-token-5b2c7d|proxy-pass-9f3e1/);
    await send('status-snapshot', { id: 'snap-after' });
    expect(await replyTo('snap-after')).toMatchObject({
      ok: true,
      result: { status: { powerMode: 'power-saving' }, telemetry: { power: { timeZone: 'Europe/Berlin' } } },
    });
  });
});

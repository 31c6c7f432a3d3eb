import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { DeviceSnapshot } from '../../../src/gateway/devices/device-monitor.ts';
import type { PowerMode } from '../../../src/gateway/keepalive/power-policy.ts';
import { RENEWAL_RETRY_MS } from '../../../src/gateway/mqtt/broker-connection.ts';
import { MqttChannel, type Telemetry } from '../../../src/gateway/mqtt/mqtt-channel.ts';
import type { PowerState } from '../../../src/gateway/power/power-scheduler.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import type { Advice } from '../../../src/protocol/messages.ts';
import { scratchDir } from '../../support/chain.ts';
import { eventually } from '../../support/cli-process.ts';
import { type MosquittoHandle, type MosquittoOptions, startMosquitto } from '../../support/mosquitto.ts';
import { deferredTeardown } from '../../support/teardown.ts';

/**
 * The gateway's MQTT channel in process against a real Mosquitto, on an injected clock: the
 * channel's own timers (reconnect backoff, telemetry and device-state pacing) move only when
 * the test advances the clock, so "it reconnected at once" cannot be a timer that happened to fire.
 */

const defer = deferredTeardown();
const PASSWORDS = { gw1: 'gw1-password', watcher: 'watcher-password' };
const NORMAL: PowerMode = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };
const POWER_SAVING: PowerMode = {
  name: 'power-saving',
  minIntervalMs: 3_600_000,
  changeThresholdMs: 1_800_000,
};
const BACKOFF_INITIAL_MS = 60_000;

const advice = (intervalMs: number): Advice => ({
  intervalMs,
  source: 'history',
  mcvtMs: intervalMs,
  lowerBoundMs: null,
  upperBoundMs: null,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: true,
});

const device = (
  id: string,
  state: 'idle' | 'printing' | 'stopped',
  reasons: string[] = [],
): DeviceSnapshot => ({
  id,
  driver: 'pjl',
  directCapable: false,
  status: { state, reasons, since: Date.UTC(2026, 0, 5), pageCount: 1200 },
  meters: {
    state,
    reasons,
    since: Date.UTC(2026, 0, 5),
    pageCount: 1201,
    supplies: [{ name: 'black toner', fraction: 0.4 }],
  },
  lastSeen: Date.UTC(2026, 0, 5),
});

interface World {
  advice: Advice | null;
  mode: PowerMode;
  devices: DeviceSnapshot[];
}

async function broker(options: Partial<MosquittoOptions> = {}): Promise<MosquittoHandle> {
  const b = await startMosquitto({ users: PASSWORDS, debugLog: true, ...options });
  defer(() => b.dispose());
  return b;
}

function channel(b: MosquittoHandle, world: World): { ch: MqttChannel; clock: ManualClock } {
  const { dir, cleanup } = scratchDir('mqtt-channel');
  defer(cleanup);
  const config = parseGatewayConfig({
    gateway: { id: 'gw1', stateDir: dir },
    cloud: { url: 'ws://127.0.0.1:9/push', token: 'unused-cloud-token-0123' },
    mqtt: { url: b.url, username: 'gw1', password: PASSWORDS.gw1, telemetry: { every: '5m', minGap: '10s' } },
  });
  const clock = new ManualClock();
  const power = (): PowerState => ({
    mode: world.mode,
    decision: { mode: world.mode.name, source: 'base', firedAt: null, schedule: null, overrideUntilMs: null },
    next: null,
    timeZone: 'UTC',
  });
  const ch = new MqttChannel({
    clock,
    logger: silentLogger(),
    gatewayId: 'gw1',
    software: 'test',
    settings: config.mqtt as NonNullable<typeof config.mqtt>,
    env: {},
    spoolFile: join(dir, 'log-spool.db'),
    // random() = 1: every wait is the full backoff ceiling, so the test knows it.
    backoff: { initialMs: BACKOFF_INITIAL_MS, maxMs: 3_600_000, stableAfterMs: 3_600_000, random: () => 1 },
    link: () => ({ lines: [], linesUp: 0, advice: world.advice, representative: false, probing: false }),
    power,
    tunnels: () => ({ active: 2, jobs: 1 }),
    devices: () => world.devices,
    actions: { setPowerOverride: () => ({ ok: true, state: power() }), clearPowerOverride: power },
    onPush: async () => {},
  });
  defer(() => ch.stop());
  return { ch, clock };
}

/** A second client that records what the gateway publishes. */
async function watcher(
  b: MosquittoHandle,
  topics: string[],
): Promise<{ client: MqttClient; seen: [string, string][] }> {
  const client = mqtt.connect(b.url, {
    username: 'watcher',
    password: PASSWORDS.watcher,
    reconnectPeriod: 100,
  });
  defer(() => client.endAsync(true));
  const seen: [string, string][] = [];
  client.on('message', (topic, payload) => seen.push([topic, payload.toString()]));
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, seen };
}

const sessionIs = (ch: MqttChannel, state: string, what: string) =>
  eventually(
    async () => ch.session,
    (s) => s.state === state,
    10_000,
    what,
    20,
  );

/**
 * Waits for the session to carry a keep-alive. A renewal waits for publications in flight and
 * retries on the gateway clock, so the clock moves on by one retry per look.
 */
const keepaliveBecomes = (ch: MqttChannel, clock: ManualClock, seconds: number, what: string) =>
  eventually(
    async () => {
      clock.advance(RENEWAL_RETRY_MS);
      return ch.session.keepalive;
    },
    (k) => k?.seconds === seconds,
    10_000,
    what,
    20,
  );

/** Keep-alives (seconds) the gateway's CONNECTs asked for, from Mosquitto's own log. */
const connectKeepalives = (b: MosquittoHandle): number[] =>
  [...b.log().matchAll(/as mfpgw-gw1 \(p5, c1, k(\d+)/g)].map((m) => Number(m[1]));

describe('MQTT keep-alive against a real Mosquitto', () => {
  it('asks for the learned interval, renews the session when it changes, and keeps "online" meanwhile', async () => {
    const b = await broker();
    const { seen } = await watcher(b, ['mfpgw/gw1/availability']);
    const world: World = { advice: advice(1_140_000), mode: NORMAL, devices: [] };
    const { ch, clock } = channel(b, world);
    ch.start();
    await sessionIs(ch, 'connected', 'the first session');
    expect(ch.session.keepalive).toEqual({ seconds: 1140, source: 'advice' });
    expect(connectKeepalives(b)).toEqual([1140]);

    // The cloud learned a stricter middlebox: a shorter keep-alive cannot wait for a reconnect.
    world.advice = advice(300_000);
    ch.noteChange();
    await keepaliveBecomes(ch, clock, 300, 'the renewed session');
    expect(connectKeepalives(b)).toEqual([1140, 300]);

    // Power saving: never keep alive more often than the mode's minimum.
    world.mode = POWER_SAVING;
    ch.noteChange();
    await keepaliveBecomes(ch, clock, 3600, 'the power-mode floor');
    expect(ch.session.keepalive).toEqual({ seconds: 3600, source: 'power-mode' });

    // Back to normal: the learned interval again.
    world.mode = NORMAL;
    ch.noteChange();
    await keepaliveBecomes(ch, clock, 300, 'the learned interval');
    expect(connectKeepalives(b)).toEqual([1140, 300, 3600, 300]);
    // Renewals end with a normal DISCONNECT: the broker never published the last will.
    expect(seen.map(([, v]) => v)).not.toContain('offline');
  });

  it('uses the Server Keep Alive of the CONNACK over what it asked for (Mosquitto max_keepalive)', async () => {
    // Mosquitto's smallest max_keepalive.
    const b = await broker({ maxKeepalive: 10 });
    const world: World = { advice: advice(1_140_000), mode: NORMAL, devices: [] };
    const { ch, clock } = channel(b, world);
    ch.start();
    await sessionIs(ch, 'connected', 'the session');
    expect(connectKeepalives(b)).toEqual([1140]);
    expect(ch.session.keepalive).toEqual({ seconds: 10, source: 'broker' });

    // The client pings on the broker's 10 s, not its own 1140 s: Mosquitto sees a PINGREQ
    // before it would drop a client silent for 1.5 × 10 s.
    await eventually(
      async () => b.log().match(/Received PINGREQ from mfpgw-gw1/g)?.length ?? 0,
      (pings) => pings >= 1,
      14_000,
      'a ping on the broker’s keep-alive',
      100,
    );
    expect(b.log()).not.toMatch(/mfpgw-gw1 has exceeded timeout/);
    expect(ch.session.state).toBe('connected');

    // A longer learned interval would only be cut down again: no renewal.
    world.advice = advice(1_800_000);
    ch.noteChange();
    clock.advance(RENEWAL_RETRY_MS);
    expect(ch.session.state).toBe('connected');
    expect(connectKeepalives(b)).toEqual([1140]);
  }, 30_000);
});

describe('MQTT reconnects', () => {
  it('waits out its backoff on the gateway clock, but reconnects at once on waking from power saving', async () => {
    const b = await broker();
    const world: World = { advice: null, mode: NORMAL, devices: [] };
    const { ch, clock } = channel(b, world);
    ch.start();
    await sessionIs(ch, 'connected', 'the first session');

    await b.stop();
    await sessionIs(ch, 'waiting', 'the channel to notice the broker is gone');
    expect(ch.session.retryAt).toBe(clock.now() + BACKOFF_INITIAL_MS);
    await b.start();
    // Going INTO power saving is no wake-up: the channel keeps waiting.
    world.mode = POWER_SAVING;
    ch.noteChange();
    expect(ch.session.state).toBe('waiting');
    clock.advance(BACKOFF_INITIAL_MS);
    await sessionIs(ch, 'connected', 'the reconnect when the backoff ran out');

    await b.stop();
    await sessionIs(ch, 'waiting', 'the second outage');
    expect(ch.session.retryAt).toBe(clock.now() + 2 * BACKOFF_INITIAL_MS);
    await b.start();
    const waitingSince = clock.now();
    world.mode = NORMAL;
    ch.noteChange();
    expect(ch.session.state).toBe('connecting');
    await sessionIs(ch, 'connected', 'the reconnect on waking');
    expect(clock.now()).toBe(waitingSince);
    expect(ch.session.reconnects).toBe(2);
  });
});

describe('Telemetry and device states against a real Mosquitto', () => {
  it('reports tunnels, devices and SNMP meters, and publishes each device state retained, paced', async () => {
    const b = await broker();
    const { seen } = await watcher(b, ['mfpgw/gw1/telemetry', 'mfpgw/gw1/devices/+/state']);
    const world: World = {
      advice: null,
      mode: NORMAL,
      devices: [device('mfp-1', 'idle'), device('mfp-2', 'idle')],
    };
    const { ch, clock } = channel(b, world);
    ch.start();
    await sessionIs(ch, 'connected', 'the session');
    clock.advance(0);
    const telemetry = await eventually(
      async () => seen.find(([t]) => t === 'mfpgw/gw1/telemetry'),
      (found) => found !== undefined,
      10_000,
      'telemetry',
      20,
    );
    const body = JSON.parse(telemetry?.[1] ?? '{}') as Telemetry;
    expect(body.tunnels).toEqual({ active: 2, jobs: 1 });
    expect(body.mqtt).toEqual({ keepaliveS: 60, keepaliveSource: 'config', reconnects: 0 });
    expect(body.devices[0]).toEqual({
      id: 'mfp-1',
      driver: 'pjl',
      state: 'idle',
      reasons: [],
      since: '2026-01-05T00:00:00.000Z',
      lastSeen: '2026-01-05T00:00:00.000Z',
      pageCount: 1200,
      meters: { state: 'idle', pageCount: 1201, supplies: [{ name: 'black toner', fraction: 0.4 }] },
    });

    // Two changes of mfp-1 within the minimum gap go out as one: its latest state.
    clock.advance(1000);
    world.devices = [device('mfp-1', 'printing'), device('mfp-2', 'idle')];
    ch.noteDevice();
    clock.advance(4000);
    world.devices = [device('mfp-1', 'stopped', ['media-jam']), device('mfp-2', 'idle')];
    ch.noteDevice();
    clock.advance(5000);
    const states = () =>
      seen
        .filter(([t]) => t.endsWith('/state'))
        .map(([t, v]) => [t, (JSON.parse(v) as { state: string }).state]);
    await eventually(
      async () => states(),
      (s) => s.length >= 3,
      10_000,
      'the coalesced device state',
      20,
    );
    // QoS 1 from one client keeps its order: a "printing" sent in between would show here.
    expect(states()).toEqual([
      ['mfpgw/gw1/devices/mfp-1/state', 'idle'],
      ['mfpgw/gw1/devices/mfp-2/state', 'idle'],
      ['mfpgw/gw1/devices/mfp-1/state', 'stopped'],
    ]);

    // Retained: a newcomer learns every device's state at once.
    const late = await watcher(b, ['mfpgw/gw1/devices/+/state']);
    await eventually(
      async () => late.seen.length,
      (n) => n === 2,
      10_000,
      'the retained states',
      20,
    );
    expect(JSON.parse(late.seen.find(([t]) => t.includes('mfp-1'))?.[1] ?? '{}')).toEqual({
      deviceId: 'mfp-1',
      driver: 'pjl',
      directCapable: false,
      state: 'stopped',
      reasons: ['media-jam'],
      since: '2026-01-05T00:00:00.000Z',
      message: null,
    });
  });
});

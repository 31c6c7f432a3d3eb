import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { type LogBatch, LogShipper } from '../../../src/gateway/mqtt/log-shipper.ts';
import { LogSpool } from '../../../src/gateway/mqtt/log-spool.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir } from '../../support/chain.ts';
import { startMosquitto } from '../../support/mosquitto.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();
const TOPIC = 'mfpgw/gw1/log';

function connected(client: MqttClient): Promise<void> {
  return client.connected
    ? Promise.resolve()
    : new Promise((resolve) => client.once('connect', () => resolve()));
}

describe('log batches over a real Mosquitto', () => {
  it('ships every spooled record, across a broker restart, and empties the spool only on PUBACK', async () => {
    const broker = await startMosquitto({ users: { gw1: 'gw1-password', reader: 'reader-password' } });
    defer(() => broker.dispose());
    const { dir, cleanup } = scratchDir('shipper');
    defer(cleanup);

    // A persistent reader session: the broker keeps its subscription across the restart.
    const reader = mqtt.connect(broker.url, {
      username: 'reader',
      password: 'reader-password',
      clientId: 'log-reader',
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 100,
    });
    defer(() => reader.endAsync(true));
    await connected(reader);
    await reader.subscribeAsync(TOPIC, { qos: 1 });
    const seen = new Set<number>();
    const waiters: Array<() => void> = [];
    reader.on('message', (_topic, payload) => {
      const batch = JSON.parse(payload.toString()) as LogBatch;
      for (const r of batch.records) seen.add(r.seq);
      for (const w of waiters.splice(0)) w();
    });
    const seenAll = async (n: number) => {
      while (seen.size < n) await new Promise<void>((resolve) => waiters.push(resolve));
    };

    const client = mqtt.connect(broker.url, {
      username: 'gw1',
      password: 'gw1-password',
      reconnectPeriod: 100,
    });
    defer(() => client.endAsync(true));
    await connected(client);
    const spool = new LogSpool(join(dir, 'log.db'), 1000);
    defer(() => spool.close());
    const shipper = new LogShipper({
      clock: new ManualClock(),
      logger: silentLogger(),
      spool,
      client,
      topic: TOPIC,
      gatewayId: 'gw1',
      batchSize: 4,
      batchEveryMs: 0,
    });
    shipper.start();
    defer(() => shipper.stop());

    for (let i = 0; i < 3; i++) shipper.append({ event: 'before', i });
    await seenAll(3);

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await broker.stop();
    await closed;
    for (let i = 0; i < 10; i++) shipper.append({ event: 'during-outage', i });
    expect(spool.size()).toBe(10);

    await broker.start();
    await seenAll(13);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    // The last PUBACK may trail the reader's copy by a moment: wait for the spool to drain.
    while (spool.size() > 0) await new Promise((r) => shipper.once('shipped', r));
    expect(spool.size()).toBe(0);
  });
});

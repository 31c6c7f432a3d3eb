import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { storeBackends } from '../../support/cloud-stores.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';
import { GATEWAY_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

let cloud: CloudServer | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

describe.each(storeBackends())('lines a hello reports lost, on $name', ({ fresh }) => {
  it('dates a loss reported a fractional number of ms ago to the whole ms, and welcomes the line', async () => {
    cloud = await startTestCloud({ store: await fresh() });
    const ws = new WebSocket(`ws://127.0.0.1:${cloud.port}/push`, {
      headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'x-mfp-gateway': 'gw1' },
    });
    await new Promise((r) => ws.once('open', r));
    // A line the cloud cannot accept is closed (1011) without a welcome.
    const welcome = Promise.race([
      nextMessage(ws),
      new Promise((resolve) => ws.once('close', (code) => resolve({ closed: code }))),
    ]);
    const lost = {
      connectionId: 'line-1',
      role: 'push',
      idleBeforeMs: 61_000.25,
      ageMs: 3_600_000.75,
      reason: 'error',
      policyLimited: false,
      agoMs: 1_234.5,
    };
    ws.send(JSON.stringify({ ...rawHello, lost: [lost] }));
    expect(await welcome).toMatchObject({ type: 'welcome' });
    const records = await cloud.store.recent('gw1', 0, 10);
    ws.close();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ connectionId: 'line-1', status: 'NG', failure: 'reset' });
    expect(Number.isInteger(records[0]?.time)).toBe(true);
  });
});

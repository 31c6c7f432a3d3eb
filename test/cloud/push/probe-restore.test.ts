import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type CloudServer, startCloudServer } from '../../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../../src/config/cloud-config.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';

const token = 't'.repeat(32);
const auth = { authorization: `Bearer ${token}`, 'x-mfp-gateway': 'gw1' };
let cloud: CloudServer;

beforeEach(async () => {
  cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: 'a'.repeat(32) },
      gateways: [{ id: 'gw1', token }],
      store: { path: ':memory:' },
    }),
    { logger: silentLogger() },
  );
});
afterEach(async () => {
  await cloud.stop();
});

/** Opens a line of gw1 and returns it with its welcome. */
async function openLine(connectionId: string, role: 'push' | 'probe') {
  const ws = new WebSocket(`ws://127.0.0.1:${cloud.port}/push`, { headers: auth });
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  const welcome = nextMessage(ws);
  ws.send(JSON.stringify({ ...rawHello, connectionId, role }));
  return { ws, welcome: await welcome };
}

describe('a probe line lost while probing (issue 15 item 9)', () => {
  it('is asked back over the next push line that proves itself alive with a keep-alive', async () => {
    const push = await openLine('line-0', 'push');
    expect(push.welcome).toMatchObject({ type: 'welcome', probe: true });
    const probe = await openLine('probe', 'probe');
    expect(probe.welcome).toMatchObject({ type: 'welcome' });
    const received: Record<string, unknown>[] = [];
    push.ws.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
    // The probe line is gone (a failed probe closed it; the restore asked for then was lost).
    probe.ws.terminate();
    let seq = 0;
    await vi.waitFor(
      () => {
        push.ws.send(
          JSON.stringify({
            type: 'keepalive',
            seq: seq++,
            powerMode: 'normal',
            keepaliveMs: 1000,
            policyLimited: false,
          }),
        );
        expect(received).toContainEqual(
          expect.objectContaining({ type: 'restore', connectionIds: ['probe'] }),
        );
      },
      { timeout: 10_000, interval: 200 },
    );
    push.ws.terminate();
  });
});

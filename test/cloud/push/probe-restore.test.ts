import { describe, expect, it, vi } from 'vitest';
import { cloudPerTest } from '../../support/cloud-per-test.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';

const site = cloudPerTest();

/** Opens a line of gw1 and returns it with its welcome. */
async function openLine(connectionId: string, role: 'push' | 'probe') {
  const ws = await site.openPush();
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

import { describe, expect, it } from 'vitest';
import { cloudPerTest } from '../../support/cloud-per-test.ts';
import { nextMessage, rawHello } from '../../support/raw-gateway.ts';

const site = cloudPerTest();

async function api<T>(path: string): Promise<T> {
  return (await site.api<T>(path)).body;
}

/** Opens a raw line that says hello with the given lost list; resolves with the welcome. */
async function hello(connectionId: string, lost: unknown[]): Promise<Record<string, unknown>> {
  const ws = await site.openPush();
  const welcome = nextMessage(ws);
  ws.send(JSON.stringify({ ...rawHello, connectionId, lost }));
  return welcome;
}

interface LogRecord {
  time: string;
  status: string;
  idleBeforeMs: number;
  connectionId: string;
}

const death = (idleBeforeMs: number, agoMs: number) => ({
  connectionId: 'line-1',
  role: 'push',
  idleBeforeMs,
  ageMs: 120_000,
  reason: 'keepalive-timeout',
  policyLimited: false,
  sessionId: 'the-dead-session',
  agoMs,
});

describe('lost lines reported in hellos', () => {
  it('records one death once, dated at the death, however many hellos report it (issue 15 item 5)', async () => {
    const before = Date.now();
    await hello('line-0', [death(22_000, 40_000)]);
    await hello('line-2', [death(22_000, 41_000)]);
    const { records } = await api<{ records: LogRecord[] }>('/api/v1/gateways/gw1/log?limit=50');
    const deaths = records.filter((r) => r.status === 'NG');
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({ connectionId: 'line-1', idleBeforeMs: 22_000 });
    expect(Date.parse(deaths[0]?.time ?? '')).toBeLessThanOrEqual(before - 39_000);
  });

  it('records nothing for a line replaced before a lifetime cap, or closed by the cloud (item 11)', async () => {
    await hello('line-0', [
      { ...death(20_000, 1_000), reason: 'lifetime-replace', sessionId: 'replaced' },
      { ...death(20_000, 1_000), reason: 'closed', sessionId: 'closed-by-cloud', connectionId: 'line-2' },
    ]);
    const { records } = await api<{ records: LogRecord[] }>('/api/v1/gateways/gw1/log?limit=50');
    expect(records.filter((r) => r.status === 'NG')).toEqual([]);
  });

  it('learns a timeout below keepalive.min, warns on the API and counts it in the metrics (item 4)', async () => {
    const welcome = await hello('line-0', [death(3_000, 100)]);
    expect(welcome).toMatchObject({ advice: { upperBoundMs: 3_000, intervalMs: 5_000 } });
    const state = await api<{ keepalive: { upperBoundMs: number; warning: string | null } }>(
      '/api/v1/gateways/gw1',
    );
    expect(state.keepalive.upperBoundMs).toBe(3_000);
    expect(state.keepalive.warning).toMatch(/keepalive\.min/);
    const metrics = await api<string>('/api/v1/metrics');
    expect(metrics).toMatch(/^mfpcloud_gateways_below_min 1$/m);
  });
});

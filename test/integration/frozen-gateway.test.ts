import { describe, expect, it } from 'vitest';
import { startCloud, startFirewall, startGatewayProcess } from '../support/chain.ts';
import { eventually, type LogLine } from '../support/cli-process.ts';
import { processTeardown } from '../support/teardown.ts';

interface GatewayState {
  keepalive: { adviceMs: number; source: string; lowerBoundMs: number | null; upperBoundMs: number | null };
}

interface StatusRecord {
  time: number;
  status: string;
  dataType: string;
  failure?: string | null;
}

/** The sim firewall forgets an idle flow after this, silently. */
const FIREWALL_IDLE = '3s';
/** Longer than the firewall's idle timeout and than the clock watch's tolerance (5 s). */
const FROZEN_MS = 8000;

const { track, scratch } = processTeardown('SIGKILL');

describe('a gateway process frozen longer than the firewall remembers its line (SIGSTOP, SIGCONT)', () => {
  it('reconnects at once on waking, before a keep-alive times out, and the cloud learns nothing from it', async () => {
    const dir = scratch('frozen-gateway');
    // Keep-alives every second, and no probing: all the cloud learns comes from the push line.
    const cloud = await startCloud(dir, { keepalive: { default: '1s', probe: false } });
    track(cloud.proc);
    const firewall = await startFirewall(cloud.port, FIREWALL_IDLE, 'silent');
    track(firewall.proc);
    const url = `ws://127.0.0.1:${firewall.port}/push`;
    const gateway = track(
      startGatewayProcess(
        dir,
        { url, token: cloud.gatewayToken },
        { cloud: { url, token: cloud.gatewayToken, connections: 1, probe: false } },
      ),
    );
    await gateway.waitFor((l) => l.msg === 'line open', 20_000, 'the push line to open');
    const records = async () =>
      (await cloud.api<{ records: StatusRecord[] }>('/api/v1/gateways/gw1/log?limit=500')).body.records;
    const failures = async () => (await records()).filter((r) => r.status === 'NG');
    // A few keep-alives answered: the cloud's advice rests on good evidence only.
    await eventually(
      records,
      (rs) => rs.filter((r) => r.dataType === 'keepalive' && r.status === 'OK').length >= 3,
      20_000,
      'three keep-alives answered',
    );
    const advice = async () => (await cloud.api<GatewayState>('/api/v1/gateways/gw1')).body.keepalive;
    const before = await advice();
    expect(await failures()).toEqual([]);

    const pid = gateway.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, FROZEN_MS)); // the freeze is the test's subject
    const woke = gateway.lines.length;
    process.kill(pid, 'SIGCONT');
    const since = (match: (l: LogLine) => boolean) =>
      gateway.waitFor((l) => gateway.lines.indexOf(l) >= woke && match(l), 20_000, 'a log line after waking');

    const away = await since(
      (l) => l.msg === 'the gateway was away: reconnecting its lines now (their losses are no evidence)',
    );
    expect(away).toMatchObject({ kind: 'stall', lines: ['line-0'] });
    expect(away.awayMs as number).toBeGreaterThan(FROZEN_MS / 2);
    const reopened = await since((l) => l.msg === 'line open');
    // Recovered without waiting for a keep-alive to go unanswered: the new line opened first.
    const after = gateway.lines.slice(woke, gateway.lines.indexOf(reopened));
    expect(after.filter((l) => l.msg === 'keep-alive unanswered: line is dead, reconnecting')).toEqual([]);
    // The new line carries keep-alives again, and the cloud's advice did not move.
    await eventually(
      async () => (await cloud.api<{ connections: unknown[] }>('/api/v1/gateways/gw1')).body.connections,
      (lines) => lines.length === 1,
      20_000,
      'the cloud to see one line again',
    );
    expect(await advice()).toEqual(before);
    expect(await failures()).toEqual([]);
  }, 90_000);
});

import { describe, expect, it } from 'vitest';
import { scratchDir, startCloud, startGatewayProcess } from '../support/chain.ts';
import type { CliProcess } from '../support/cli-process.ts';
import { eventually } from '../support/cli-process.ts';
import { deferredTeardown } from '../support/teardown.ts';

interface GatewayState {
  connections: { id: string; role: string; connectedSince: string }[];
  keepalive: { adviceMs: number; upperBoundMs: number | null };
}

interface LogRecord {
  status: 'OK' | 'NG';
  failure?: string;
  connectionId: string;
}

/** Longer than the gateway's answer timeout (1 s) several times over: every line gives up on the cloud. */
const STALL_MS = 4_000;

const defer = deferredTeardown();
const track = <T extends CliProcess>(proc: T): T => {
  defer(() => proc.stop());
  return proc;
};

describe('an overloaded cloud (issue 14: honest evidence under load)', () => {
  it('does not lower anyone’s advice when its event loop is blocked and its answers come late', async () => {
    const { dir, cleanup } = scratchDir('overload');
    defer(cleanup);
    // No middlebox at all: every loss in this test is the cloud's own doing.
    const cloud = await startCloud(dir, { keepalive: { probe: false } });
    track(cloud.proc);
    const gateway = track(
      startGatewayProcess(dir, { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken }),
    );
    const state = () => cloud.api<GatewayState>('/api/v1/gateways/gw1').then((r) => r.body);
    const before = await eventually(
      state,
      (s) => s.connections.filter((c) => c.role === 'push').length === 2,
      20_000,
      'both push lines up',
      200,
    );
    expect(before.keepalive.upperBoundMs).toBeNull();

    // Freeze the cloud process: a stall of its event loop (and of everything else in it).
    const pid = cloud.proc.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      await gateway.waitFor(
        (l) => l.msg === 'keep-alive unanswered: line is dead, reconnecting',
        STALL_MS * 3,
        'the gateway to give up on a line',
      );
      await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    // The gateway reconnects and reports its lines lost under unanswered keep-alives.
    const log = await eventually(
      async () =>
        (await cloud.api<{ records: LogRecord[] }>('/api/v1/gateways/gw1/log?limit=1000')).body.records,
      (records) => records.some((r) => r.status === 'NG'),
      30_000,
      'the losses to be reported',
      200,
    );
    const after = await eventually(
      state,
      (s) => s.connections.filter((c) => c.role === 'push').length === 2,
      20_000,
      'both push lines back',
      200,
    );
    const losses = log.filter((r) => r.status === 'NG');
    expect(losses.length).toBeGreaterThan(0);
    // Recorded, but as the cloud's own: none bounds the idle timeout, so the advice stands.
    expect(losses.every((r) => r.failure === 'cloud-late')).toBe(true);
    expect(after.keepalive.upperBoundMs).toBeNull();
    expect(after.keepalive.adviceMs).toBeGreaterThanOrEqual(before.keepalive.adviceMs);

    // The overload is logged and exported.
    expect(cloud.proc.lines.some((l) => String(l.msg).startsWith('cloud overloaded'))).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${cloud.port}/api/v1/metrics`, {
      headers: { authorization: `Bearer ${cloud.apiToken}` },
    }).then((r) => r.text());
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('mfpcloud_event_loop_stalls_total')).toBeGreaterThan(0);
    expect(value('mfpcloud_cloud_late_losses_total')).toBeGreaterThanOrEqual(losses.length);
  }, 90_000);
});

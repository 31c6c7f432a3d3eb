import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { PROBE_LINES } from '../../../src/cloud/learning/learning-config.ts';
import { SLOW_START } from '../../../src/config/keepalive-defaults.ts';
import { ClockWatch } from '../../../src/gateway/clock-watch/clock-watch.ts';
import type { SlowStart } from '../../../src/gateway/keepalive/keepalive-manager.ts';
import { LineSupervisor, probeLineId } from '../../../src/gateway/link/line-supervisor.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { GATEWAY_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

const defer = deferredTeardown();
const NORMAL = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };

/**
 * The in-process reference cloud and a supervisor of `connections` lines, both on one manual
 * clock; with `watch`, the supervisor asks a clock watch whether the gateway was away.
 */
async function setUp(
  connections: number,
  options: { watch?: boolean; probe?: boolean; slowStart?: SlowStart } = {},
) {
  const clock = new ManualClock();
  const watch = new ClockWatch({ clock, sinceBoot: () => clock.sinceBoot(), onJump: () => {} });
  if (options.watch) {
    watch.start();
    defer(() => watch.stop());
  }
  const cloud: CloudServer = await startTestCloud({}, { clock });
  defer(() => cloud.stop());
  const link = new LineSupervisor({
    clock,
    logger: silentLogger(),
    identity: { gatewayId: 'gw1', clientId: randomUUID(), token: GATEWAY_TOKEN, software: 'test' },
    transport: { url: `${cloud.url.replace('http', 'ws')}/push` },
    lines: {
      connections,
      staggerMs: 10_000,
      probeAllowed: options.probe ?? false,
      keepaliveDefaultMs: 50_000,
      answerTimeoutMs: 10_000,
      ...(options.slowStart ? { slowStart: options.slowStart } : {}),
      backoff: { initialMs: 1000, maxMs: 10_000, stableAfterMs: 60_000, authFailureDelayMs: 60_000 },
    },
    hello: { host: () => ({ domain: 'example.com', uptimeMs: 1000, cpuLoad: 0 }), mode: () => NORMAL },
    handlers: { onPush: async () => {} },
    ...(options.watch ? { awaySince: (t: number) => watch.awaySince(t) } : {}),
  });
  defer(() => link.stop());
  const stateOf = (id: string) => link.status().lines.find((l) => l.id === id)?.state;
  return { clock, cloud, link, stateOf };
}

/** Drops the cloud's side of gw1's line-0 under the gateway, and waits for the gateway to be back. */
async function dropLine(cloud: CloudServer, link: LineSupervisor) {
  const line = cloud.push.directory.lines('gw1').find((l) => l.connectionId === 'line-0');
  line?.terminate('dropped by the test');
  await vi.waitFor(() => expect(cloud.push.directory.lines('gw1').some((l) => l !== line)).toBe(true));
  await vi.waitFor(() => expect(link.status().linesUp).toBe(1));
}

const failures = async (cloud: CloudServer) =>
  (await cloud.store.recent('gw1', 0, 100)).filter((r) => r.status === 'NG');
/** The idle gaps of the keep-alives the cloud answered, oldest first. */
const keepaliveGaps = async (cloud: CloudServer) =>
  (await cloud.store.recent('gw1', 0, 100))
    .filter((r) => r.dataType === 'keepalive' && r.status === 'OK')
    .sort((a, b) => a.id - b.id)
    .map((r) => r.idleBeforeMs);

/** Lets the line sit idle for gapMs, then waits for its keep-alive to be answered. */
async function keepaliveAfter(clock: ManualClock, cloud: CloudServer, gapMs: number) {
  const before = (await keepaliveGaps(cloud)).length;
  clock.advance(gapMs);
  await vi.waitFor(async () => expect(await keepaliveGaps(cloud)).toHaveLength(before + 1));
}

describe('LineSupervisor on a manual clock', () => {
  it('keeps as many probe lines as the cloud asks for while it probes (issue 15 item 7)', async () => {
    const { cloud, link } = await setUp(1, { probe: true });
    link.start();
    await vi.waitFor(() => expect(cloud.push.directory.lines('gw1', 'probe')).toHaveLength(PROBE_LINES));
    expect(
      cloud.push.directory
        .lines('gw1', 'probe')
        .map((l) => l.connectionId)
        .sort(),
    ).toEqual(Array.from({ length: PROBE_LINES }, (_, i) => probeLineId(i)).sort());
    expect(link.status()).toMatchObject({ representative: true, probing: true });
  });

  it('opens the first line at once and the next one staggerMs later', async () => {
    const { clock, link, stateOf } = await setUp(2);
    link.start();
    await vi.waitFor(() => expect(stateOf('line-0')).toBe('open'));
    expect(stateOf('line-1')).toBe('idle');
    clock.advance(9_999);
    expect(stateOf('line-1')).toBe('idle');
    clock.advance(1);
    await vi.waitFor(() => expect(stateOf('line-1')).toBe('open'));
    expect(link.status().linesUp).toBe(2);
  });

  it('reopens only the lines the cloud names, at once, and counts the reconnect', async () => {
    const { link, stateOf } = await setUp(2);
    link.start();
    await vi.waitFor(() => expect(stateOf('line-0')).toBe('open'));
    expect(link.restore(['line-0'], 'the cloud saw it die')).toEqual(['line-0']);
    await vi.waitFor(() => expect(stateOf('line-0')).toBe('open'));
    const lines = link.status().lines;
    expect(lines.find((l) => l.id === 'line-0')?.reconnects).toBe(1);
    expect(lines.find((l) => l.id === 'line-1')?.reconnects).toBe(0);
  });

  it('says when a line changes state, and closes every line on stop', async () => {
    const { link, stateOf } = await setUp(1);
    const changes = vi.fn();
    link.on('change', changes);
    link.start();
    await vi.waitFor(() => expect(stateOf('line-0')).toBe('open'));
    expect(changes).toHaveBeenCalled();
    link.stop();
    expect(stateOf('line-0')).toBe('stopped');
    expect(link.status().linesUp).toBe(0);
  });

  it('keeps a line alive at the interval the cloud advised, on its clock', async () => {
    const { clock, link, stateOf } = await setUp(1);
    const line = () => link.status().lines[0];
    link.start();
    await vi.waitFor(() => expect(link.status().advice).not.toBeNull());
    expect(stateOf('line-0')).toBe('open');
    const interval = line()?.keepaliveMs as number;
    expect(interval).toBe(link.status().advice?.intervalMs);
    const before = line()?.lastTrafficAt as number;
    clock.advance(interval - 1);
    expect(line()?.lastTrafficAt).toBe(before);
    clock.advance(1);
    await vi.waitFor(() => expect(line()?.lastTrafficAt).toBeGreaterThan(before));
  });
  it('ramps a fresh line up while the advice is the default, and keeps alive at learned advice from the first', async () => {
    const { clock, cloud, link } = await setUp(1, { slowStart: SLOW_START });
    link.start();
    await vi.waitFor(() => expect(link.status().advice).not.toBeNull());
    expect(link.status().advice).toMatchObject({ source: 'default', converged: false });
    for (const gap of [3000, 6000, 12_000, 24_000, 25_000]) await keepaliveAfter(clock, cloud, gap);
    expect(await keepaliveGaps(cloud)).toEqual([3000, 6000, 12_000, 24_000, 25_000]);
    // A reset after 20 s of idle: the cloud learns U and advises below the default.
    clock.advance(20_000);
    await dropLine(cloud, link);
    await vi.waitFor(() => expect(link.status().advice?.source).not.toBe('default'));
    const advised = link.status().advice?.intervalMs as number;
    expect(advised).toBeLessThan(20_000);
    // The new line's first keep-alive comes at the advice, not at the first ramp gap.
    clock.advance(SLOW_START.firstGapMs);
    await keepaliveAfter(clock, cloud, advised - SLOW_START.firstGapMs);
    expect((await keepaliveGaps(cloud)).at(-1)).toBe(advised);
  });

  it('reports a line reset after an idle gap as evidence', async () => {
    const { clock, cloud, link } = await setUp(1, { watch: true });
    link.start();
    await vi.waitFor(() => expect(link.status().linesUp).toBe(1));
    clock.advance(20_000);
    await dropLine(cloud, link);
    expect(await failures(cloud)).toMatchObject([{ connectionId: 'line-0', failure: 'reset' }]);
  });

  it('marks a line lost across a freeze of the gateway as away, and the cloud learns nothing from it', async () => {
    const { clock, cloud, link } = await setUp(1, { watch: true });
    link.start();
    await vi.waitFor(() => expect(link.status().linesUp).toBe(1));
    clock.advance(20_000);
    // SIGSTOP: time passes, nothing of the gateway runs; the line dies meanwhile.
    clock.stall(120_000);
    await dropLine(cloud, link);
    expect(await failures(cloud)).toEqual([]);
  });

  it('blames a reset that answers a keep-alive on the gap before the keep-alive (issue 15 item 1)', async () => {
    const { clock, cloud, link } = await setUp(1);
    link.start();
    await vi.waitFor(() => expect(link.status().advice).not.toBeNull());
    const interval = link.status().lines[0]?.keepaliveMs as number;
    const cloudSide = cloud.push.directory.lines('gw1')[0];
    // The keep-alive leaves after `interval` idle, and the path answers it with a reset.
    clock.advance(interval);
    cloudSide?.terminate('the middlebox answers the keep-alive with a reset');
    await vi.waitFor(() => expect(cloud.push.directory.lines('gw1').some((l) => l !== cloudSide)).toBe(true));
    await vi.waitFor(async () => expect(await failures(cloud)).toHaveLength(1));
    const [death] = await failures(cloud);
    expect(death?.idleBeforeMs).toBe(interval);
  });

  it('dates a close long after an unanswered keep-alive, and takes the age, at the keep-alive', async () => {
    const { clock, cloud, link } = await setUp(1);
    link.start();
    await vi.waitFor(() => expect(link.status().advice).not.toBeNull());
    const interval = link.status().lines[0]?.keepaliveMs as number;
    const cloudSide = cloud.push.directory.lines('gw1')[0];
    const openedAge = cloudSide?.ageMs() as number;
    // A hop behind a proxy forgot the line: the keep-alive is swallowed, and the proxy closes the
    // line only at its own idle timeout, 3 s later (within the 10 s answer timeout).
    clock.advance(interval);
    const sentAt = clock.now();
    clock.advance(3000);
    cloudSide?.terminate('the proxy closes the line at its idle timeout');
    await vi.waitFor(() => expect(cloud.push.directory.lines('gw1').some((l) => l !== cloudSide)).toBe(true));
    await vi.waitFor(async () => expect(await failures(cloud)).toHaveLength(1));
    const [death] = await failures(cloud);
    expect(death).toMatchObject({
      idleBeforeMs: interval,
      time: sentAt,
      connectionAgeMs: openedAge + interval,
    });
  });
  it('takes tunnel data from the cloud as proof of life: an answer queued behind it does not kill the line', async () => {
    const { clock, cloud, link, stateOf } = await setUp(1);
    link.start();
    await vi.waitFor(() => expect(link.status().advice).not.toBeNull());
    const interval = link.status().lines[0]?.keepaliveMs as number;
    const cloudSide = cloud.push.directory.lines('gw1')[0];
    if (!cloudSide) throw new Error('no line at the cloud');
    // On a slow line the keep-alive's answer waits behind a job's data: here it never comes.
    const send = cloudSide.send.bind(cloudSide);
    cloudSide.send = (message, onWritten) => message.type === 'keepalive-ack' || send(message, onWritten);
    clock.advance(interval);
    // Meanwhile tunnel frames keep arriving (streams the gateway refuses: a frame each way).
    for (let second = 0; second < 15; second++) {
      await cloudSide.tunnels
        ?.openStream({ jobId: `job-${second}`, host: '10.0.0.7', port: 9100 })
        .catch(() => {});
      clock.advance(1000);
    }
    expect(stateOf('line-0')).toBe('open');
    expect(cloud.push.directory.lines('gw1')).toEqual([cloudSide]);
    expect(await failures(cloud)).toEqual([]);
  });
});

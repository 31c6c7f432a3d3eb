import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudHandle, secret, writeYaml } from '../support/chain.ts';
import { type CliProcess, eventually, listeningPort, startCli } from '../support/cli-process.ts';
import {
  fileSha256,
  getJob,
  jobReaches,
  postJob,
  sha256,
  startSimMfp,
  withJobLogs,
} from '../support/jobs.ts';
import { type NatsHandle, startNats } from '../support/nats.ts';
import { type PostgresHandle, startPostgres } from '../support/postgres.ts';
import { startBalancer } from '../support/round-robin-balancer.ts';
import { processTeardown } from '../support/teardown.ts';

/**
 * A fleet as deployed (docs/fleet.md): two `mfp-gateway cloud` processes on one PostgreSQL
 * and one nats-server, behind a round-robin TCP balancer without stickiness, and real
 * gateway processes with a sim MFP.
 */

const { track, scratch, defer } = processTeardown('SIGKILL');
const MB = 1024 * 1024;
let pg: PostgresHandle;
let nats: NatsHandle;

beforeAll(async () => {
  [pg, nats] = await Promise.all([startPostgres(), startNats()]);
});
afterAll(async () => {
  await Promise.all([pg?.dispose(), nats?.dispose()]);
});

interface GatewayView {
  connected: boolean;
  connections: { id: string }[];
  elsewhere: { id: string; node: string }[];
}

/** Starts one node of the fleet: `mfp-gateway cloud` with store.url and cluster.nats. */
async function startNode(
  dir: string,
  name: string,
  shared: { storeUrl: string; apiToken: string; gw1Token: string },
): Promise<CloudHandle> {
  const file = writeYaml(dir, `${name}.yaml`, {
    // Port 0, read back from the log, as startCloud does: a freePort() one could be taken by
    // another process before the node binds it.
    listen: { host: '127.0.0.1', port: 0 },
    api: { token: shared.apiToken },
    gateways: [{ id: 'gw1', token: shared.gw1Token }],
    store: { url: shared.storeUrl, maxConnections: 4 },
    keepalive: { default: '1s', min: '200ms', evidenceFloor: '100ms', probe: false },
    push: { ackTimeout: '1s', deadline: '10s' },
    cluster: { nats: nats.url, node: name, nodeTimeout: '2s' },
    log: { level: 'debug' },
  });
  const proc = startCli(['cloud', '--config', file], { MFPGW_NATS_TOKEN: nats.token });
  const port = await listeningPort(proc, 'cloud listening');
  const base = `http://127.0.0.1:${port}`;
  return {
    proc,
    port,
    apiToken: shared.apiToken,
    gatewayToken: shared.gw1Token,
    api: async (path, init = {}) => {
      const res = await fetch(`${base}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${shared.apiToken}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}

/** Starts `mfp-gateway run` for a gateway, its two lines to `url`. */
function startGateway(
  dir: string,
  id: string,
  url: string,
  token: string,
  devices: unknown[] = [],
): CliProcess {
  const file = writeYaml(dir, `${id}.yaml`, {
    gateway: { id, domain: `${id}.test.example.co.jp`, stateDir: join(dir, `${id}-state`) },
    cloud: { url, token, stagger: '300ms', probe: false },
    keepalive: { answerTimeout: '1s' },
    reconnect: { initialDelay: '200ms', maxDelay: '1s' },
    devices,
    log: { level: 'debug' },
  });
  return startCli(['run', '--config', file]);
}

const view = async (node: CloudHandle, id: string) =>
  (await node.api<GatewayView>(`/api/v1/gateways/${id}`)).body;

const pushVia = async (node: CloudHandle, id: string, n: number) =>
  (
    await node.api<{ delivered: boolean; connection: string }>(`/api/v1/gateways/${id}/push`, {
      method: 'POST',
      body: JSON.stringify({ type: 'job-notice', payload: { n } }),
    })
  ).body;

describe('a fleet of two cloud processes behind a balancer without stickiness', () => {
  it('serves a gateway whose lines sit on both nodes, and keeps it and its job when one node dies', async () => {
    const dir = scratch('fleet');
    const shared = { storeUrl: await pg.createDatabase(), apiToken: secret(), gw1Token: secret() };
    const a = await startNode(dir, 'node-a', shared);
    track(a.proc);
    const b = await startNode(dir, 'node-b', shared);
    track(b.proc);
    const balancer = await startBalancer([a.port, b.port]);
    defer(() => balancer.close());
    const spool = join(dir, 'spool');
    const mfp = await startSimMfp(spool, ['--read-rate', '1m']);
    track(mfp.proc);
    const gw1 = track(
      startGateway(dir, 'gw1', `ws://127.0.0.1:${balancer.port}/push`, shared.gw1Token, [
        { id: 'mfp1', driver: 'pjl', host: '127.0.0.1', port: mfp.port },
      ]),
    );
    const procs = { 'node-a': a.proc, 'node-b': b.proc, gw1, mfp: mfp.proc };

    // One line on each node, and each node knows the other's.
    for (const [node, other] of [
      [a, 'node-b'],
      [b, 'node-a'],
    ] as const) {
      await eventually(
        () => view(node, 'gw1'),
        (g) => g.connections.length === 1 && g.elsewhere.length === 1 && g.elsewhere[0]?.node === other,
        20_000,
        'gw1 to have one line on each node',
      );
    }

    // Pushes through either node's API are delivered, whichever node holds the line.
    for (let n = 0; n < 4; n++) {
      expect(await pushVia(n % 2 === 0 ? a : b, 'gw1', n)).toMatchObject({ delivered: true });
    }

    // A gateway added through node A's admin API connects through node B at once.
    const added = await a.api<{ token: string }>('/api/v1/gateways', {
      method: 'POST',
      body: JSON.stringify({ id: 'gw2' }),
    });
    expect(added.status).toBe(201);
    track(startGateway(dir, 'gw2', `ws://127.0.0.1:${b.port}/push`, added.body.token));
    await eventually(
      () => view(b, 'gw2'),
      (g) => g.connections.length === 2,
      20_000,
      'gw2 to connect through node B',
    );
    // ...and a push to it through node A goes over NATS to node B.
    await eventually(
      () => view(a, 'gw2'),
      (g) => g.elsewhere.length === 2,
      5_000,
      'node A to know gw2’s lines',
    );
    expect(await pushVia(a, 'gw2', 1)).toMatchObject({ delivered: true });

    // A job accepted by node A; node A (the first by name holding a line) carries it.
    const document = randomBytes(6 * MB);
    const posted = await postJob(a, { gateway: 'gw1', device: 'mfp1' }, document);
    expect(posted.status).toBe(202);
    await withJobLogs(procs, () =>
      eventually(
        () => getJob(a, posted.body.id),
        (j) => j.state === 'via-tunnel',
        10_000,
        'the job to be on a tunnel',
        50,
      ),
    );
    await a.proc.waitFor(
      (l) => l.msg === 'job goes through a tunnel' && l.jobId === posted.body.id,
      5_000,
      'node A to carry the job',
    );

    // Node A dies mid-transfer.
    a.proc.child.kill('SIGKILL');
    await a.proc.exited();

    // The gateway's line moves to node B; pushes go on; the job finishes once, byte-exact.
    await eventually(
      () => view(b, 'gw1'),
      (g) => g.connections.length === 2 && g.elsewhere.length === 0,
      20_000,
      'both of gw1’s lines to be on node B',
    );
    expect(await pushVia(b, 'gw1', 9)).toMatchObject({ delivered: true });
    const done = await withJobLogs(procs, () => jobReaches(b, posted.body.id, ['done', 'failed'], 40_000));
    expect(done).toMatchObject({ state: 'done', error: null, bytes: { tunnel: document.length } });
    // Node B finished what node A had on its tunnel when it died.
    expect(b.proc.lines).toContainEqual(expect.objectContaining({ msg: 'job done', jobId: posted.body.id }));
    const files = readdirSync(spool);
    expect(files).toHaveLength(1);
    expect(fileSha256(join(spool, files[0] as string))).toBe(sha256(document));
    expect(b.proc.lines).toContainEqual(
      expect.objectContaining({ msg: 'jobs of a departed node requeued', jobs: [posted.body.id] }),
    );
  });
});

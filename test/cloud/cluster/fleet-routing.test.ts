import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type CloudServer, startCloudServer } from '../../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../../src/config/cloud-config.ts';
import { type Logger, silentLogger } from '../../../src/log/logger.ts';
import { capturedLogs } from '../../support/captured-logs.ts';
import { type NatsHandle, startNats } from '../../support/nats.ts';
import { type PostgresHandle, startPostgres } from '../../support/postgres.ts';
import { rawHello } from '../../support/raw-gateway.ts';

/**
 * Two cloud nodes in this process on one PostgreSQL and one real nats-server, and raw
 * gateway lines opened to the node each test chooses: what crosses nodes (a push, a restore,
 * the representative) is seen message by message.
 */

const token = 't'.repeat(32);
const apiToken = 'a'.repeat(32);
let pg: PostgresHandle;
let nats: NatsHandle;
const nodes: CloudServer[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  [pg, nats] = await Promise.all([startPostgres(), startNats()]);
});
afterAll(async () => {
  await Promise.all([pg?.dispose(), nats?.dispose()]);
});
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function fleetOf(
  count: number,
  options: { names?: string[]; logger?: Logger } = {},
): Promise<CloudServer[]> {
  const url = await pg.createDatabase();
  const started: CloudServer[] = [];
  for (let i = 0; i < count; i++) {
    const node = await startCloudServer(
      parseCloudConfig({
        listen: { host: '127.0.0.1', port: 0 },
        api: { token: apiToken },
        gateways: [
          { id: 'gw1', token },
          { id: 'gw2', token },
        ],
        store: { url, maxConnections: 2 },
        keepalive: { probe: false },
        push: { ackTimeout: '1s', deadline: '10s' },
        cluster: {
          nats: nats.url,
          token: nats.token,
          node: options.names?.[i] ?? `node-${'ab'[i]}`,
          nodeTimeout: '2s',
        },
      }),
      { logger: options.logger ?? silentLogger() },
    );
    nodes.push(node);
    started.push(node);
  }
  return started;
}

/** A raw gateway line: every control message it receives is kept, in order. */
interface RawLine {
  ws: WebSocket;
  received: Record<string, unknown>[];
  /** Whether it acknowledges pushes. */
  acks: boolean;
}

async function openLine(node: CloudServer, gatewayId: string, connectionId: string): Promise<RawLine> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/push`, {
    headers: { authorization: `Bearer ${token}`, 'x-mfp-gateway': gatewayId },
  });
  sockets.push(ws);
  const line: RawLine = { ws, received: [], acks: true };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    line.received.push(message);
    if (message.type === 'push' && line.acks)
      ws.send(JSON.stringify({ type: 'push-ack', pushId: message.pushId }));
  });
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ ...rawHello, gatewayId, connectionId }));
  await vi.waitFor(() => expect(line.received.some((m) => m.type === 'welcome')).toBe(true));
  return line;
}

/** Calls a node's HTTP API over a real socket, as a client behind the balancer would. */
async function api(
  node: CloudServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${apiToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function push(node: CloudServer, gatewayId: string): Promise<Record<string, unknown>> {
  return (
    await api(node, 'POST', `/api/v1/gateways/${gatewayId}/push`, { type: 'job-notice', payload: { n: 1 } })
  ).body;
}

/** Waits until every node knows the lines the others hold. */
async function knows(node: CloudServer, gatewayId: string, lines: number): Promise<void> {
  await vi.waitFor(() => expect(node.push.directory.remoteLines(gatewayId)).toHaveLength(lines), {
    timeout: 5_000,
  });
}

describe('a fleet of two cloud nodes on PostgreSQL and NATS', () => {
  it('delivers a push through the node that holds the gateway’s only line', async () => {
    const [a, b] = (await fleetOf(2)) as [CloudServer, CloudServer];
    const line = await openLine(b, 'gw1', 'line-0');
    await knows(a, 'gw1', 1);
    expect(await push(a, 'gw1')).toMatchObject({ delivered: true, connection: 'line-0', attempts: 1 });
    expect(line.received.filter((m) => m.type === 'push')).toHaveLength(1);
  });

  it('retries a push on the line on the other node and has the failed line restored through it', async () => {
    const [a, b] = (await fleetOf(2)) as [CloudServer, CloudServer];
    const onA = await openLine(a, 'gw1', 'line-0');
    const onB = await openLine(b, 'gw1', 'line-1');
    await knows(a, 'gw1', 1);
    await knows(b, 'gw1', 1);
    onB.acks = false; // line-1's path is dead: B's push times out there
    const result = await push(b, 'gw1');
    expect(result).toMatchObject({ delivered: true, connection: 'line-0', attempts: 2 });
    // B closed line-1 and told the gateway, over line-0 on node A, to restore it.
    expect(onA.received).toContainEqual(
      expect.objectContaining({ type: 'restore', connectionIds: ['line-1'] }),
    );
    await vi.waitFor(() => expect(onB.ws.readyState).toBe(WebSocket.CLOSED));
  });

  it('elects one representative for a site whose gateways sit on different nodes', async () => {
    const [a, b] = (await fleetOf(2)) as [CloudServer, CloudServer];
    await openLine(a, 'gw1', 'line-0');
    await knows(b, 'gw1', 1);
    await openLine(b, 'gw2', 'line-0');
    await knows(a, 'gw2', 1);
    const flags = async (node: CloudServer) =>
      Promise.all(
        ['gw1', 'gw2'].map(
          async (id) => (await api(node, 'GET', `/api/v1/gateways/${id}`)).body.representative,
        ),
      );
    // Each node answers for the gateway it holds: exactly one of the two is the site's.
    const [onA] = await flags(a);
    const [, onB] = await flags(b);
    expect([onA, onB].filter(Boolean)).toHaveLength(1);
  });

  it('closes a gateway’s lines on every node when the admin API disables it on one', async () => {
    const [a, b] = (await fleetOf(2)) as [CloudServer, CloudServer];
    const onB = await openLine(b, 'gw1', 'line-1');
    await knows(a, 'gw1', 1);
    const res = await api(a, 'PATCH', '/api/v1/gateways/gw1', { disabled: true });
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(onB.ws.readyState).toBe(WebSocket.CLOSED));
    await knows(a, 'gw1', 0);
  });

  it('forgets the lines of a node that stopped, and pushes wait for the gateway elsewhere', async () => {
    const [a, b] = (await fleetOf(2)) as [CloudServer, CloudServer];
    await openLine(b, 'gw1', 'line-0');
    await knows(a, 'gw1', 1);
    await b.stop();
    nodes.splice(nodes.indexOf(b), 1);
    await knows(a, 'gw1', 0);
    const pending = push(a, 'gw1');
    await openLine(a, 'gw1', 'line-0');
    expect(await pending).toMatchObject({ delivered: true, connection: 'line-0' });
  });

  it('says so when two nodes run under one name', async () => {
    const { logger, logs } = capturedLogs();
    await fleetOf(2, { names: ['twin', 'twin'], logger });
    await vi.waitFor(() =>
      expect(logs.map((l) => l.msg)).toContain(
        'another node runs under this node’s name: give each node its own cluster.node',
      ),
    );
  });
});

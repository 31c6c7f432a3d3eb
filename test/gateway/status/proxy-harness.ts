import WebSocket from 'ws';
import type { Clock } from '../../../src/clock/clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { DirectRelay } from '../../../src/gateway/push-proxy/direct-relay.ts';
import type { ProxiedDeviceStatus } from '../../../src/gateway/push-proxy/proxied-device.ts';
import { PushProxy } from '../../../src/gateway/push-proxy/push-proxy.ts';
import { type ActivitySources, watchActivity } from '../../../src/gateway/status/activity-watch.ts';
import { gatewayProviders, type ShownProxyStatus } from '../../../src/gateway/status/gateway-providers.ts';
import type { StatusProviders } from '../../../src/gateway/status/status-model.ts';
import { EventBus } from '../../../src/lifecycle/event-bus.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir } from '../../support/chain.ts';
import { startTestPage } from './page-harness.ts';

/** When the tests' clocks start. */
export const T0 = Date.UTC(2026, 0, 5);

/** The token each test device proves its id with. */
export const tokenOf = (deviceId: string): string => `token-of-${deviceId}-0123456789`;

/**
 * A real push proxy on loopback for the given devices, without push lines (its devices'
 * streams to the cloud stay down): what the status page reads of it is all LAN-side.
 */
export async function startProxy(
  clock: Clock,
  defer: (fn: () => unknown) => void,
  deviceIds: string[],
  lanKeepalive = '1m',
): Promise<{ proxy: PushProxy; port: number }> {
  const { dir, cleanup } = scratchDir('status-proxy');
  defer(cleanup);
  const config = parseGatewayConfig({
    gateway: { id: 'gw1', stateDir: dir },
    cloud: { url: 'ws://127.0.0.1:1/push', token: 't'.repeat(20) },
    pushProxy: {
      listen: { host: '127.0.0.1', port: 0 },
      devices: deviceIds.map((id) => ({ id, token: tokenOf(id) })),
      lanKeepalive,
    },
  });
  if (!config.pushProxy) throw new Error('pushProxy did not parse');
  const proxy = new PushProxy({
    settings: config.pushProxy,
    stateDir: dir,
    open: () => undefined,
    clock,
    logger: silentLogger(),
    backoff: { initialMs: 1000, maxMs: 10_000 },
    relay: new DirectRelay({
      listenHost: '127.0.0.1',
      relayUrl: undefined,
      agentFor: () => undefined,
      ca: undefined,
      clock: clock,
      logger: silentLogger(),
    }),
  });
  const port = await proxy.start();
  defer(() => proxy.stop());
  return { proxy, port };
}

/** The page's providers of a daemon whose only part is the push proxy. */
export function proxyProviders(clock: Clock, proxy: PushProxy): StatusProviders {
  return gatewayProviders({
    clock,
    logger: silentLogger(),
    deviceMonitor: { snapshots: () => [] },
    tunnels: { activeTunnels: () => [], totals: () => ({ opened: 0, bytesToDevice: 0, bytesFromDevice: 0 }) },
    jobs: { list: () => [], totals: { done: 0, switched: 0, failed: 0 } },
    journal: { tunnels: () => [], deviceLogs: () => [] },
    pushProxy: proxy,
  });
}

/**
 * The status page (no login, the given `status` settings) of a daemon whose only part is a
 * real push proxy, watched as the daemon watches it (a check per `tickMs`).
 */
export async function startProxyPage(
  clock: Clock,
  defer: (fn: () => unknown) => void,
  deviceIds: string[],
  status: Record<string, unknown>,
  tickMs?: number,
): Promise<{ proxy: PushProxy; port: number; url: string }> {
  const { proxy, port } = await startProxy(clock, defer, deviceIds);
  const { url, page } = await startTestPage(clock, { auth: 'none', ...status }, defer, {
    providers: proxyProviders(clock, proxy),
  });
  const sources: ActivitySources = {
    clock,
    events: new EventBus(silentLogger()),
    owner: 'status-page',
    tunnels: { activeCount: 0 },
    jobs: { activeJobs: 0 },
    pushProxy: proxy,
  };
  defer(watchActivity(sources, () => page.noteChange(), tickMs));
  return { proxy, port, url };
}

/** A LAN device speaking the push proxy protocol by hand: connected and welcomed, or refused. */
export async function lanDevice(
  port: number,
  deviceId: string,
  defer: (fn: () => unknown) => void,
  token = tokenOf(deviceId),
): Promise<{ ws: WebSocket; send: (message: unknown) => void; answer: Record<string, unknown> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/push-proxy`);
  defer(() => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const send = (message: unknown) => ws.send(JSON.stringify(message));
  const answered = new Promise<Record<string, unknown>>((resolve) =>
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>)),
  );
  send({ type: 'hello', v: 1, deviceId, token, software: 'sim-mfp 1.0' });
  return { ws, send, answer: await answered };
}

/** A proxied device's status as the proxy reports it, never seen since start unless told otherwise. */
export function proxied(id: string, extra: Partial<ProxiedDeviceStatus> = {}): ProxiedDeviceStatus {
  return {
    id,
    state: 'gone',
    since: T0,
    remoteAddress: null,
    service: null,
    software: null,
    keepaliveMs: 300_000,
    keepalives: { count: 0, shortestGapMs: null, lastAt: null },
    held: 0,
    pushes: { delivered: 0, held: 0, expired: 0, refused: 0 },
    bytes: { fromDevice: 0, toDevice: 0, upstreamIn: 0, upstreamOut: 0 },
    upstream: {
      state: 'down',
      line: null,
      since: T0,
      reopens: 0,
      bytesIn: 0,
      bytesOut: 0,
      droppedStatuses: 0,
    },
    ...extra,
  };
}

/** The proxy's status as the page reads it: listening, no refusals, nothing held. */
export function proxyStatus(
  devices: ProxiedDeviceStatus[],
  extra: Partial<ShownProxyStatus> = {},
): ShownProxyStatus {
  return {
    listening: { host: '0.0.0.0', port: 8081 },
    keepaliveMs: 300_000,
    refused: 0,
    held: { pushes: 0, bytes: 0 },
    devices,
    ...extra,
  };
}

import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SystemClock } from '../../src/clock/system-clock.ts';
import { TUNNEL_MUX_DEFAULTS, TunnelMux } from '../../src/tunnel/tunnel-mux.ts';
import { wsTunnelTransport } from '../../src/tunnel/ws-transport.ts';
import type { MuxTuning } from './mux-pair.ts';

/**
 * A real WebSocket pair on loopback, configured like the push lines (no compression),
 * with messages capped at the tunnel's batch size.
 */
export async function wsPair(): Promise<{
  server: WebSocket;
  client: WebSocket;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: TUNNEL_MUX_DEFAULTS.maxMessageBytes,
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${port}/push`, {
    perMessageDeflate: false,
    maxPayload: TUNNEL_MUX_DEFAULTS.maxMessageBytes,
  });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const server = await accepted;
  const close = async () => {
    client.terminate();
    server.terminate();
    await new Promise((resolve) => wss.close(resolve));
  };
  return { server, client, close };
}

/** A cloud mux on the server end and a gateway mux on the client end of a real WebSocket pair. */
export async function wsMuxPair(tuning: MuxTuning = {}) {
  const pair = await wsPair();
  const clock = new SystemClock();
  const cloud = new TunnelMux({
    transport: wsTunnelTransport(pair.server),
    clock,
    side: 'server',
    ...tuning,
  });
  const gateway = new TunnelMux({
    transport: wsTunnelTransport(pair.client),
    clock,
    side: 'client',
    ...tuning,
  });
  return { ...pair, cloud, gateway };
}

/** Polls until cond() holds; fails after timeoutMs. */
export function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return vi.waitFor(
    () => {
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 5 },
  );
}

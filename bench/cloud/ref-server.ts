/**
 * The reference for bench:cloud: a bare `ws` server that holds the same push lines and answers
 * the same keep-alives as the cloud, and does nothing else (no status log, no learning, no
 * API): what holding the connections costs by itself. It checks each gateway's token (an
 * HMAC of its id, as the bench derives them), answers hello with a welcome carrying the
 * default advice and every keep-alive with its ack. Told { keepaliveMs } (IPC) it advises that
 * interval from then on: the bench gives it the cloud's, so both see the same keep-alive traffic.
 *
 *   fork('ref-server.ts', [], { env: { BENCH_RUN_SECRET, BENCH_KEEPALIVE_MS } }) → sends { port }
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const secret = process.env.BENCH_RUN_SECRET ?? '';
const keepaliveMs = Number(process.env.BENCH_KEEPALIVE_MS);
const advice = {
  intervalMs: keepaliveMs,
  source: 'default',
  mcvtMs: null,
  lowerBoundMs: null,
  upperBoundMs: null,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: false,
};

const wss = new WebSocketServer({ noServer: true });
const server = createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const id = String(req.headers['x-mfp-gateway'] ?? '');
  const token = createHmac('sha256', secret).update(id).digest('hex');
  if (req.headers.authorization !== `Bearer ${token}`) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.once('message', (data: Buffer) => {
      const hello = JSON.parse(data.toString()) as { connectionId: string };
      ws.send(
        JSON.stringify({
          type: 'welcome',
          connectionId: hello.connectionId,
          advice,
          representative: false,
          probe: false,
          tookOver: false,
        }),
      );
      ws.on('message', (frame: Buffer) => {
        const message = JSON.parse(frame.toString()) as { type: string; seq?: number };
        if (message.type === 'keepalive') {
          ws.send(JSON.stringify({ type: 'keepalive-ack', seq: message.seq, advice, probe: false }));
        }
      });
    });
  });
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const address = server.address();
  if (address && typeof address !== 'string') process.send?.({ port: address.port });
});
process.on('message', (message: { keepaliveMs?: unknown }) => {
  if (typeof message.keepaliveMs === 'number' && message.keepaliveMs > 0)
    advice.intervalMs = message.keepaliveMs;
});
process.on('disconnect', () => process.exit(0));
// An exit, not the signal's default death: node --cpu-prof (bench:cloud --cpu-prof) writes the
// profile only when the process exits.
process.on('SIGTERM', () => process.exit(0));

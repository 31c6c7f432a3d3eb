/**
 * Test harness: a plain TCP load balancer with no stickiness, as in front of a fleet of cloud
 * nodes. Each new connection goes to the next backend in turn; a backend that refuses is
 * skipped for that connection (a health check's effect, without its delay).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  readonly port: number;
  /** Which backend port each accepted connection went to, in order. */
  readonly routed: number[];
  close(): Promise<void>;
}

export async function startBalancer(backends: readonly number[]): Promise<Balancer> {
  let next = 0;
  const routed: number[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const first = next++ % backends.length;
    const tryBackend = (attempt: number) => {
      if (attempt >= backends.length) {
        client.destroy();
        return;
      }
      const port = backends[(first + attempt) % backends.length] as number;
      const upstream = connect({ host: '127.0.0.1', port });
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryBackend(attempt + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        routed.push(port);
        open.add(upstream);
        upstream.on('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('balancer: no address');
  return {
    port: address.port,
    routed,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

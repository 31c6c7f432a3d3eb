import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** A site built on demand: what the server hands its requests and upgrades to. */
export interface LoadedSite {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/** The deferred site of a server. */
export interface DeferredSite {
  /** Whether the site has been asked for (loaded or loading). */
  readonly requested: boolean;
  /** Closes the site if it was built. */
  close(): Promise<void>;
}

/**
 * Serves a listening server's requests with a site built on its first request or upgrade.
 * The status page's web stack (Fastify, its schema compilers, prom-client) is a few MB of
 * a 512 MB board's memory that most sites never look at; the daemon pays for it only once
 * someone does. Requests that arrive while it loads wait for it; if it cannot be built,
 * they get 503 and `onError` hears why, once.
 */
export function deferSite(
  server: Server,
  load: () => Promise<LoadedSite>,
  onError: (err: Error) => void,
): DeferredSite {
  let site: Promise<LoadedSite> | undefined;
  const get = () => {
    site ??= load().catch((err: Error) => {
      onError(err);
      throw err;
    });
    return site;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    get().then(
      (s) => s.request(req, res),
      () => {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '60' });
        res.end('the status page is unavailable; the gateway log says why\n');
      },
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    get().then(
      (s) => s.upgrade(req, socket, head),
      () => socket.destroy(),
    );
  });
  return {
    get requested() {
      return site !== undefined;
    },
    async close() {
      if (!site) return;
      const built = await site.catch(() => null);
      await built?.close();
    },
  };
}

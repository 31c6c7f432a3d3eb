import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type GuardLog, guardRequest, guardUpgrade } from '../../http/guarded-handler.ts';

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
  log: GuardLog,
): DeferredSite {
  let site: Promise<LoadedSite> | undefined;
  const get = () => {
    site ??= load().catch((err: Error) => {
      onError(err);
      throw err;
    });
    return site;
  };
  // Guarded (issue 13): an error of the site's handlers is an error answer and a log line.
  server.on(
    'request',
    guardRequest(log, (req: IncomingMessage, res: ServerResponse) =>
      get().then(
        (s) => s.request(req, res),
        () => {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '60' });
          res.end('the status page is unavailable; the gateway log says why\n');
        },
      ),
    ),
  );
  server.on(
    'upgrade',
    guardUpgrade(log, (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      get().then(
        (s) => s.upgrade(req, socket, head),
        () => socket.destroy(),
      ),
    ),
  );
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

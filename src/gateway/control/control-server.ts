import { chmod, unlink } from 'node:fs/promises';
import { guardRequest } from '../../http/guarded-handler.ts';
import type { Logger } from '../../log/logger.ts';
import { http } from '../../runtime/node-http.ts';

/** The control socket's name in the state directory. */
export const CONTROL_SOCKET = 'control.sock';
/** What `GET` on this path returns: the daemon's report (daemon-report.ts). */
export const REPORT_PATH = '/v1/status';

export interface ControlServerOptions {
  /** The socket's path: `<stateDir>/control.sock`. */
  path: string;
  logger: Logger;
  /** The daemon's state now, as JSON-ready data. */
  report: () => unknown;
}

/** The running control server. */
export interface ControlServer {
  /** Resolves once it listens, or false when it could not (logged; the daemon runs on). */
  readonly ready: Promise<boolean>;
  stop(): Promise<void>;
}

/** True when something answers on the socket: another daemon uses this state directory. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: path, path: REPORT_PATH, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * The daemon's local API (`mfp-gateway status` reads it, like `cloudflared tunnel info`):
 * read-only JSON on a Unix socket in the state directory. No password, because only root
 * and the service's user and group can open it (mode 0660 in a 0750 directory); nothing
 * on the network reaches it.
 */
export function startControlServer(options: ControlServerOptions): ControlServer {
  const log = options.logger.child({ part: 'control' });
  const server = http.createServer(
    guardRequest(log, (req, res) => {
      if (req.method !== 'GET' || req.url !== REPORT_PATH) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      // The report first: a part that fails to report is a 500 answer, not a cut connection.
      const report = JSON.stringify(options.report());
      res.writeHead(200, { 'content-type': 'application/json' }).end(report);
    }),
  );
  const ready = (async () => {
    if (await answers(options.path)) {
      log.error(
        { socket: options.path },
        'another gateway answers on the control socket of this stateDir; `mfp-gateway status` reaches that one',
      );
      return false;
    }
    // A socket file left by a daemon that was killed: nobody listens on it any more.
    await unlink(options.path).catch(() => {});
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.path, () => resolve());
      });
      await chmod(options.path, 0o660);
      return true;
    } catch (err) {
      log.error(
        { err: (err as Error).message, socket: options.path },
        'control socket cannot listen; `mfp-gateway status` will not reach this gateway',
      );
      return false;
    }
  })();
  return {
    ready,
    async stop() {
      if (!(await ready)) return;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

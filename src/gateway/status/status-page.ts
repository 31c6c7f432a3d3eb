import type { Server } from 'node:http';
import { http } from '../../runtime/node-http.ts';
import { AllowedHosts } from './allowed-hosts.ts';
import { missingAssets } from './assets.ts';
import { deferSite } from './deferred-site.ts';
import { KeepaliveHistory } from './keepalive-history.ts';
import { LiveUpdates } from './live-updates.ts';
import { LogRing, teeLogger } from './log-ring.ts';
import { PasswordStore } from './password-store.ts';
import { serverUrl } from './server-url.ts';
import { SetupCode } from './setup-code.ts';
import { buildSections, buildSnapshot, type StatusSources } from './status-model.ts';
import type { StatusPageContext } from './status-page-context.ts';

/** Log lines the page keeps. */
const LOG_LINES = 500;
/** Browsers that may watch live at once. */
const MAX_VIEWERS = 16;
/** How long a client may take to send its request headers, and its whole request (forms are small). */
export const REQUEST_HEADERS_MS = 10_000;
export const REQUEST_MS = 30_000;

/** The running status page. */
export interface StatusPage {
  /** Resolves with the page's URL once it listens, or null when it could not (logged). */
  readonly ready: Promise<string | null>;
  /** Something the page shows changed (the link's changes are watched already). */
  noteChange(): void;
  stop(): Promise<void>;
}

/**
 * The gateway's local web status page and machine endpoints (status-app.ts). It listens
 * from the start and keeps what it shows over time (the log lines, the keep-alive history);
 * the web site itself is built on the first request (deferred-site.ts). A port it cannot get
 * is logged and the gateway runs on without it.
 */
export function startStatusPage(ctx: StatusPageContext): StatusPage {
  const { clock, settings } = ctx;
  // First, before anything is attached: without its files there is no page to serve.
  const missing = missingAssets();
  if (missing.length > 0) throw new Error(`status page files missing: ${missing.join(', ')}`);
  const log = ctx.logger.child({ part: 'status' });
  const logs = new LogRing(LOG_LINES);
  teeLogger(ctx.logger, logs);
  const sources: StatusSources = {
    ...ctx.sources,
    link: () => ctx.link.status(),
    powerModes: ctx.powerModes,
    powerOverride: ctx.power !== undefined,
  };
  const history = new KeepaliveHistory(clock);
  history.observe(sources.link());
  const live = new LiveUpdates({
    clock,
    logger: log,
    minGapMs: settings.live.minGap,
    refreshMs: settings.live.refresh,
    maxClients: MAX_VIEWERS,
    snapshot: () => buildSnapshot(sources, history, logs, clock),
    sections: () => buildSections(sources, history, clock),
    history,
    logs,
  });
  const onLinkChange = () => {
    history.observe(sources.link());
    live.noteChange();
  };
  ctx.link.on('change', onLinkChange);
  const stopLogFeed = logs.onLine(() => live.noteChange());

  // At start, not with the site: the setup code is printed (and its window runs) from boot.
  const passwords = new PasswordStore({ configuredHash: settings.passwordHash, stateDir: sources.stateDir });
  const setupCode =
    settings.auth === 'password' && passwords.needsPassword()
      ? new SetupCode({ stateDir: sources.stateDir, clock, windowMs: settings.setupWindow, logger: log })
      : null;
  const hosts = new AllowedHosts({ names: settings.hostnames });

  // A request must be in within these times: a LAN client trickling its headers or form
  // (slowloris) does not hold a socket for Node's defaults of 1 and 5 minutes.
  const server = http.createServer({
    headersTimeout: REQUEST_HEADERS_MS,
    requestTimeout: REQUEST_MS,
    connectionsCheckingInterval: 5000,
  });
  const site = deferSite(
    server,
    async () =>
      (await import('./status-app.ts')).buildStatusApp(server, {
        ctx,
        sources,
        history,
        logs,
        live,
        log,
        passwords,
        setupCode,
        hosts,
      }),
    (err) => log.error({ err: err.message }, 'status page cannot load; the gateway runs on without it'),
    log,
  );
  if (settings.auth === 'none') {
    log.warn(
      { listen: settings.listen },
      'status page WITHOUT LOGIN (status.auth: none): anyone who can reach it sees the gateway’s state; use this in a lab only',
    );
  }
  const ready = listen(server, settings.listen)
    .then(() => {
      const url = serverUrl(server);
      log.info({ url, auth: settings.auth }, 'status page listening');
      return url;
    })
    .catch((err: Error) => {
      log.error(
        { err: err.message, listen: settings.listen },
        'status page cannot listen (check status.listen); the gateway runs on without it',
      );
      return null;
    });

  return {
    ready,
    noteChange: () => live.noteChange(),
    async stop() {
      ctx.link.off('change', onLinkChange);
      stopLogFeed();
      live.stop();
      await ready;
      await site.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, at: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Clock } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import type { LinkSource } from '../systemd/service-notifier.ts';
import { pageShell } from './assets.ts';
import { type AuthGate, registerAuth } from './auth.ts';
import { appUrl, createStatusApp } from './http-server.ts';
import { KeepaliveHistory } from './keepalive-history.ts';
import { LiveUpdates } from './live-updates.ts';
import { LogRing, teeLogger } from './log-ring.ts';
import { LoginThrottle } from './login-throttle.ts';
import { createMetrics } from './metrics.ts';
import { escapeHtml } from './pages.ts';
import { PasswordStore } from './password-store.ts';
import { type PowerControl, registerPowerOverride } from './power-override-routes.ts';
import { SessionStore } from './session-store.ts';
import { buildSections, buildSnapshot, type StatusSources } from './status-model.ts';

/** The `status` section of the gateway config. */
export type StatusSettings = GatewayConfig['status'];

/** Path of the live-update WebSocket. */
export const LIVE_PATH = '/api/live';
/** Log lines the page keeps. */
const LOG_LINES = 500;
/** Browsers that may watch live at once. */
const MAX_VIEWERS = 16;

/** The link as the page needs it: its state and its change events (as systemd's notifier does). */
export type LinkEvents = LinkSource;

export interface StatusPageContext {
  clock: Clock;
  /** The daemon's logger: its lines (and its children's) also feed the page's log view. */
  logger: Logger;
  settings: StatusSettings;
  sources: Omit<StatusSources, 'link' | 'powerModes' | 'powerOverride'>;
  link: LinkEvents;
  /** Names of the configured power modes (the power-mode metric, the override's choices). */
  powerModes: readonly string[];
  /** Where the page's power override goes; without it the page only shows the mode. */
  power?: PowerControl;
}

/** The running status page. */
export interface StatusPage {
  /** Resolves with the page's URL once it listens, or null when it could not (logged). */
  readonly ready: Promise<string | null>;
  /** Something the page shows changed (the link's changes are watched already). */
  noteChange(): void;
  stop(): Promise<void>;
}

/**
 * The gateway's local web status page and machine endpoints: GET /health, /ready,
 * /metrics (no login), the page, GET /api/status and the live WebSocket (login). Listens
 * in the background; a port it cannot get is logged and the gateway runs on without it.
 */
export function startStatusPage(ctx: StatusPageContext): StatusPage {
  const { clock, settings } = ctx;
  // First, before anything is attached: without its files there is no page to serve.
  const { app, missingAssets } = createStatusApp();
  if (missingAssets.length > 0) throw new Error(`status page files missing: ${missingAssets.join(', ')}`);
  const shell = pageShell();
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
  const metrics = createMetrics(sources, history, ctx.powerModes);
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

  const gate = registerAuth(app, {
    mode: settings.auth,
    gatewayId: sources.gatewayId,
    passwords: new PasswordStore({ configuredHash: settings.passwordHash, stateDir: sources.stateDir }),
    sessions: new SessionStore(clock, settings.sessionTtl),
    throttle: new LoginThrottle({
      clock,
      freeAttempts: settings.login.freeAttempts,
      baseDelayMs: settings.login.delay,
      maxDelayMs: settings.login.maxDelay,
    }),
    logger: log,
  });

  app.get('/health', async () => ({ ok: true, uptimeMs: clock.now() - sources.startedAt }));
  app.get('/ready', async (_req, reply) => {
    const link = sources.link();
    const ready = link.linesUp > 0;
    return reply.code(ready ? 200 : 503).send({ ready, linesUp: link.linesUp });
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/api/status', async () => buildSnapshot(sources, history, logs, clock));
  if (ctx.power) {
    registerPowerOverride(app, {
      clock,
      logger: log,
      gate,
      auth: settings.auth,
      power: ctx.power,
      onChange: () => live.noteChange(),
    });
  }
  app.get('/', async (req, reply) => {
    const csrf = gate.session(req)?.csrfToken ?? '';
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(shell.replace('{{csrf}}', escapeHtml(csrf)).replace('{{auth}}', settings.auth));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    upgrade(req, socket, head, wss, gate, (ws) => live.attach(ws, gate.session(req)?.expiresAt ?? null)),
  );

  if (settings.auth === 'none') {
    log.warn(
      { listen: settings.listen },
      'status page WITHOUT LOGIN (status.auth: none): anyone who can reach it sees the gateway’s state; use this in a lab only',
    );
  }
  const ready = app
    .listen({ host: settings.listen.host, port: settings.listen.port })
    .then(() => {
      const url = appUrl(app);
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
      wss.close();
      await ready;
      await app.close();
    },
  };
}

/**
 * Accepts the live WebSocket for a logged-in browser of this very page: the session
 * cookie must be valid and the Origin must be this host (no cross-site WebSocket).
 */
function upgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  wss: WebSocketServer,
  gate: AuthGate,
  accept: (ws: import('ws').WebSocket) => void,
): void {
  const refusal = upgradeRefusal(req, gate);
  if (refusal) socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else wss.handleUpgrade(req, socket, head, accept);
}

/** Why an upgrade request is refused (an HTTP status line), or null to accept it. */
function upgradeRefusal(req: IncomingMessage, gate: AuthGate): string | null {
  if ((req.url ?? '').split('?')[0] !== LIVE_PATH) return '404 Not Found';
  const origin = req.headers.origin;
  if (origin !== undefined && originHost(origin) !== req.headers.host) return '403 Forbidden';
  if (!gate.allowed(req)) return '401 Unauthorized';
  return null;
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

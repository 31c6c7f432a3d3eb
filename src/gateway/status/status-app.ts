import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../log/logger.ts';
import { pageShell } from './assets.ts';
import { type AuthGate, registerAuth } from './auth.ts';
import type { LoadedSite } from './deferred-site.ts';
import { createStatusApp } from './http-server.ts';
import type { KeepaliveHistory } from './keepalive-history.ts';
import type { LiveUpdates } from './live-updates.ts';
import type { LogRing } from './log-ring.ts';
import { LoginThrottle } from './login-throttle.ts';
import { createMetrics } from './metrics.ts';
import { escapeHtml } from './pages.ts';
import { PasswordStore } from './password-store.ts';
import { registerPowerOverride } from './power-override-routes.ts';
import { SessionStore } from './session-store.ts';
import { buildSnapshot, type StatusSources } from './status-model.ts';
import type { StatusPageContext } from './status-page-context.ts';

/** Path of the live-update WebSocket. */
export const LIVE_PATH = '/api/live';

/** What the page kept from the start, for the site to show. */
export interface StatusAppParts {
  ctx: StatusPageContext;
  sources: StatusSources;
  history: KeepaliveHistory;
  logs: LogRing;
  live: LiveUpdates;
  log: Logger;
}

/**
 * The status page's site on an already listening server: login, GET /health, /ready,
 * /metrics (no login), the page, GET /api/status, /api/diagnostics (a .tar.gz for
 * support) and the live WebSocket (login). Loaded
 * on the first request (status-page.ts): everything here is needed only while someone looks.
 */
export async function buildStatusApp(server: Server, parts: StatusAppParts): Promise<LoadedSite> {
  const { ctx, sources, history, logs, live, log } = parts;
  const { clock, settings } = ctx;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const { app } = createStatusApp((handler) => {
    handle = handler;
    return server;
  });
  const shell = pageShell();
  const metrics = createMetrics(sources, history, ctx.powerModes);

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
  // Behind the login like every /api/ path; loaded on first use, it is rarely needed.
  app.get('/api/diagnostics', async (_req, reply) => {
    const { diagnosticsArchive, diagnosticsName } = await import('./diagnostics.ts');
    const now = clock.now();
    const archive = await diagnosticsArchive({
      gatewayId: sources.gatewayId,
      stateDir: sources.stateDir,
      now,
      maskedConfig: sources.settings,
      status: buildSnapshot(sources, history, logs, clock),
      logs,
      metrics: await metrics.metrics(),
    });
    log.info({ bytes: archive.length }, 'diagnostics downloaded');
    return reply
      .type('application/gzip')
      .header(
        'content-disposition',
        `attachment; filename="${diagnosticsName(sources.gatewayId, now)}.tar.gz"`,
      )
      .header('cache-control', 'no-store')
      .send(archive);
  });
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
  await app.ready();
  return {
    request: (req, res) => handle?.(req, res),
    upgrade: (req, socket, head) =>
      upgrade(req, socket, head, wss, gate, (ws) => live.attach(ws, gate.session(req)?.expiresAt ?? null)),
    async close() {
      wss.close();
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

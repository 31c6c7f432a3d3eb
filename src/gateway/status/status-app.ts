import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { rejectUpgrade } from '../../http/reject-upgrade.ts';
import type { Logger } from '../../log/logger.ts';
import type { AllowedHosts } from './allowed-hosts.ts';
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
import type { PasswordStore } from './password-store.ts';
import { registerPowerOverride } from './power-override-routes.ts';
import { SessionStore } from './session-store.ts';
import type { SetupCode } from './setup-code.ts';
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
  passwords: PasswordStore;
  setupCode: SetupCode | null;
  hosts: AllowedHosts;
}

/**
 * The status page's site on an already listening server: login, GET /health, /ready,
 * /metrics (no login), the page, GET /api/status, /api/diagnostics (a .tar.gz for
 * support) and the live WebSocket (login). Loaded
 * on the first request (status-page.ts): everything here is needed only while someone looks.
 */
export async function buildStatusApp(server: Server, parts: StatusAppParts): Promise<LoadedSite> {
  const { ctx, sources, history, logs, live, log, hosts } = parts;
  const { clock, settings } = ctx;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const { app } = createStatusApp({
    hosts,
    serverFactory: (handler) => {
      handle = handler;
      return server;
    },
  });
  const shell = pageShell();
  const metrics = createMetrics(sources, history, ctx.powerModes);

  const sessions = new SessionStore(clock, settings.sessionTtl);
  sessions.onEnd((id) => live.endSession(id));
  const gate = registerAuth(app, {
    mode: settings.auth,
    gatewayId: sources.gatewayId,
    passwords: parts.passwords,
    setupCode: parts.setupCode,
    publicRoutes: settings.metrics === 'open' ? ['/metrics'] : [],
    sessions,
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
      upgrade(req, socket, head, wss, gate, hosts, (ws) => live.attach(ws, gate.session(req))),
    async close() {
      wss.close();
      await app.close();
    },
  };
}
/**
 * Accepts the live WebSocket for a logged-in browser of this very page: the path exactly,
 * a `Host` and an `Origin` naming this box (not merely each other: a rebound page's Origin
 * and Host agree), and a valid session cookie.
 */
function upgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  wss: WebSocketServer,
  gate: AuthGate,
  hosts: AllowedHosts,
  accept: (ws: import('ws').WebSocket) => void,
): void {
  const refusal = upgradeRefusal(req, gate, hosts);
  if (refusal) rejectUpgrade(socket, refusal[0], refusal[1]);
  else wss.handleUpgrade(req, socket, head, accept);
}

/** Why an upgrade request is refused (status and text), or null to accept it. */
function upgradeRefusal(req: IncomingMessage, gate: AuthGate, hosts: AllowedHosts): [number, string] | null {
  if (req.url !== LIVE_PATH) return [404, 'Not Found'];
  if (!hosts.allowsHost(req.headers.host)) return [421, 'Misdirected Request'];
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.allowsOrigin(origin)) return [403, 'Forbidden'];
  if (!gate.allowed(req)) return [401, 'Unauthorized'];
  return null;
}

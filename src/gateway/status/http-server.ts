import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AllowedHosts } from './allowed-hosts.ts';
import { registerAssets } from './assets.ts';

/** Largest request body: the forms are a few short fields. */
const BODY_LIMIT = 16 * 1024;

/**
 * Content Security Policy of every response: scripts, styles and connections (the live
 * WebSocket included) from this gateway only, no framing (clickjacking), no plugins.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Hands Fastify's request handler to a server the caller made (and listens on) itself. */
export type ServerFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server;

/** Routes any `Host` may ask for: they say nothing about the box (probes by any name). */
const ANY_HOST = new Set(['/health', '/ready']);

/**
 * A Fastify app with what every status-page server needs: forms, security headers, assets,
 * and a `Host` that names this box (else 421: DNS rebinding); and the asset files that are
 * missing. With `serverFactory` it serves that server's requests (the status page's, already
 * listening) instead of making and listening on its own.
 */
export function createStatusApp(options: { hosts: AllowedHosts; serverFactory?: ServerFactory }): {
  app: FastifyInstance;
  missingAssets: string[];
} {
  const { hosts, serverFactory } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    // The setup page's own server (the status page's sets its timeouts itself): forms are small.
    requestTimeout: 30_000,
    ...(serverFactory ? { serverFactory } : {}),
  }) as unknown as FastifyInstance;
  // First of all hooks: nothing else runs for a request that names another host.
  app.addHook('onRequest', async (req, reply) => {
    if (ANY_HOST.has(req.routeOptions.url ?? '') || hosts.allowsHost(req.headers.host)) return;
    return reply
      .code(421)
      .type('text/plain; charset=utf-8')
      .send(
        'this gateway answers to its own addresses and the names in status.hostnames only; add the name you used there\n',
      );
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer');
    return payload;
  });
  const missingAssets = registerAssets(app);
  // Browsers ask for it on every first visit; without one it would bounce to the login form.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  return { app, missingAssets };
}

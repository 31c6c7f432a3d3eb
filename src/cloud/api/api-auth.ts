import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sameSecret } from '../../protocol/same-secret.ts';

/**
 * The routes any client may call without the API token, as "METHOD pattern" of the route
 * Fastify matched; every other route, and any request no route matches, needs the token
 * (deny by default, issue 13.1). Each public one says why it may be.
 */
export const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  'GET /health': 'liveness for load balancers and systemd; says nothing but "ok"',
  'HEAD /health': 'the same, headers only',
  'POST /direct/v1/jobs/:id/connect':
    "a device's direct connection: the handler checks the job's one-time token",
  'GET /direct/v1/jobs/:id/document': 'the same: the job’s one-time token',
  'HEAD /direct/v1/jobs/:id/document': 'the same: the job’s one-time token',
  'POST /direct/v1/jobs/:id/complete': 'the same: the job’s one-time token',
};
// Not Fastify routes, so not here: the push WebSocket (the gateway's own token, push-server.ts)
// and the direct stream WebSocket (the job's one-time token, direct-stream.ts).

/** The bearer token of an Authorization header, or '' when there is none. */
export function bearerToken(header: string | undefined): string {
  return header?.startsWith('Bearer ') ? header.slice(7) : '';
}

/**
 * Who called, for what is kept per API client (idempotency keys): a name derived from the
 * token the request was authenticated with, never the token itself.
 */
export function apiClientId(req: FastifyRequest): string {
  const token = bearerToken(req.headers.authorization);
  return `api:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

/**
 * Authenticates every request on the route Fastify matched, not on the raw target: a
 * percent-encoded path (/%61pi/v1/...) or an absolute-form target (GET http://x/api/...)
 * matches the same route and needs the same token. Call before any route is registered.
 */
export function requireApiToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (req, reply) => {
    const route = `${req.method} ${req.routeOptions.url ?? '(no route)'}`;
    if (Object.hasOwn(PUBLIC_ROUTES, route)) return;
    if (!sameSecret(bearerToken(req.headers.authorization), token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'send "Authorization: Bearer <api token>"' });
    }
  });
}

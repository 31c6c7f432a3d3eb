import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../log/logger.ts';
import { sameSecret } from '../../protocol/same-secret.ts';
import { verifyPassword } from '../../secrets/password-hash.ts';
import { cookie, parseCookies } from './cookies.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { loginPage, messagePage, setPasswordPage } from './pages.ts';
import type { PasswordStore } from './password-store.ts';
import { randomToken, type Session, type SessionStore } from './session-store.ts';
import { SETUP_CODE_FIELD, SETUP_CODE_HEADER, type SetupCode } from './setup-code.ts';

/** The session cookie. */
export const SESSION_COOKIE = 'mfpgw_session';
/** The cookie that pairs with the hidden field of a form shown before login (double submit). */
export const FORM_COOKIE = 'mfpgw_form';
/** Header a script sends its session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';
/** How long a login or setup form stays valid. */
const FORM_TTL_S = 3600;

/**
 * Routes anyone may reach: probes, the login flow and static assets. Matched against the
 * route Fastify chose, not the request's spelling of the path, so no other spelling of a
 * protected path (percent-encoded, absolute-form, `//`) counts as public: deny by default.
 */
const PUBLIC = ['/health', '/ready', '/login', '/set-password', '/assets/:name', '/favicon.ico'];
/** What our random tokens look like (32 bytes, base64url). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface AuthOptions {
  /** 'none': no login (labs only; warned about at start). */
  mode: 'password' | 'none';
  gatewayId: string;
  passwords: PasswordStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  logger: Logger;
  /** Extra routes reachable without login (`/metrics` with `status.metrics: open`). */
  publicRoutes?: string[];
  /** The first-boot setup code; null when a password existed at start (or auth none). */
  setupCode: SetupCode | null;
}

/** What routes ask of the login layer. */
export interface AuthGate {
  /** The request's live session; null without one (or with auth none). */
  session(req: { headers: IncomingHttpHeaders }): Session | null;
  /** Whether the request (or WebSocket upgrade) may see the page and API. */
  allowed(req: { headers: IncomingHttpHeaders }): boolean;
  /**
   * Whether a state-changing request carries its CSRF token: the session's ('session'), or
   * the one of a form shown before login ('form'). Answers 403 when not.
   */
  checkCsrf(req: FastifyRequest, reply: FastifyReply, kind: 'session' | 'form'): boolean;
  /**
   * The token for a form shown before login: the browser's form cookie when it has one
   * (a second tab, or the favicon's redirect, must not invalidate the first form), else a
   * new one, set as that cookie.
   */
  formToken(req: FastifyRequest, reply: FastifyReply): string;
  /**
   * Whether a first-boot request carries the setup code (field `setupCode` or header
   * `x-setup-code`) within the setup window. Answers 403 with `refuse(reason)` when not.
   */
  checkSetupCode(req: FastifyRequest, reply: FastifyReply, refuse: (reason: string) => unknown): boolean;
}

function same(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return sameSecret(a, b);
}

function field(body: unknown, name: string): string | undefined {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Login for the status page: password checked against a scrypt hash, sessions in an
 * HttpOnly SameSite=Strict cookie, CSRF tokens on every state-changing request (the
 * session's own token, or a double-submit cookie for the forms shown before login), and
 * wrong passwords slowed per client. Unauthenticated API calls get 401; pages redirect to
 * the login form (or to the first-password form while none is set).
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): AuthGate {
  const { sessions, passwords, throttle } = options;
  const log = options.logger;
  const open = options.mode === 'none';
  const publicRoutes = new Set([...PUBLIC, ...(options.publicRoutes ?? [])]);
  const { setupCode } = options;
  const secure = (req: FastifyRequest) => req.protocol === 'https';

  const gate: AuthGate = {
    session: (req) => sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE)),
    allowed: (req) => open || gate.session(req) !== null,
    checkCsrf(req, reply, kind) {
      const given = (req.headers[CSRF_HEADER] as string | undefined) ?? field(req.body, '_csrf');
      const ok =
        kind === 'session'
          ? same(given, gate.session(req)?.csrfToken)
          : same(given, parseCookies(req.headers.cookie).get(FORM_COOKIE));
      if (!ok) {
        log.warn({ client: req.ip, url: req.url }, 'status page: request without a valid CSRF token refused');
        void reply
          .code(403)
          .type('text/html')
          .send(
            messagePage(
              'Refused',
              'This form has expired or did not come from this page. Reload it and try again.',
            ),
          );
      }
      return ok;
    },
    formToken(req, reply) {
      const existing = parseCookies(req.headers.cookie).get(FORM_COOKIE);
      if (existing && TOKEN.test(existing)) return existing;
      const token = randomToken();
      void reply.header('set-cookie', cookie(FORM_COOKIE, token, FORM_TTL_S, false));
      return token;
    },
    checkSetupCode(req, reply, refuse) {
      const given =
        (req.headers[SETUP_CODE_HEADER] as string | undefined) ?? field(req.body, SETUP_CODE_FIELD);
      const verdict = setupCode
        ? setupCode.check(given)
        : { ok: false as const, status: 403 as const, reason: 'no first-boot setup on this gateway' };
      if (verdict.ok) return true;
      log.warn({ client: req.ip, url: req.url }, `status page: first-boot setup refused: ${verdict.reason}`);
      void reply.code(verdict.status);
      refuse(verdict.reason);
      return false;
    },
  };

  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (open || (route !== undefined && publicRoutes.has(route)) || gate.session(req)) return;
    if (route === '/metrics' || route?.startsWith('/api/') || req.url.startsWith('/api/')) {
      return reply.code(401).send({ error: 'unauthorized', message: 'log in at /login first' });
    }
    return reply.redirect(passwords.needsPassword() ? '/set-password' : '/login', 302);
  });

  const startSession = (req: FastifyRequest, reply: FastifyReply) => {
    const session = sessions.create();
    void reply.header('set-cookie', cookie(SESSION_COOKIE, session.id, sessions.ttl / 1000, secure(req)));
    return reply.redirect('/', 303);
  };

  app.get('/login', async (req, reply) => {
    if (open || gate.session(req)) return reply.redirect('/', 302);
    if (passwords.needsPassword()) return reply.redirect('/set-password', 302);
    return reply.type('text/html').send(loginPage(options.gatewayId, gate.formToken(req, reply)));
  });

  app.post('/login', async (req, reply) => {
    if (open) return reply.redirect('/', 303);
    if (!gate.checkCsrf(req, reply, 'form')) return reply;
    const client = req.ip;
    const hash = passwords.hash();
    if (hash === null) return reply.redirect('/set-password', 303);
    const verdict = throttle.begin(client);
    if (!verdict.allowed) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      const why = verdict.why === 'busy' ? 'Another login is being checked' : 'Too many wrong passwords';
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .type('text/html')
        .send(loginPage(options.gatewayId, gate.formToken(req, reply), `${why}: try again in ${seconds} s.`));
    }
    let right = false;
    try {
      right = await verifyPassword(field(req.body, 'password') ?? '', hash);
    } finally {
      if (right) verdict.attempt.succeeded();
    }
    if (!right) {
      const waitMs = verdict.attempt.failed();
      log.warn({ client, waitMs }, 'status page: wrong password');
      const wait = waitMs > 0 ? ` Wait ${Math.ceil(waitMs / 1000)} s before the next try.` : '';
      return reply
        .code(401)
        .type('text/html')
        .send(loginPage(options.gatewayId, gate.formToken(req, reply), `Wrong password.${wait}`));
    }
    log.info({ client }, 'status page: logged in');
    return startSession(req, reply);
  });

  app.post('/logout', async (req, reply) => {
    if (!open && !gate.checkCsrf(req, reply, 'session')) return reply;
    const session = gate.session(req);
    if (session) sessions.delete(session.id);
    void reply.header('set-cookie', cookie(SESSION_COOKIE, '', 0, secure(req)));
    return reply.redirect('/login', 303);
  });

  app.get('/set-password', async (req, reply) => {
    if (open || !passwords.needsPassword()) return reply.redirect('/login', 302);
    const closed = setupCode?.open ? undefined : setupCode?.check(undefined);
    return reply
      .type('text/html')
      .send(
        setPasswordPage(
          options.gatewayId,
          gate.formToken(req, reply),
          closed && !closed.ok ? `${closed.reason}.` : undefined,
        ),
      );
  });

  app.post('/set-password', async (req, reply) => {
    if (open || !passwords.needsPassword()) return reply.redirect('/login', 303);
    if (!gate.checkCsrf(req, reply, 'form')) return reply;
    const password = field(req.body, 'password') ?? '';
    const page = (message: string) =>
      reply.type('text/html').send(setPasswordPage(options.gatewayId, gate.formToken(req, reply), message));
    const refuse = (message: string) => {
      void reply.code(400);
      return page(message);
    };
    if (!gate.checkSetupCode(req, reply, (reason) => page(`Not set: ${reason}.`))) return reply;
    if (password !== field(req.body, 'confirm')) return refuse('The two passwords differ.');
    const result = await passwords.setFirst(password);
    if (!result.ok) return refuse(`Not set: ${result.reason}.`);
    setupCode?.spend();
    log.info({ client: req.ip }, 'status page: password set on first boot');
    return startSession(req, reply);
  });

  return gate;
}

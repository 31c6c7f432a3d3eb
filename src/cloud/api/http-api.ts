import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/clock.ts';
import { sameSecret } from '../../protocol/same-secret.ts';
import type { KeepaliveAdvisor } from '../advisor/keepalive-advisor.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { PushDispatcher } from '../push/push-dispatcher.ts';
import type { StatusStore } from '../status/status-store.ts';

export interface HttpApiOptions {
  apiToken: string;
  gatewayIds: readonly string[];
  store: StatusStore;
  directory: GatewayDirectory;
  advisor: KeepaliveAdvisor;
  dispatcher: PushDispatcher;
  clock: Clock;
  /** LAN devices behind the gateway's push proxy, for the gateway's state (docs/push-proxy.md). */
  proxiedDevices?: (gatewayId: string) => unknown[];
}

const pushBody = z.strictObject({
  type: z.string().min(1).max(64),
  payload: z.unknown(),
});

/** Parses a push request's body: the push, or the 400 answer saying what is wrong. */
export function parsePushBody(
  raw: unknown,
): { type: string; payload: unknown } | { error: 'bad-request'; message: string } {
  const body = pushBody.safeParse(raw);
  if (body.success) return body.data;
  const issue = body.error.issues[0];
  return {
    error: 'bad-request',
    message: `body: ${issue?.path.join('.') || '(body)'}: ${issue?.message}; expected {"type": "...", "payload": ...}`,
  };
}

/** Pushes awaiting acknowledgement per gateway; more are refused so memory stays bounded. */
export const MAX_PUSHES_IN_FLIGHT = 256;

const logQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });

function tokenMatches(header: string | undefined, token: string): boolean {
  return sameSecret(header?.startsWith('Bearer ') ? header.slice(7) : '', token);
}

/** The cloud's HTTP API (v1): push to a gateway, read its state and its status log. */
export function registerHttpApi(app: FastifyInstance, options: HttpApiOptions): void {
  const known = new Set(options.gatewayIds);
  const { directory, advisor, store, dispatcher, clock } = options;

  app.get('/health', async () => ({ ok: true }));

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return;
    if (!tokenMatches(req.headers.authorization, options.apiToken)) {
      return reply
        .code(401)
        .send({ error: 'unauthorized', message: 'send "Authorization: Bearer <api token>"' });
    }
  });

  const gatewayState = (id: string) => {
    const presence = directory.get(id);
    const state = advisor.stateFor(id);
    const now = clock.now();
    return {
      id,
      connected: directory.lines(id).length > 0,
      domain: presence?.domain ?? store.gateway(id)?.domain ?? null,
      site: presence?.siteKey ?? null,
      powerMode: presence?.powerMode ?? null,
      representative: state.representative,
      connections: directory.lines(id).map((l) => ({
        id: l.connectionId,
        role: l.role,
        state: 'open',
        connectedSince: new Date(l.connectedAt).toISOString(),
        lastTraffic: new Date(l.lastTrafficAt).toISOString(),
        idleMs: now - l.lastTrafficAt,
        keepaliveMs: l.hello.keepaliveMs,
        egressAddress: l.egressAddress,
      })),
      keepalive: {
        adviceMs: state.advice.intervalMs,
        source: state.advice.source,
        mcvtMs: state.advice.mcvtMs,
        lowerBoundMs: state.advice.lowerBoundMs,
        upperBoundMs: state.advice.upperBoundMs,
        lifetimeCapMs: state.advice.lifetimeCapMs,
        reconnectBeforeAgeMs: state.advice.reconnectBeforeAgeMs,
        converged: state.advice.converged,
        probeGapMs: state.probeGapMs,
      },
      proxiedDevices: options.proxiedDevices?.(id) ?? [],
    };
  };

  const inFlight = new Map<string, number>();
  const unknownGateway = { error: 'not-found', message: 'no such gateway in the cloud config' };

  app.get('/api/v1/gateways', async () => ({ gateways: [...known].map(gatewayState) }));

  app.get<{ Params: { id: string } }>('/api/v1/gateways/:id', async (req, reply) => {
    if (!known.has(req.params.id)) return reply.code(404).send(unknownGateway);
    return gatewayState(req.params.id);
  });

  app.get<{ Params: { id: string } }>('/api/v1/gateways/:id/log', async (req, reply) => {
    if (!known.has(req.params.id)) return reply.code(404).send(unknownGateway);
    const query = logQuery.safeParse(req.query);
    if (!query.success)
      return reply
        .code(400)
        .send({ error: 'bad-request', message: 'limit must be an integer from 1 to 10000' });
    const records = store.recent(req.params.id, 0, query.data.limit);
    return {
      records: records.map((r) => ({ ...r, time: new Date(r.time).toISOString() })),
    };
  });

  app.post<{ Params: { id: string } }>('/api/v1/gateways/:id/push', async (req, reply) => {
    if (!known.has(req.params.id)) return reply.code(404).send(unknownGateway);
    const body = parsePushBody(req.body);
    if ('error' in body) return reply.code(400).send(body);
    const id = req.params.id;
    const busy = inFlight.get(id) ?? 0;
    if (busy >= MAX_PUSHES_IN_FLIGHT) {
      return reply.code(429).send({
        delivered: false,
        reason: `${busy} pushes to this gateway are already in flight; retry later`,
      });
    }
    inFlight.set(id, busy + 1);
    try {
      const result = await dispatcher.push(id, body.type, body.payload);
      if (result.delivered) return result;
      return reply.code(503).send(result);
    } finally {
      const left = (inFlight.get(id) ?? 1) - 1;
      if (left > 0) inFlight.set(id, left);
      else inFlight.delete(id);
    }
  });
}

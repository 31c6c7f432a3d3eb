import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PushDispatcher } from '../push/push-dispatcher.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import type { LearningStore } from '../status/learning-store.ts';

export interface HttpApiOptions {
  registry: GatewayRegistry;
  store: LearningStore;
  dispatcher: PushDispatcher;
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

/**
 * The cloud's HTTP API (v1): push to a gateway, read its status log (its state: gateways-api.ts).
 * The API token is checked for every route (api-auth.ts, installed by cloud-server.ts).
 */
export function registerHttpApi(app: FastifyInstance, options: HttpApiOptions): void {
  const { registry, store, dispatcher } = options;

  app.get('/health', async () => ({ ok: true }));

  const inFlight = new Map<string, number>();
  const unknownGateway = { error: 'not-found', message: 'no such gateway is registered' };

  app.get<{ Params: { id: string } }>('/api/v1/gateways/:id/log', async (req, reply) => {
    if (!(await registry.get(req.params.id))) return reply.code(404).send(unknownGateway);
    const query = logQuery.safeParse(req.query);
    if (!query.success)
      return reply
        .code(400)
        .send({ error: 'bad-request', message: 'limit must be an integer from 1 to 10000' });
    const records = await store.recent(req.params.id, 0, query.data.limit);
    return {
      records: records.map((r) => ({ ...r, time: new Date(r.time).toISOString() })),
    };
  });

  app.post<{ Params: { id: string } }>('/api/v1/gateways/:id/push', async (req, reply) => {
    const body = parsePushBody(req.body);
    if ('error' in body) return reply.code(400).send(body);
    const id = req.params.id;
    const gateway = await registry.get(id);
    if (!gateway) return reply.code(404).send(unknownGateway);
    if (gateway.disabled) {
      return reply.code(409).send({ error: 'disabled', message: `gateway ${id} is disabled` });
    }
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

import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/clock.ts';
import { slug } from '../../config/schema-types.ts';
import {
  type GatewayRegistry,
  hashGatewayToken,
  newGatewayToken,
  type RegisteredGateway,
} from '../registry/gateway-registry.ts';

export interface GatewaysApiOptions {
  registry: GatewayRegistry;
  /** What the cloud knows of a gateway's lines and keep-alive learning, for its view. */
  liveState: (id: string) => Promise<Record<string, unknown>>;
  /** Closes the gateway's lines wherever they are (every node of a fleet). */
  closeLines: (id: string, reason: string) => Promise<void>;
  clock: Clock;
}

/** Most gateways one page of `GET /api/v1/gateways` holds. */
export const MAX_GATEWAYS_PAGE = 1000;

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_GATEWAYS_PAGE).default(100),
  after: slug.optional(),
});

const limits = {
  maxTunnels: z.number().int().min(1).max(1000),
  /** CPU usage, a fraction of all cores (as in the config). */
  cpuThreshold: z.number().gt(0).max(1).nullable(),
  lineThreshold: z.number().positive().nullable(),
};

const createBody = z.strictObject({
  id: slug,
  maxTunnels: limits.maxTunnels.default(8),
  cpuThreshold: limits.cpuThreshold.default(null),
  lineThreshold: limits.lineThreshold.default(null),
  disabled: z.boolean().default(false),
});

const patchBody = z
  .strictObject({
    maxTunnels: limits.maxTunnels.optional(),
    cpuThreshold: limits.cpuThreshold.optional(),
    lineThreshold: limits.lineThreshold.optional(),
    disabled: z.boolean().optional(),
  })
  .refine(
    (b) => Object.keys(b).length > 0,
    'name at least one of maxTunnels, cpuThreshold, lineThreshold, disabled',
  );

const iso = (ms: number) => new Date(ms).toISOString();

function badRequest(reply: FastifyReply, where: string, error: z.ZodError) {
  const issue = error.issues[0];
  return reply.code(400).send({
    error: 'bad-request',
    message: `${where}: ${issue?.path.join('.') || '(value)'}: ${issue?.message}`,
  });
}

const notFound = (id: string) => ({ error: 'not-found', message: `no gateway "${id}" is registered` });

/**
 * The gateway registry over HTTP (docs/fleet.md): list (paged by id), read, register (the
 * token is in this answer only), change limits, disable, rotate the token, delete. Taking a
 * gateway's right to connect away closes its lines at once. Auth is the API's.
 */
export function registerGatewaysApi(app: FastifyInstance, options: GatewaysApiOptions): void {
  const { registry, clock } = options;
  const view = async (g: RegisteredGateway) => ({
    ...(await options.liveState(g.id)),
    id: g.id,
    disabled: g.disabled,
    maxTunnels: g.maxTunnels,
    cpuThreshold: g.cpuThreshold,
    lineThreshold: g.lineThreshold,
    source: g.source,
    registeredAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
  });

  app.get('/api/v1/gateways', async (req, reply) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return badRequest(reply, 'query', query.error);
    const page = await registry.list({ after: query.data.after, limit: query.data.limit });
    const last = page.at(-1);
    return {
      gateways: await Promise.all(page.map(view)),
      next: page.length === query.data.limit && last ? last.id : null,
    };
  });

  app.post('/api/v1/gateways', async (req, reply) => {
    const body = createBody.safeParse(req.body);
    if (!body.success) return badRequest(reply, 'body', body.error);
    const token = newGatewayToken();
    const now = clock.now();
    const gateway: RegisteredGateway = {
      ...body.data,
      tokenHash: hashGatewayToken(token),
      source: 'api',
      createdAt: now,
      updatedAt: now,
    };
    if (!(await registry.create(gateway))) {
      return reply
        .code(409)
        .send({ error: 'conflict', message: `gateway "${body.data.id}" is already registered` });
    }
    req.log.info?.({ gateway: gateway.id }, 'gateway registered');
    return reply.code(201).send({ ...(await view(gateway)), token });
  });

  app.get<{ Params: { id: string } }>('/api/v1/gateways/:id', async (req, reply) => {
    const gateway = await registry.get(req.params.id);
    if (!gateway) return reply.code(404).send(notFound(req.params.id));
    return view(gateway);
  });

  app.patch<{ Params: { id: string } }>('/api/v1/gateways/:id', async (req, reply) => {
    const body = patchBody.safeParse(req.body);
    if (!body.success) return badRequest(reply, 'body', body.error);
    const changes = Object.fromEntries(Object.entries(body.data).filter(([, v]) => v !== undefined));
    const gateway = await registry.update(req.params.id, { ...changes, source: 'api' }, clock.now());
    if (!gateway) return reply.code(404).send(notFound(req.params.id));
    if (gateway.disabled) await options.closeLines(gateway.id, 'gateway disabled');
    return view(gateway);
  });

  app.post<{ Params: { id: string } }>('/api/v1/gateways/:id/token', async (req, reply) => {
    const token = newGatewayToken();
    const gateway = await registry.update(
      req.params.id,
      { tokenHash: hashGatewayToken(token), source: 'api' },
      clock.now(),
    );
    if (!gateway) return reply.code(404).send(notFound(req.params.id));
    await options.closeLines(gateway.id, 'gateway token rotated');
    return { ...(await view(gateway)), token };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/gateways/:id', async (req, reply) => {
    if (!(await registry.delete(req.params.id))) return reply.code(404).send(notFound(req.params.id));
    await options.closeLines(req.params.id, 'gateway deleted');
    return reply.code(204).send();
  });
}

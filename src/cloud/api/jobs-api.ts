import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import { SpoolError } from '../jobs/document-spool.ts';
import { JobRequestError, type JobRunner } from '../jobs/job-runner.ts';
import { clientIdempotencyKey, type Job, type JobStore } from '../jobs/job-store.ts';
import { apiClientId } from './api-auth.ts';

const jobQuery = z.object({
  type: z.enum(['print', 'storage']).default('print'),
  gateway: z.string().min(1).max(64),
  device: z.string().min(1).max(64),
  priority: z.coerce.number().int().min(-1000).max(1000).default(0),
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\0]+$/, 'a file name without slashes')
    .optional(),
});

const listQuery = z.object({
  gateway: z.string().max(64).optional(),
  state: z.enum(['queued', 'via-tunnel', 'switching', 'via-direct', 'done', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const idempotencyKey = z.string().min(1).max(255);

const deviceOverride = z.strictObject({
  directCapable: z.boolean().optional(),
  directVia: z.enum(['own', 'gateway']).optional(),
  spec: z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])).optional(),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** A job as the API shows it. */
export function jobView(job: Job) {
  return {
    id: job.id,
    type: job.type,
    gateway: job.gatewayId,
    device: job.deviceId,
    priority: job.priority,
    name: job.name,
    format: job.format,
    idempotencyKey: clientIdempotencyKey(job.idempotencyKey),
    state: job.state,
    size: job.size,
    sha256: job.sha256,
    bytes: { tunnel: job.bytesTunnel, direct: job.bytesDirect },
    route: job.route.map((r) => ({ ...r, at: iso(r.at) })),
    pages: job.pages,
    error: job.error,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
  };
}

function badRequest(reply: FastifyReply, where: string, error: z.ZodError) {
  const issue = error.issues[0];
  return reply.code(400).send({
    error: 'bad-request',
    message: `${where}: ${issue?.path.join('.') || '(value)'}: ${issue?.message}`,
  });
}

/**
 * Jobs (v1): `POST /api/v1/jobs?gateway=&device=&type=&priority=&name=` with the document as
 * the body (streamed to the spool), `GET /api/v1/jobs[/{id}]`; and the device registry:
 * `GET /api/v1/devices`, `PUT|DELETE /api/v1/gateways/{id}/devices/{device}/override`.
 * Bearer auth comes from the API's onRequest hook (registered first).
 */
/** How long a client refused for too many uploads at once is asked to wait. */
export const UPLOAD_RETRY_AFTER_S = 5;

export function registerJobsApi(
  app: FastifyInstance,
  deps: {
    runner: JobRunner;
    store: JobStore;
    devices: DeviceRegistry;
    /** Documents received at once; one more is refused with 503 and Retry-After (issue 13.3). */
    maxUploads: number;
  },
): void {
  const { runner, store, devices } = deps;

  // Documents of any type (plain text included) arrive as a stream; JSON stays for the other routes.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  let uploads = 0;
  app.post('/api/v1/jobs', async (req, reply) => {
    const body = req.body as Readable | undefined;
    const drain = () => body?.resume?.();
    if (uploads >= deps.maxUploads) {
      // Not read: the connection closes after the answer, so the client stops sending.
      return reply
        .code(503)
        .header('retry-after', String(UPLOAD_RETRY_AFTER_S))
        .header('connection', 'close')
        .send({
          error: 'busy',
          message: `${uploads} documents are being received; retry in ${UPLOAD_RETRY_AFTER_S} s`,
        });
    }
    uploads++;
    try {
      return await receiveJob(req, reply, body, drain);
    } finally {
      uploads--;
    }
  });

  const receiveJob = async (
    req: FastifyRequest,
    reply: FastifyReply,
    body: Readable | undefined,
    drain: () => void,
  ) => {
    const query = jobQuery.safeParse(req.query);
    if (!query.success) {
      drain();
      return badRequest(reply, 'query', query.error);
    }
    const contentType =
      (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim() ?? '';
    if (!body || typeof body.pipe !== 'function') {
      return reply.code(415).send({
        error: 'unsupported-media-type',
        message:
          'send the document itself as the body with its own type (application/pdf, application/octet-stream, ...), not as JSON or text',
      });
    }
    const key = req.headers['idempotency-key'];
    const parsedKey = key === undefined ? undefined : idempotencyKey.safeParse(key);
    if (parsedKey && !parsedKey.success) {
      drain();
      return reply.code(400).send({ error: 'bad-request', message: 'Idempotency-Key: 1 to 255 characters' });
    }
    const request = {
      type: query.data.type,
      gatewayId: query.data.gateway,
      deviceId: query.data.device,
      priority: query.data.priority,
      idempotencyKey: parsedKey?.data ?? null,
      apiClient: apiClientId(req),
      name: query.data.name ?? null,
      format: contentType === 'application/octet-stream' ? null : contentType,
    };
    try {
      const { job, created } = await runner.submit(request, body);
      return reply.code(created ? 202 : 200).send(jobView(job));
    } catch (err) {
      drain();
      // The body stalled and the listener has answered 408 already.
      if (reply.sent) return reply;
      if (err instanceof JobRequestError) {
        return reply.code(err.status).send({ error: 'rejected', message: err.message });
      }
      if (err instanceof SpoolError) {
        const status = err.code === 'MFP_JOB_ERR_TOO_LARGE' ? 413 : 400;
        return reply.code(status).send({ error: err.code, message: err.message });
      }
      throw err;
    }
  };

  app.get('/api/v1/jobs', async (req, reply) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return badRequest(reply, 'query', query.error);
    const filter = {
      limit: query.data.limit,
      ...(query.data.gateway ? { gatewayId: query.data.gateway } : {}),
      ...(query.data.state ? { state: query.data.state } : {}),
    };
    return { jobs: (await store.list(filter)).map(jobView) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req, reply) => {
    const job = await store.get(req.params.id);
    if (!job) return reply.code(404).send({ error: 'not-found', message: `no job ${req.params.id}` });
    return jobView(job);
  });

  app.get('/api/v1/devices', async () => ({ devices: await devices.list() }));

  app.get<{ Params: { id: string } }>('/api/v1/gateways/:id/devices', async (req) => ({
    devices: await devices.list(req.params.id),
  }));

  app.put<{ Params: { id: string; device: string } }>(
    '/api/v1/gateways/:id/devices/:device/override',
    async (req, reply) => {
      const body = deviceOverride.safeParse(req.body);
      if (!body.success) return badRequest(reply, 'body', body.error);
      const override = {
        ...(body.data.directCapable !== undefined ? { directCapable: body.data.directCapable } : {}),
        ...(body.data.directVia ? { directVia: body.data.directVia } : {}),
        ...(body.data.spec ? { spec: body.data.spec } : {}),
      };
      const device = await devices.setOverride(req.params.id, req.params.device, override);
      if (!device) return reply.code(404).send({ error: 'not-found', message: 'no such device reported' });
      return device;
    },
  );

  app.delete<{ Params: { id: string; device: string } }>(
    '/api/v1/gateways/:id/devices/:device/override',
    async (req, reply) => {
      const device = await devices.setOverride(req.params.id, req.params.device, null);
      if (!device) return reply.code(404).send({ error: 'not-found', message: 'no such device reported' });
      return device;
    },
  );
}

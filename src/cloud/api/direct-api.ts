import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { DocumentSpool } from '../jobs/document-spool.ts';
import { JobRequestError, type JobRunner } from '../jobs/job-runner.ts';

const fetchQuery = z.object({
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

const report = z.union([
  z.strictObject({
    bytes: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    pages: z.number().int().min(0).optional(),
  }),
  z.strictObject({ error: z.string().min(1).max(2048) }),
]);

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function refuse(reply: FastifyReply, err: unknown) {
  if (err instanceof JobRequestError)
    return reply.code(err.status).send({ error: 'rejected', message: err.message });
  throw err;
}

/**
 * Direct connections of devices, pull variant (seed 001's switch, docs/jobs.md): a device told
 * to connect says it is connected, fetches the rest of the document once it has taken the job
 * over, and reports the outcome, with the job's one-time token instead of the API token.
 */
export function registerDirectApi(
  app: FastifyInstance,
  deps: { runner: JobRunner; spool: DocumentSpool },
): void {
  const { runner, spool } = deps;

  // The pull variant's connection establishment (seed #64): the job's tunnel is then interrupted.
  app.post<{ Params: { id: string } }>('/direct/v1/jobs/:id/connect', async (req, reply) => {
    try {
      const job = await runner.authorizeDirect(req.params.id, bearer(req.headers.authorization));
      runner.directConnected(job);
      return reply.code(204).send();
    } catch (err) {
      return refuse(reply, err);
    }
  });

  app.get<{ Params: { id: string } }>('/direct/v1/jobs/:id/document', async (req, reply) => {
    const query = fetchQuery.safeParse(req.query);
    if (!query.success)
      return reply.code(400).send({ error: 'bad-request', message: 'offset: a byte offset' });
    try {
      const job = await runner.authorizeDirect(req.params.id, bearer(req.headers.authorization));
      await runner.directFetch(job, query.data.offset);
      req.log.info?.({ jobId: job.id, offset: query.data.offset }, 'device fetches the rest of its job');
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(job.size - query.data.offset))
        .header('x-job-size', String(job.size))
        .send(spool.read(job.id, query.data.offset));
    } catch (err) {
      return refuse(reply, err);
    }
  });

  app.post<{ Params: { id: string } }>('/direct/v1/jobs/:id/complete', async (req, reply) => {
    const body = report.safeParse(req.body);
    if (!body.success) {
      return reply.code(400).send({
        error: 'bad-request',
        message: 'expected {"bytes": n, "sha256": "<hex>", "pages": n} or {"error": "..."}',
      });
    }
    try {
      const job = await runner.authorizeDirect(req.params.id, bearer(req.headers.authorization));
      const after = await runner.directReport(job, body.data);
      return { id: after.id, state: after.state, error: after.error };
    } catch (err) {
      return refuse(reply, err);
    }
  });
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { guardListener } from '../../http/guarded-handler.ts';
import { rejectUpgrade } from '../../http/reject-upgrade.ts';
import type { Logger } from '../../log/logger.ts';
import type { DocumentSpool } from '../jobs/document-spool.ts';
import { type DirectReport, JobRequestError, type JobRunner } from '../jobs/job-runner.ts';
import type { Job } from '../jobs/job-store.ts';

const STREAM_PATH = /^\/direct\/v1\/jobs\/([^/]+)\/stream$/;
/** The device sends only short text messages (its report). */
export const DIRECT_STREAM_MAX_MESSAGE = 8 * 1024;
/** Reading the document pauses while more than this waits in the socket's send buffer. */
export const DIRECT_STREAM_HIGH_WATER = 1024 * 1024;
const DRAIN_POLL_MS = 10;

const deviceMessage = z.discriminatedUnion('type', [
  /** What the device holds of the document once it has taken the job over: the cloud streams from there. */
  z.strictObject({
    type: z.literal('holding'),
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  z.strictObject({
    type: z.literal('complete'),
    bytes: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    pages: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal('error'), error: z.string().min(1).max(2048) }),
]);

/** Whether an upgrade request is for a device's direct stream (the cloud server routes by path). */
export function isDirectStreamPath(url: string | undefined): boolean {
  return STREAM_PATH.test((url ?? '').split('?')[0] ?? '');
}

/** The job id of a stream path, or '' when the path is not one or its encoding is malformed. */
function streamJobId(url: string | undefined): string {
  const encoded = STREAM_PATH.exec((url ?? '').split('?')[0] ?? '')?.[1] ?? '';
  try {
    return decodeURIComponent(encoded);
  } catch {
    return '';
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  503: 'Service Unavailable',
};

/**
 * The push variant of a switched job's direct connection (docs/jobs.md): the device opens a
 * WebSocket with the job's one-time token — its connection is then up, and the job's tunnel is
 * interrupted (seed #64) — says what it holds once it has taken the job over, the cloud streams
 * the rest as binary messages and `end`, the device answers `complete` or `error`, the cloud
 * answers `result`.
 */
export class DirectStreamServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: DIRECT_STREAM_MAX_MESSAGE });
  private readonly runner: JobRunner;
  private readonly spool: DocumentSpool;
  private readonly log: Logger;

  constructor(deps: { runner: JobRunner; spool: DocumentSpool; logger: Logger }) {
    this.runner = deps.runner;
    this.spool = deps.spool;
    this.log = deps.logger.child({ part: 'direct-stream' });
  }

  /** Authenticates an upgrade for `/direct/v1/jobs/{id}/stream`; the device's connection is then up. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const jobId = streamJobId(req.url);
    if (!jobId) {
      rejectUpgrade(socket, 400, STATUS_TEXT[400] as string);
      return;
    }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (!token) {
      rejectUpgrade(socket, 401, STATUS_TEXT[401] as string);
      return;
    }
    this.runner.authorizeDirect(jobId, token).then(
      (job) => {
        if (socket.destroyed) return;
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          this.runner.directConnected(job);
          this.serve(ws, job, token);
        });
      },
      (err: Error) => {
        const status = err instanceof JobRequestError ? err.status : 503;
        this.log.warn({ jobId: jobId.slice(0, 64), status, reason: err.message }, 'direct stream refused');
        rejectUpgrade(socket, status, STATUS_TEXT[status] as string);
      },
    );
  }

  /** Closes every device's stream (the cloud is stopping); their jobs stay as they are. */
  closeAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  private serve(ws: WebSocket, job: Job, token: string): void {
    const log = this.log.child({ jobId: job.id });
    let streaming = false;
    let answered = false;
    // 1008 (policy): the job stays as it was, and the device may connect again.
    const refuse = (reason: string) => {
      answered = true;
      log.warn({ reason }, 'direct stream closed: malformed or refused device message');
      ws.close(1008, reason.slice(0, 120));
    };
    const onMessage = guardListener(
      log,
      'handling a device message',
      () => ws.close(1011, 'internal error'),
      (data: RawData, isBinary: boolean) => {
        if (answered) return;
        const message = parseMessage(data, isBinary);
        if (message instanceof Error) return refuse(message.message);
        if (message.type !== 'holding') {
          answered = true;
          const { type: _type, ...report } = message;
          this.settle(ws, job.id, token, report, log).catch((err: Error) => {
            log.error({ err: err.message }, 'direct stream report not stored');
            ws.close(1011, 'cannot store the report');
          });
          return;
        }
        if (streaming) return refuse('the device said twice what it holds');
        streaming = true;
        const { offset } = message;
        this.runner
          .authorizeDirect(job.id, token)
          .then((current) => this.runner.directFetch(current, offset))
          .then(
            () => {
              log.info({ offset, mode: 'push' }, 'device streams the rest of its job');
              return this.stream(ws, job, offset, () => answered).catch((err: Error) => {
                log.warn({ err: err.message }, 'cannot stream the document');
                ws.close(1011, 'cannot read the document');
              });
            },
            (err: Error) => refuse(err.message),
          );
      },
    );
    ws.on('message', onMessage);
    ws.on('error', (err) => log.warn({ err: err.message }, 'direct stream error'));
  }

  /** Sends the document from offset, pausing while the socket is behind, then `end`. */
  private async stream(ws: WebSocket, job: Job, offset: number, stop: () => boolean): Promise<void> {
    const source = this.spool.read(job.id, offset);
    let sent = offset;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (ws.readyState !== ws.OPEN || stop()) return;
        ws.send(chunk, { binary: true });
        sent += chunk.length;
        while (ws.bufferedAmount > DIRECT_STREAM_HIGH_WATER && ws.readyState === ws.OPEN) {
          await sleep(DRAIN_POLL_MS);
        }
      }
    } finally {
      source.destroy();
    }
    if (ws.readyState !== ws.OPEN || stop()) return;
    if (sent !== job.size) throw new Error(`the spool holds ${sent} bytes, the job ${job.size}`);
    ws.send(JSON.stringify({ type: 'end', size: job.size, sha256: job.sha256 }));
  }

  private async settle(
    ws: WebSocket,
    jobId: string,
    token: string,
    report: DirectReport,
    log: Logger,
  ): Promise<void> {
    try {
      // Again: the job may have timed out or settled on another connection meanwhile.
      const job = await this.runner.authorizeDirect(jobId, token);
      const after = await this.runner.directReport(job, report);
      ws.send(JSON.stringify({ type: 'result', state: after.state, error: after.error }));
      ws.close(1000);
    } catch (err) {
      if (!(err instanceof JobRequestError)) throw err;
      log.warn({ reason: err.message }, 'direct stream report refused');
      ws.close(1008, err.message.slice(0, 120));
    }
  }
}

type DeviceMessage = z.output<typeof deviceMessage>;

function parseMessage(data: RawData, isBinary: boolean): DeviceMessage | Error {
  if (isBinary) return new Error('the device sends only text messages');
  let value: unknown;
  try {
    value = JSON.parse(
      Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString(),
    );
  } catch {
    return new Error('device message is not JSON');
  }
  const parsed = deviceMessage.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return new Error(`device message: ${issue?.path.join('.') || '(message)'}: ${issue?.message}`);
  }
  return parsed.data;
}

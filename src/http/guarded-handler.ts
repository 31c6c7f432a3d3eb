import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { rejectUpgrade } from './reject-upgrade.ts';

/** Where a guarded handler reports what went wrong (a pino logger fits). */
export interface GuardLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A handler of plain HTTP requests; it may return a promise. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;
/** A handler of WebSocket (or other) upgrades; it may return a promise. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The request line's target as it may appear in a log line: bounded, control characters escaped. */
export function loggableTarget(url: string | undefined): string {
  const target = (url ?? '').slice(0, 200);
  let out = '';
  for (const c of target) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/**
 * The status an unexpected error is answered with: a malformed request (bad percent-encoding,
 * an unparsable URL) is the client's fault (400); an error that carries an HTTP status of its
 * own keeps it; anything else is ours (500).
 */
export function statusForError(err: unknown): number {
  if (err instanceof URIError) return 400;
  if (err instanceof TypeError && (err as { code?: unknown }).code === 'ERR_INVALID_URL') return 400;
  const status =
    (err as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return status;
  return 500;
}

function report(log: GuardLog, err: unknown, req: IncomingMessage, status: number, what: string): void {
  const fields = {
    method: req.method,
    target: loggableTarget(req.url),
    status,
    err: err instanceof Error ? err.message : String(err),
  };
  if (status >= 500) log.error({ ...fields, stack: err instanceof Error ? err.stack : undefined }, what);
  else log.warn(fields, what);
}

/**
 * Wraps an HTTP request handler so that an error it throws, or a promise it rejects, becomes
 * a 4xx/5xx answer (or a closed connection, when the answer had begun) and a log line, never
 * an uncaught exception that ends the process (issue 13). Every listener's `request` handler
 * goes through this.
 */
export function guardRequest(log: GuardLog, handler: RequestHandler): RequestHandler {
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const status = statusForError(err);
    report(log, err, req, status, 'request handler failed; answered with an error');
    try {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`${STATUS_TEXT[status] ?? 'Error'}\n`);
    } catch {
      res.destroy();
    }
  };
  return (req, res) => {
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch((err: unknown) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  };
}

/**
 * Wraps an upgrade handler the same way: an error becomes a bare HTTP error answer on the
 * socket (or its destruction) and a log line. The socket gets an `error` listener at once:
 * after an upgrade Node's server no longer listens for the socket's errors, and an unheard
 * `error` (a reset by the client) would end the process.
 */
export function guardUpgrade(log: GuardLog, handler: UpgradeHandler): UpgradeHandler {
  const fail = (req: IncomingMessage, socket: Duplex, err: unknown) => {
    const status = statusForError(err);
    report(log, err, req, status, 'upgrade handler failed; answered with an error');
    if (socket.destroyed) return;
    try {
      rejectUpgrade(socket, status, STATUS_TEXT[status] ?? 'Error');
    } catch {
      socket.destroy();
    }
  };
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      const result = handler(req, socket, head);
      if (result instanceof Promise) result.catch((err: unknown) => fail(req, socket, err));
    } catch (err) {
      fail(req, socket, err);
    }
  };
}

/**
 * Wraps an event listener of an open connection (a WebSocket's `message`): an error it throws,
 * or a promise it rejects, is logged and `fail` ends that one connection (close with 1011),
 * never the process.
 */
export function guardListener<A extends unknown[]>(
  log: GuardLog,
  what: string,
  fail: (err: unknown) => void,
  listener: (...args: A) => unknown,
): (...args: A) => void {
  const failed = (err: unknown) => {
    log.error(
      {
        err: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      },
      `${what} failed`,
    );
    try {
      fail(err);
    } catch {
      // Ending the connection is best effort: it may be gone already.
    }
  };
  return (...args) => {
    try {
      const result = listener(...args);
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  };
}

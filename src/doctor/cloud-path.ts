import { connect, type Socket } from 'node:net';
import type { Clock } from '../clock/clock.ts';
import { http } from '../runtime/node-http.ts';

/** Why the way to the cloud failed: a socket error code, or the proxy's HTTP status. */
export class PathError extends Error {
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'PathError';
    this.code = code;
    this.status = status;
  }
}

/** The host and port a URL names, the default port of its scheme filled in. */
export function hostPort(url: URL): { host: string; port: number } {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  return { host, port: Number(url.port || (secure ? 443 : 80)) };
}

/** Runs work with a deadline on the given clock; on timeout, calls abort and rejects with ETIMEDOUT. */
export function withDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  what: string,
  work: (abort: (cleanup: () => void) => void) => Promise<T>,
): Promise<T> {
  let cleanup = () => {};
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      cleanup();
      reject(new PathError('ETIMEDOUT', `${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    work((c) => {
      cleanup = c;
    }).then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** A TCP connection to host:port, or a PathError with the socket's error code. */
export function connectTcp(clock: Clock, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return withDeadline(clock, timeoutMs, `connecting to ${host}:${port}`, (onAbort) => {
    const socket = connect({ host, port });
    onAbort(() => socket.destroy());
    return new Promise<Socket>((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(new PathError(err.code ?? 'ECONNECT', `${host}:${port}: ${err.message}`)),
      );
    });
  });
}

/**
 * Asks an HTTP proxy for a CONNECT tunnel to host:port, with Basic credentials from the
 * proxy URL as the gateway sends them (https-proxy-agent decodes them the same way).
 * Resolves with the tunnel's socket; a refusal is a PathError carrying the proxy's status.
 */
export function proxyConnect(
  clock: Clock,
  proxy: URL,
  target: { host: string; port: number },
  timeoutMs: number,
): Promise<Socket> {
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxy.username || proxy.password) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const { host, port } = hostPort(proxy);
  return withDeadline(clock, timeoutMs, `CONNECT through the proxy ${host}:${port}`, (onAbort) => {
    const req = http.request({ host, port, method: 'CONNECT', path: authority, headers, agent: false });
    onAbort(() => req.destroy());
    return new Promise<Socket>((resolve, reject) => {
      req.once('connect', (res, socket) => {
        if (res.statusCode === 200) {
          resolve(socket);
          return;
        }
        socket.destroy();
        const status = res.statusCode ?? 0;
        reject(new PathError(`HTTP_${status}`, `${status} ${res.statusMessage ?? ''}`.trim(), status));
      });
      req.once('error', (err: NodeJS.ErrnoException) =>
        reject(new PathError(err.code ?? 'ECONNECT', `the proxy ${host}:${port}: ${err.message}`)),
      );
      req.end();
    });
  });
}

import { createServer } from 'node:net';
import { http } from '../runtime/node-http.ts';
import type { CheckResult } from './check-result.ts';
import type { CheckContext } from './cloud-checks.ts';
import { withDeadline } from './cloud-path.ts';

/** Binds host:port for a moment; resolves with null when it could, else the error's code. */
function tryListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Whether a running gateway answers GET /health on host:port (its status page does). */
async function gatewayAnswers(ctx: CheckContext, host: string, port: number): Promise<boolean> {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  try {
    return await withDeadline(ctx.clock, ctx.timeoutMs, 'GET /health', (onAbort) => {
      const req = http.request({ host: target, port, path: '/health', agent: false });
      onAbort(() => req.destroy());
      return new Promise<boolean>((resolve, reject) => {
        req.once('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve(res.statusCode === 200 && /"uptimeMs"/.test(body)));
        });
        req.once('error', reject);
        req.end();
      });
    });
  } catch {
    return false;
  }
}

/**
 * Can a listener of the gateway (the status page, the push proxy) have its port: free, or
 * held by the running gateway itself; a port another program holds, or an address this
 * box does not have, is a failure.
 */
export async function checkListen(
  ctx: CheckContext,
  check: string,
  key: string,
  listen: { host: string; port: number },
): Promise<CheckResult> {
  const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const code = await tryListen(listen.host, listen.port);
  if (code === null) return { check, status: 'ok', message: `${where} is free` };
  if (code === 'EADDRINUSE') {
    if (await gatewayAnswers(ctx, listen.host, listen.port)) {
      return { check, status: 'ok', message: `${where} is served by the running gateway` };
    }
    return {
      check,
      status: 'fail',
      message: `${where} is taken by another program`,
      fix: `stop that program (\`ss -ltnp 'sport = :${listen.port}'\` names it) or choose another ${key}.port`,
    };
  }
  if (code === 'EADDRNOTAVAIL') {
    return {
      check,
      status: 'fail',
      message: `this box has no address ${listen.host}`,
      fix: `set ${key}.host to one of this box’s addresses (\`ip -brief address\`), or 0.0.0.0 for all`,
    };
  }
  if (code === 'EACCES') {
    return {
      check,
      status: 'fail',
      message: `${where} needs privileges the service does not have (${code})`,
      fix: `choose a ${key}.port of 1024 or above`,
    };
  }
  return { check, status: 'fail', message: `cannot listen on ${where} (${code})`, fix: `check ${key}` };
}

import { lookup } from 'node:dns/promises';
import type { Agent } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import { formatDuration } from '../calendar/duration.ts';
import type { Clock } from '../clock/clock.ts';
import { lineHeaders } from '../gateway/link/line-supervisor.ts';
import { describeProxy } from '../gateway/link/proxy.ts';
import { http } from '../runtime/node-http.ts';
import type { CheckResult } from './check-result.ts';
import { connectTcp, hostPort, PathError, proxyConnect, withDeadline } from './cloud-path.ts';

/** How the gateway reaches its cloud, as `run` would: URL, proxy, extra CA, credentials. */
export interface CloudTarget {
  url: URL;
  proxy: URL | null;
  /** The daemon's agent for the push lines (through the proxy), if any. */
  agent?: Agent;
  /** Replaces the default CAs, as cloud.caFile does for the daemon. */
  ca?: Buffer;
  caFile?: string;
  gatewayId: string;
  token: string;
}

export interface CheckContext {
  clock: Clock;
  /** Longest wait for any one answer. */
  timeoutMs: number;
}

/** A clock this far from the cloud's is worth a warning; this far, a failure. */
const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 5 * 60_000;
/** A cloud certificate that expires this soon is worth a warning. */
const CERT_WARN_MS = 14 * 86_400_000;

const CLOCK_FIX =
  'let this box reach a time server: `timedatectl timesync-status` shows what it syncs with; offices often block NTP (UDP 123), then set the LAN’s time server in /etc/systemd/timesyncd.conf';

/** DNS: the name the gateway itself must resolve (the proxy's, when it uses one). */
export async function checkDns(ctx: CheckContext, target: CloudTarget): Promise<CheckResult> {
  const via = target.proxy ?? target.url;
  const { host } = hostPort(via);
  const what = target.proxy ? `the proxy ${host}` : host;
  if (isIP(host) !== 0)
    return { check: 'dns', status: 'ok', message: `${what} is an address: nothing to resolve` };
  try {
    const found = await withDeadline(ctx.clock, ctx.timeoutMs, `resolving ${host}`, () =>
      lookup(host, { all: true }),
    );
    const note = target.proxy ? ' (the proxy resolves the cloud’s name itself)' : '';
    return {
      check: 'dns',
      status: 'ok',
      message: `${what} resolves to ${found.map((a) => a.address).join(', ')}${note}`,
    };
  } catch (err) {
    return {
      check: 'dns',
      status: 'fail',
      message: `cannot resolve ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      fix: `check the host name in ${target.proxy ? 'cloud.proxy (or MFPGW_PROXY / HTTPS_PROXY)' : 'cloud.url'} and this box’s DNS server (resolvectl status, /etc/resolv.conf)`,
    };
  }
}

/**
 * A socket to the cloud's host and port, through the proxy's CONNECT tunnel or direct,
 * and the proxy (or connect) check's line for how that went.
 */
export async function openCloudSocket(
  ctx: CheckContext,
  target: CloudTarget,
): Promise<{ socket?: Socket; result: CheckResult }> {
  const cloud = hostPort(target.url);
  const name = `${cloud.host}:${cloud.port}`;
  if (!target.proxy) {
    try {
      const socket = await connectTcp(ctx.clock, cloud.host, cloud.port, ctx.timeoutMs);
      return { socket, result: { check: 'connect', status: 'ok', message: `${name} accepts connections` } };
    } catch (err) {
      return {
        result: {
          check: 'connect',
          status: 'fail',
          message: `cannot connect to ${name} (${(err as PathError).code})`,
          fix: 'check the port in cloud.url; if this site only lets traffic out through an HTTP proxy, set cloud.proxy (or HTTPS_PROXY)',
        },
      };
    }
  }
  try {
    const socket = await proxyConnect(ctx.clock, target.proxy, cloud, ctx.timeoutMs);
    const user = target.proxy.username ? ` as user "${decodeURIComponent(target.proxy.username)}"` : '';
    const message = `${describeProxy(target.proxy)} opens a tunnel to ${name}${user}`;
    return { socket, result: { check: 'proxy', status: 'ok', message } };
  } catch (err) {
    return { result: proxyFailure(target.proxy, name, err as PathError) };
  }
}

function proxyFailure(proxy: URL, name: string, err: PathError): CheckResult {
  const where = 'cloud.proxy (or MFPGW_PROXY / HTTPS_PROXY)';
  const result = (message: string, fix: string): CheckResult => ({
    check: 'proxy',
    status: 'fail',
    message,
    fix,
  });
  if (err.status === 407) {
    if (!proxy.username) {
      return result(
        `the proxy wants a user and password (${err.message})`,
        `put them in the proxy URL in ${where}: http://user:password@host:port`,
      );
    }
    return result(
      `the proxy refused the password of user "${decodeURIComponent(proxy.username)}" (${err.message})`,
      `check the user and password in ${where}; write special characters percent-encoded, e.g. %40 for @`,
    );
  }
  if (err.status === 403) {
    return result(
      `the proxy does not let this box tunnel to ${name} (${err.message})`,
      `ask the proxy’s administrator to allow CONNECT to ${name}`,
    );
  }
  if (err.status !== undefined) {
    return result(
      `the proxy answered CONNECT ${name} with ${err.message}`,
      `check ${where} and the proxy’s log`,
    );
  }
  return result(
    `cannot reach the proxy ${describeProxy(proxy)} (${err.code})`,
    `check the proxy’s address in ${where}`,
  );
}

/** Leaves the socket as it is for ws://; for wss://, a TLS session whose verification we read (not enforce). */
async function secure(
  ctx: CheckContext,
  target: CloudTarget,
  socket: Socket,
): Promise<{ stream: Socket; tls: CheckResult | null }> {
  if (target.url.protocol !== 'wss:') return { stream: socket, tls: null };
  const { host } = hostPort(target.url);
  let tls: TLSSocket;
  try {
    tls = await withDeadline(ctx.clock, ctx.timeoutMs, `TLS with ${host}`, (onAbort) => {
      // Not enforced here so that the clock check can still read the cloud's time; the
      // verdict is read from `authorized` below, with the trust the daemon uses.
      const s = tlsConnect({
        socket,
        servername: isIP(host) === 0 ? host : undefined,
        ca: target.ca,
        rejectUnauthorized: false,
      });
      onAbort(() => s.destroy());
      return new Promise<TLSSocket>((resolve, reject) => {
        s.once('secureConnect', () => resolve(s));
        s.once('error', reject);
      });
    });
  } catch (err) {
    socket.destroy();
    throw new PathError('TLS', `no TLS at ${host}: ${(err as Error).message}`);
  }
  return { stream: tls, tls: tlsVerdict(ctx, target, tls) };
}

function tlsVerdict(ctx: CheckContext, target: CloudTarget, tls: TLSSocket): CheckResult {
  const { host } = hostPort(target.url);
  const cert = tls.getPeerCertificate();
  const validTo = Date.parse(cert.valid_to);
  const until = new Date(validTo).toISOString().slice(0, 10);
  const issuer = cert.issuer?.CN ?? cert.issuer?.O ?? 'unknown';
  if (tls.authorized) {
    const left = validTo - ctx.clock.now();
    if (left < CERT_WARN_MS) {
      return {
        check: 'tls',
        status: 'warn',
        message: `the cloud’s certificate for ${host} expires in ${formatDuration(Math.max(0, left))} (${until})`,
        fix: 'renew the cloud’s certificate before then, or the gateway’s lines will be refused',
      };
    }
    return {
      check: 'tls',
      status: 'ok',
      message: `certificate of ${host} verified, valid until ${until} (issuer: ${issuer})`,
    };
  }
  const code = String(tls.authorizationError);
  const fail = (message: string, fix: string): CheckResult => ({
    check: 'tls',
    status: 'fail',
    message,
    fix,
  });
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return fail(
        `the cloud’s certificate for ${host} expired on ${until}`,
        'renew the cloud’s certificate; if it is not expired, this box’s clock is ahead (see the clock check)',
      );
    case 'CERT_NOT_YET_VALID':
      return fail(
        `the cloud’s certificate for ${host} is not valid yet (from ${new Date(Date.parse(cert.valid_from)).toISOString().slice(0, 10)}): this box’s clock is probably behind`,
        CLOCK_FIX,
      );
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return fail(
        `the cloud’s certificate is not for ${host} (${code})`,
        'use the host name the certificate names in cloud.url, or give the cloud a certificate for this name',
      );
    default:
      return fail(
        `the cloud’s certificate for ${host} is not signed by a CA this box trusts (${code}; issuer: ${issuer})`,
        target.caFile
          ? `cloud.caFile (${target.caFile}) must hold the CA certificate that signed the cloud’s certificate`
          : 'if the cloud uses a private CA, put that CA’s certificate (PEM) in cloud.caFile',
      );
  }
}

/** Reads the cloud's time from the Date header of GET /health over the given stream. */
function cloudDate(
  ctx: CheckContext,
  target: CloudTarget,
  stream: Socket,
): Promise<{ date: number; sentAt: number; at: number }> {
  const { host, port } = hostPort(target.url);
  const sentAt = ctx.clock.now();
  return withDeadline(ctx.clock, ctx.timeoutMs, `GET /health from ${host}`, (onAbort) => {
    const req = http.request({
      createConnection: () => stream,
      method: 'GET',
      path: '/health',
      headers: { host: `${host}:${port}` },
    });
    onAbort(() => req.destroy());
    return new Promise((resolve, reject) => {
      req.once('response', (res) => {
        const at = ctx.clock.now();
        res.resume();
        const date = Date.parse(String(res.headers.date ?? ''));
        stream.destroy();
        if (Number.isNaN(date)) reject(new PathError('NO_DATE', 'the cloud’s answer has no Date header'));
        else resolve({ date, sentAt, at });
      });
      req.once('error', reject);
      req.end();
    });
  });
}

/** The clock check: this box's time against the cloud's Date (1 s resolution; the midpoint of the exchange). */
function clockVerdict(sample: { date: number; sentAt: number; at: number }): CheckResult {
  // A Date header truncates to the second: the cloud's time lies in [date, date + 1 s).
  const skew = sample.sentAt / 2 + sample.at / 2 - (sample.date + 500);
  const off = formatDuration(Math.abs(skew));
  const way = skew > 0 ? 'ahead of' : 'behind';
  if (Math.abs(skew) <= SKEW_WARN_MS) {
    return {
      check: 'clock',
      status: 'ok',
      message: `this box’s clock agrees with the cloud’s (within ${formatDuration(SKEW_WARN_MS)})`,
    };
  }
  return {
    check: 'clock',
    status: Math.abs(skew) > SKEW_FAIL_MS ? 'fail' : 'warn',
    message: `this box’s clock is ${off} ${way} the cloud’s: certificates may look expired or not yet valid, logs misleading`,
    fix: CLOCK_FIX,
  };
}

/**
 * The proxy (or direct connection), TLS and clock checks over one connection to the cloud:
 * the TLS verdict is read, not enforced, so that the cloud's time can still be read.
 */
export async function checkPathTlsClock(ctx: CheckContext, target: CloudTarget): Promise<CheckResult[]> {
  const opened = await openCloudSocket(ctx, target);
  if (!opened.socket) return [opened.result];
  const results: CheckResult[] = [opened.result];
  let stream: Socket;
  try {
    const secured = await secure(ctx, target, opened.socket);
    stream = secured.stream;
    if (secured.tls) results.push(secured.tls);
  } catch (err) {
    const { host, port } = hostPort(target.url);
    results.push({
      check: 'tls',
      status: 'fail',
      message: (err as Error).message,
      fix: `check cloud.url: wss:// needs the port where the cloud serves TLS (${host}:${port} did not)`,
    });
    return results;
  }
  try {
    results.push(clockVerdict(await cloudDate(ctx, target, stream)));
  } catch (err) {
    results.push({
      check: 'clock',
      status: 'warn',
      message: `could not read the cloud’s time (${(err as Error).message})`,
      fix: 'make sure the cloud (or its load balancer) answers GET /health',
    });
  }
  return results;
}

/**
 * The token check: opens the push WebSocket exactly as the daemon does (its proxy agent,
 * CA and credentials) and closes it at once, before any hello: the cloud decides on the
 * token at the upgrade, so nothing is registered and no line is disturbed.
 */
export async function checkToken(ctx: CheckContext, target: CloudTarget): Promise<CheckResult> {
  const fail = (message: string, fix: string): CheckResult => ({
    check: 'token',
    status: 'fail',
    message,
    fix,
  });
  try {
    await withDeadline(ctx.clock, ctx.timeoutMs, 'the push endpoint', (onAbort) => {
      const ws = new WebSocket(target.url, {
        headers: lineHeaders(target.gatewayId, target.token),
        agent: target.agent,
        ca: target.ca,
        perMessageDeflate: false,
        followRedirects: false,
      });
      onAbort(() => ws.terminate());
      return new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          ws.close(1000, 'doctor');
          resolve();
        });
        ws.once('unexpected-response', (req, res) => {
          req.destroy();
          reject(new PathError(`HTTP_${res.statusCode}`, `HTTP ${res.statusCode}`, res.statusCode));
        });
        ws.once('error', (err: NodeJS.ErrnoException) =>
          reject(new PathError(err.code ?? 'ERROR', err.message)),
        );
      });
    });
  } catch (err) {
    const e = err as PathError;
    if (e.status === 401 || e.status === 403) {
      return fail(
        `the cloud refused gateway "${target.gatewayId}" with this token (${e.message})`,
        'check gateway.id and cloud.token (or MFPGW_CLOUD_TOKEN) against what the cloud registered for this gateway',
      );
    }
    if (e.status === 404) {
      return fail(
        `no push endpoint at ${target.url.href} (${e.message})`,
        'check the path in cloud.url (e.g. /push)',
      );
    }
    return fail(
      `the push endpoint did not open (${e.message})`,
      'see the checks above; then the cloud’s log',
    );
  }
  return {
    check: 'token',
    status: 'ok',
    message: `the cloud accepts gateway "${target.gatewayId}" and its token`,
  };
}

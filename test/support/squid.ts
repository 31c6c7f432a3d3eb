/**
 * Test harness: runs a real Squid (Debian package `squid`) as an authenticating HTTP
 * CONNECT proxy with a short idle timeout, standing in for the office proxy that kills idle
 * push connections.
 *
 * Each call to startSquid() runs its own `squid -N` (foreground, no daemon, no kids) with its
 * own config, temp dir (pid file, logs, password file), loopback port and service name (Squid
 * names its /dev/shm segments after the service name, so parallel instances must differ).
 * It never touches the system squid service or /etc/squid.
 *
 * What kills an idle CONNECT tunnel in Squid 5.7 is `read_timeout`: tunnel.cc re-arms it on
 * both legs of the tunnel whenever bytes move in either direction, and closes both legs when
 * it fires. `client_lifetime` (default 1 day) caps a tunnel's total life and is left alone.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { reapOnExit } from './reap-on-exit.ts';

export const SQUID_BIN = '/usr/sbin/squid';
export const SQUID_NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';
/** The account Debian's squid drops to when started as root (built --with-default-user=proxy). */
const SQUID_EFFECTIVE_USER = 'proxy';

const READY_DEADLINE_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const KILL_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 3;
const STDERR_LIMIT = 64 * 1024;

export interface SquidOptions {
  /** user name → clear-text password accepted by the proxy (Basic auth). */
  users: Record<string, string>;
  /** Seconds a CONNECT tunnel may stay idle (no bytes either way) before Squid closes it. */
  idleTimeoutSec: number;
  /** Listen on this port (a restarted proxy in front of the same gateways); default: a free one. */
  port?: number;
}

export interface SquidHandle {
  host: string;
  port: number;
  /**
   * `http://[user:password@]host:port`. With a user and no password, the password given to
   * startSquid() for that user is used; with no user, the URL carries no credentials.
   */
  proxyUrl(user?: string, password?: string): string;
  /**
   * Stops squid (SIGINT, then SIGKILL if it lingers) and removes its temp dir. Idempotent.
   * The port stops accepting at once; squid's own shutdown takes about 2 s. SIGKILL: a crash,
   * every tunnel cut at once.
   */
  stop(signal?: 'SIGINT' | 'SIGKILL'): Promise<void>;
  /** squid's stderr, cache.log and access.log, for diagnostics. */
  logs(): Promise<string>;
}

/** Throws a clear error when the squid binary is missing (it is installed by the CI install script). */
export function assertSquidInstalled(): void {
  if (!existsSync(SQUID_BIN) || !existsSync(SQUID_NCSA_AUTH)) {
    throw new Error(
      `Squid is not installed (${SQUID_BIN} or ${SQUID_NCSA_AUTH} missing). ` +
        'These tests need a real Squid: run the CI install script (it does `apt-get install -y squid`), ' +
        'or install the Debian package yourself: apt-get update && apt-get install -y squid',
    );
  }
}

let instanceCounter = 0;

export async function startSquid(opts: SquidOptions): Promise<SquidHandle> {
  assertSquidInstalled();
  validateOptions(opts);
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(opts, opts.port ?? (await freePort()));
    } catch (err) {
      // freePort() releases the port before squid binds it: someone else may have taken it.
      if (err instanceof PortInUseError) {
        lastError = err;
        continue;
      }
      throw err;
    }
  }
  throw lastError ?? new Error('startSquid: could not start');
}

class PortInUseError extends Error {}

function validateOptions(opts: SquidOptions): void {
  if (!Number.isInteger(opts.idleTimeoutSec) || opts.idleTimeoutSec < 1) {
    throw new Error(`startSquid: idleTimeoutSec must be a positive integer, got ${opts.idleTimeoutSec}`);
  }
  for (const [user, password] of Object.entries(opts.users)) {
    if (user === '' || /[:\s]/.test(user))
      throw new Error(`startSquid: invalid user name ${JSON.stringify(user)}`);
    if (/[\r\n]/.test(password)) throw new Error(`startSquid: password of ${user} contains a line break`);
  }
}

function renderConfig(dir: string, port: number, idleTimeoutSec: number, asRoot: boolean): string {
  return [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log squid`,
    'cache_store_log none',
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    'netdb_filename none',
    'pinger_enable off',
    'cache deny all',
    'cache_mem 8 MB',
    'visible_hostname mfp-gateway-test-squid',
    // No grace period for open connections on SIGINT/SIGTERM; squid still needs ~2 s to exit.
    'shutdown_lifetime 0 seconds',
    'max_filedescriptors 1024',
    ...(asRoot ? [`cache_effective_user ${SQUID_EFFECTIVE_USER}`] : []),
    // The idle timeout of an established CONNECT tunnel (re-armed by traffic either way).
    `read_timeout ${idleTimeoutSec} seconds`,
    'connect_timeout 5 seconds',
    `auth_param basic program ${SQUID_NCSA_AUTH} ${dir}/passwd`,
    'auth_param basic children 2 startup=1 idle=1',
    'auth_param basic realm mfp-gateway-test',
    'acl authed proxy_auth REQUIRED',
    'acl CONNECT method CONNECT',
    'acl loopback_dst dst 127.0.0.1',
    // Order matters: a request without (valid) credentials gets 407 before anything else.
    'http_access deny !authed',
    'http_access allow CONNECT loopback_dst',
    'http_access deny all',
    '',
  ].join('\n');
}

/** basic_ncsa_auth accepts a plain hex MD5 digest of the password, so no htpasswd/openssl is needed. */
function renderPasswd(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([user, password]) => `${user}:${createHash('md5').update(password, 'utf8').digest('hex')}\n`)
    .join('');
}

async function lookupUser(name: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`startSquid: running as root but there is no '${name}' user for squid to drop to`);
}

async function startOnce(opts: SquidOptions, port: number): Promise<SquidHandle> {
  const host = '127.0.0.1';
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-squid-'));
  if (/\s/.test(dir)) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `startSquid: squid.conf cannot hold the temp dir path ${JSON.stringify(dir)} (whitespace)`,
    );
  }
  const serviceName = `mfpgw${process.pid}n${++instanceCounter}`;
  const files = {
    conf: join(dir, 'squid.conf'),
    passwd: join(dir, 'passwd'),
    cacheLog: join(dir, 'cache.log'),
    accessLog: join(dir, 'access.log'),
  };
  await writeFile(files.conf, renderConfig(dir, port, opts.idleTimeoutSec, asRoot));
  await writeFile(files.passwd, renderPasswd(opts.users), { mode: 0o600 });
  if (asRoot) {
    // squid drops to the proxy user: it must be able to write its logs/pid and read passwd.
    const { uid, gid } = await lookupUser(SQUID_EFFECTIVE_USER);
    for (const path of [dir, files.conf, files.passwd]) await chown(path, uid, gid);
  }

  let stderr = '';
  const child = spawn(SQUID_BIN, ['-N', '-d', '1', '-f', files.conf, '-n', serviceName], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  reapOnExit(child);
  const onOutput = (chunk: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `spawn error: ${err.message}`;
      resolve();
    });
  });

  const readFileOr = async (path: string) => readFile(path, 'utf8').catch(() => '(missing)');
  const logs = async () =>
    [
      `--- squid stderr (${SQUID_BIN}, service ${serviceName}, ${host}:${port}) ---`,
      stderr,
      `--- ${files.cacheLog} ---`,
      await readFileOr(files.cacheLog),
      `--- ${files.accessLog} ---`,
      await readFileOr(files.accessLog),
    ].join('\n');

  let stopped: Promise<void> | undefined;
  const stop = (signal: 'SIGINT' | 'SIGKILL' = 'SIGINT') => {
    stopped ??= (async () => {
      if (exitInfo === undefined) {
        child.kill(signal);
        if (!(await within(exited, STOP_GRACE_MS))) {
          child.kill('SIGKILL');
          await within(exited, KILL_GRACE_MS);
        }
      }
      await rm(dir, { recursive: true, force: true });
      await removeShmSegments(serviceName);
    })();
    return stopped;
  };

  const handle: SquidHandle = {
    host,
    port,
    proxyUrl(user?: string, password?: string) {
      if (user === undefined) return `http://${host}:${port}`;
      const pw = password ?? opts.users[user];
      if (pw === undefined) throw new Error(`proxyUrl: unknown user ${user} and no password given`);
      return `http://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${host}:${port}`;
    },
    stop,
    logs,
  };

  // Ready = squid says it accepts on our port AND the port takes a TCP connection. Checking the
  // log line too makes sure the listener we reach is ours, not a squatter on a reused port.
  const deadline = Date.now() + READY_DEADLINE_MS;
  const acceptLine = `local=${host}:${port} `;
  for (;;) {
    if (exitInfo !== undefined) {
      const text = await logs();
      await stop();
      if (/Address already in use|Cannot open HTTP Port/i.test(text)) {
        throw new PortInUseError(`squid could not bind ${host}:${port}\n${text}`);
      }
      throw new Error(`squid exited during startup (${exitInfo})\n${text}`);
    }
    if (Date.now() > deadline) {
      const text = await logs();
      await stop();
      throw new Error(
        `squid did not accept connections on ${host}:${port} within ${READY_DEADLINE_MS} ms\n${text}`,
      );
    }
    if (stderr.includes('Accepting HTTP Socket connections') && stderr.includes(acceptLine)) {
      if (await canConnect(host, port)) return handle;
    }
    await Promise.race([exited, delay(50)]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true if `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** squid removes its shm segments on a clean exit; after a SIGKILL they would stay behind. */
async function removeShmSegments(serviceName: string): Promise<void> {
  const entries = await readdir('/dev/shm').catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((name) => name.startsWith(`${serviceName}-`))
      .map((name) => rm(join('/dev/shm', name), { force: true })),
  );
}

/**
 * Test harness: a throwaway PostgreSQL cluster (Debian package `postgresql`) — initdb in a
 * temp dir, a password-protected superuser, TCP on a free loopback port, no Unix socket —
 * torn down with its files. Durability is switched off (fsync, synchronous_commit): the
 * cluster lives for one test file, so it starts in about a second. PostgreSQL refuses to
 * run as root, so under root (CI) both initdb and the server run as the `postgres` user the
 * package creates.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { onFreePort, PeerProcess } from './peer-process.ts';

const PG_ROOT = '/usr/lib/postgresql';
const READY_DEADLINE_MS = 15_000;
const SUPERUSER = 'mfp';

export interface PostgresHandle {
  readonly port: number;
  /** `postgres://mfp:…@127.0.0.1:PORT/postgres`: the cluster's maintenance database. */
  readonly url: string;
  /** Creates a fresh, empty database and returns its URL (one per test keeps them apart). */
  createDatabase(): Promise<string>;
  /** Stops the server and removes its files. Idempotent. */
  dispose(): Promise<void>;
  /** The server's own log, for diagnostics. */
  log(): string;
}

/** The newest installed server's bin directory; throws a clear error when there is none. */
function serverBinDir(): string {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (!newest) {
    throw new Error(
      `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb). These tests need a real server: ` +
        'run `sudo bash .ci/install-peers.sh`, or apt-get install -y postgresql',
    );
  }
  return join(PG_ROOT, newest, 'bin');
}

/** Under root, the uid/gid of the `postgres` user to run as; undefined otherwise. */
async function dropTo(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === 'postgres') return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(
    'startPostgres: running as root but there is no `postgres` user (apt-get install postgresql)',
  );
}

let databases = 0;

/** Initialises a cluster in a temp dir and starts it on a free port. */
export async function startPostgres(): Promise<PostgresHandle> {
  const bin = serverBinDir();
  const user = await dropTo();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-postgres-'));
  const password = randomBytes(12).toString('hex');
  try {
    const pwfile = join(dir, 'pw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) for (const path of [dir, pwfile]) await chown(path, user.uid, user.gid);
    await promisify(execFile)(
      join(bin, 'initdb'),
      [
        '-D',
        join(dir, 'data'),
        '--no-sync',
        '--no-instructions',
        '-E',
        'UTF8',
        '--locale=C',
        '-U',
        SUPERUSER,
        '--auth=scram-sha-256',
        `--pwfile=${pwfile}`,
      ],
      { ...user },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  try {
    return await onFreePort('startPostgres', (port) => new Server(bin, dir, port, password, user));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class Server implements PostgresHandle {
  readonly port: number;
  readonly url: string;
  private readonly process = new PeerProcess();
  private disposed = false;
  private readonly password: string;
  private readonly bin: string;
  private readonly dir: string;
  private readonly user: { uid: number; gid: number } | undefined;

  constructor(
    bin: string,
    dir: string,
    port: number,
    password: string,
    user: { uid: number; gid: number } | undefined,
  ) {
    this.bin = bin;
    this.dir = dir;
    this.user = user;
    this.port = port;
    this.password = password;
    this.url = this.databaseUrl('postgres');
  }

  private databaseUrl(name: string): string {
    return `postgres://${SUPERUSER}:${this.password}@127.0.0.1:${this.port}/${name}`;
  }

  start(): Promise<void> {
    return this.process.start({
      name: 'postgres',
      bin: join(this.bin, 'postgres'),
      args: [
        '-D',
        join(this.dir, 'data'),
        '-c',
        'listen_addresses=127.0.0.1',
        '-p',
        String(this.port),
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      ...(this.user ? { spawn: this.user } : {}),
      ready: (output) => output.includes('ready to accept connections'),
      portInUse: /could not bind|Address already in use/i,
      readyDeadlineMs: READY_DEADLINE_MS,
    });
  }

  async createDatabase(): Promise<string> {
    const name = `t${process.pid}_${++databases}`;
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name} STRATEGY = FILE_COPY`);
    } finally {
      await client.end();
    }
    return this.databaseUrl(name);
  }

  /** "Fast shutdown" (SIGINT): disconnects clients, no waiting for them. */
  stop(): Promise<void> {
    return this.process.stop('SIGINT');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  log(): string {
    return this.process.output;
  }
}

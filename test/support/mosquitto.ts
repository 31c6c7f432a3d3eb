/**
 * Test harness: runs a real Mosquitto (Debian package `mosquitto`) with its own config,
 * password file and persistence in a temp dir, on a free loopback port. It never touches the
 * system mosquitto service or /etc/mosquitto. The broker can be stopped and started again on
 * the same port with its persisted state (a broker restart), or killed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePort, PeerProcess } from './peer-process.ts';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD_BIN = '/usr/bin/mosquitto_passwd';

const READY_DEADLINE_MS = 10_000;

export interface MosquittoOptions {
  /** user name → password; anonymous clients are refused. */
  users: Record<string, string>;
  /**
   * `max_keepalive`: MQTT 5 clients asking for more get this as Server Keep Alive in CONNACK
   * (default: none, so the client's keep-alive stands).
   */
  maxKeepalive?: number;
  /** Log every packet (PINGREQ, CONNECT with its keep-alive, …) to `log()`. */
  debugLog?: boolean;
}

export interface MosquittoHandle {
  readonly port: number;
  /** `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the broker gracefully (it saves its persistence file). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same state. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. Idempotent. */
  dispose(): Promise<void>;
  /** Mosquitto's own log, for diagnostics. */
  log(): string;
}

/** Throws a clear error when mosquitto is missing (the CI install script installs it). */
export function assertMosquittoInstalled(): void {
  if (!existsSync(MOSQUITTO_BIN) || !existsSync(MOSQUITTO_PASSWD_BIN)) {
    throw new Error(
      `Mosquitto is not installed (${MOSQUITTO_BIN} missing). These tests need a real broker: ` +
        'run `sudo bash .ci/install-peers.sh`, or apt-get install -y mosquitto',
    );
  }
}

/** Starts a password-protected Mosquitto on a free port. */
export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoHandle> {
  assertMosquittoInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-mosquitto-'));
  try {
    const passwd = join(dir, 'passwd');
    await writeFile(passwd, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(options.users)) {
      execFileSync(MOSQUITTO_PASSWD_BIN, ['-b', passwd, user, password]);
    }
    return await onFreePort('startMosquitto', (port) => new Broker(dir, passwd, port, options));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class Broker implements MosquittoHandle {
  readonly port: number;
  readonly url: string;
  private readonly process = new PeerProcess();
  private disposed = false;
  private readonly dir: string;
  private readonly passwd: string;
  private readonly extra: string[];

  constructor(dir: string, passwd: string, port: number, options: MosquittoOptions) {
    this.dir = dir;
    this.passwd = passwd;
    this.extra = [
      ...(options.maxKeepalive === undefined ? [] : [`max_keepalive ${options.maxKeepalive}`]),
      ...(options.debugLog ? ['log_type debug'] : []),
    ];
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${this.passwd}`,
        'persistence true',
        `persistence_location ${this.dir}/`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        ...this.extra,
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        '',
      ].join('\n'),
    );
    await this.process.start({
      name: 'mosquitto',
      bin: MOSQUITTO_BIN,
      args: ['-c', conf],
      ready: async (output) =>
        output.includes(`listen socket on port ${this.port}`) && (await canConnect(this.port)),
      portInUse: /Address already in use/i,
      readyDeadlineMs: READY_DEADLINE_MS,
      pollMs: 50,
    });
  }

  stop(): Promise<void> {
    return this.process.stop();
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

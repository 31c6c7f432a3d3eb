/**
 * Test harness: a real nats-server (Debian package `nats-server`) on a free loopback port,
 * requiring a token, with no monitoring port and no JetStream: the cloud uses core NATS only.
 * It starts in a few milliseconds; kill() stops it abruptly (a broker crash).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { freePort } from './free-port.ts';
import { reapOnExit } from './reap-on-exit.ts';

export const NATS_SERVER_BIN = '/usr/sbin/nats-server';

const READY_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

export interface NatsHandle {
  readonly port: number;
  /** `nats://127.0.0.1:PORT` (without the token). */
  readonly url: string;
  /** The token clients must present. */
  readonly token: string;
  /** Stops the server. Idempotent. */
  dispose(): Promise<void>;
  /** The server's own log, for diagnostics. */
  log(): string;
}

class PortInUseError extends Error {}

/** Starts a token-protected nats-server on a free port. */
export async function startNats(): Promise<NatsHandle> {
  if (!existsSync(NATS_SERVER_BIN)) {
    throw new Error(
      `nats-server is not installed (${NATS_SERVER_BIN} missing). These tests need a real server: ` +
        'run `sudo bash .ci/install-peers.sh`, or apt-get install -y nats-server',
    );
  }
  const token = randomBytes(16).toString('hex');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const server = new Server(await freePort(), token);
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.dispose();
      if (!(err instanceof PortInUseError)) throw err;
      lastError = err;
    }
  }
  throw lastError ?? new Error('startNats: could not start');
}

class Server implements NatsHandle {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  readonly port: number;
  readonly token: string;

  constructor(port: number, token: string) {
    this.port = port;
    this.token = token;
    this.url = `nats://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(this.port), '--auth', this.token], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    reapOnExit(child);
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal ?? `code ${code}`;
        resolve();
      });
    });
    const collect = (d: Buffer) => {
      this.output += d.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + READY_DEADLINE_MS;
    for (;;) {
      if (exitInfo !== undefined) {
        if (/address already in use/i.test(this.output)) throw new PortInUseError(this.output);
        throw new Error(`nats-server exited during startup (${exitInfo}):\n${this.output}`);
      }
      if (Date.now() > deadline)
        throw new Error(`nats-server did not get ready on ${this.port}:\n${this.output}`);
      if (this.output.includes('Server is ready')) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async dispose(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  log(): string {
    return this.output;
  }
}

/**
 * Test harness: a real nats-server (Debian package `nats-server`) on a free loopback port,
 * requiring a token, with no monitoring port and no JetStream: the cloud uses core NATS only.
 * It starts in a few milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { onFreePort, PeerProcess } from './peer-process.ts';

export const NATS_SERVER_BIN = '/usr/sbin/nats-server';

const READY_DEADLINE_MS = 10_000;

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

/** Starts a token-protected nats-server on a free port. */
export async function startNats(): Promise<NatsHandle> {
  if (!existsSync(NATS_SERVER_BIN)) {
    throw new Error(
      `nats-server is not installed (${NATS_SERVER_BIN} missing). These tests need a real server: ` +
        'run `sudo bash .ci/install-peers.sh`, or apt-get install -y nats-server',
    );
  }
  const token = randomBytes(16).toString('hex');
  return onFreePort('startNats', (port) => new Server(port, token));
}

class Server implements NatsHandle {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  private readonly process = new PeerProcess();

  constructor(port: number, token: string) {
    this.port = port;
    this.token = token;
    this.url = `nats://127.0.0.1:${port}`;
  }

  start(): Promise<void> {
    return this.process.start({
      name: 'nats-server',
      bin: NATS_SERVER_BIN,
      args: ['-a', '127.0.0.1', '-p', String(this.port), '--auth', this.token],
      ready: (output) => output.includes('Server is ready'),
      portInUse: /address already in use/i,
      readyDeadlineMs: READY_DEADLINE_MS,
      pollMs: 10,
    });
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  dispose(): Promise<void> {
    return this.stop();
  }

  log(): string {
    return this.process.output;
  }
}
